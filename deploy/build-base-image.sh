#!/usr/bin/env bash
# Build the container base image OFFLINE (no container registry is reachable here):
#   debootstrap --variant=minbase bookworm  ->  docker import  ->  + the host's Node.js
# and tag it node:20-bookworm-slim, so that Dockerfiles written as
#   ARG BASE_IMAGE=node:20-bookworm-slim
#   FROM ${BASE_IMAGE}
# build the same way offline (this image) and online (the official image).
#
# Idempotent: does nothing when the image already exists (FORCE=1 rebuilds it).
# The cleaned debootstrap rootfs is cached as a tarball in $SHARDLAB_CACHE_DIR/base-image
# (default /var/cache/shardlab), so a rebuild only re-adds Node.js and re-imports.
#
# Environment:
#   BASE_IMAGE        tag to produce                 (default node:20-bookworm-slim)
#   FORCE=1           rebuild even if the tag exists
#   DEBIAN_MIRROR     mirror URL (default: parsed from /etc/apt/sources.list{,.d/*.list,.d/*.sources})
#   NODE_BIN          Node.js binary to copy in      (default: $(command -v node))
#   BASE_IMAGE_EXTRA_PACKAGES  extra Debian packages for the rootfs (space separated)
#                              (libopenblas0-pthread is always added: shardlab's native backend links it)
#   SHARDLAB_CACHE_DIR         cache dir              (default /var/cache/shardlab)
set -euo pipefail

LOG_TAG=build-base-image
# shellcheck source=deploy/lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

IMAGE=${BASE_IMAGE:-node:20-bookworm-slim}
SUITE=bookworm
# Bump when the rootfs recipe below changes, to invalidate the cached tarball.
RECIPE_VERSION=2

need_cmd docker "run deploy/ensure-docker.sh first"
timeout 20 docker info >/dev/null 2>&1 \
  || die "the Docker engine is not reachable ('docker info' fails); run deploy/ensure-docker.sh first"

# An image built by an older recipe (e.g. without OpenBLAS) is rebuilt; one from elsewhere is left alone.
present_recipe=$(docker image inspect -f '{{index .Config.Labels "org.shardlab.recipe"}}' "$IMAGE" 2>/dev/null || true)
present_builder=$(docker image inspect -f '{{index .Config.Labels "org.shardlab.built-by"}}' "$IMAGE" 2>/dev/null || true)
if [[ ${FORCE:-0} != 1 && -n $present_builder && $present_recipe != "$RECIPE_VERSION" ]]; then
  log "image $IMAGE was built by recipe ${present_recipe:-1}, this is recipe $RECIPE_VERSION: rebuilding"
elif [[ ${FORCE:-0} != 1 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "image $IMAGE already present ($(docker image inspect -f '{{index .Config.Labels "org.shardlab.node-version"}} {{.Size}} bytes' "$IMAGE")); nothing to do"
  exit 0
fi

need_root "building the base image (debootstrap, chroot, file ownership)"
for c in tar gzip ldd dpkg chroot readlink sha256sum; do need_cmd "$c"; done

# ---------------------------------------------------------------- Node.js from the host
NODE_BIN=${NODE_BIN:-$(command -v node || true)}
[[ -n $NODE_BIN ]] || die "no 'node' on PATH (set NODE_BIN=/path/to/node)"
NODE_BIN=$(readlink -f "$NODE_BIN")
[[ -f $NODE_BIN && -x $NODE_BIN ]] || die "$NODE_BIN is not an executable file"
if [[ $(head -c4 "$NODE_BIN" | od -An -c | tr -d ' \n') != '177ELF' ]]; then
  die "$NODE_BIN is not an ELF binary (a shim/wrapper script such as nvm/volta?); set NODE_BIN to the real node binary"
fi
NODE_VERSION=$("$NODE_BIN" -p 'process.versions.node') || die "$NODE_BIN does not run"
log "host Node.js: $NODE_BIN v$NODE_VERSION"
case $IMAGE in
  node:*)
    tag_major=${IMAGE#node:}; tag_major=${tag_major%%[-.]*}
    if [[ $tag_major =~ ^[0-9]+$ && $tag_major != "${NODE_VERSION%%.*}" ]]; then
      warn "tag $IMAGE says Node $tag_major but the host has v$NODE_VERSION; the image will contain v$NODE_VERSION"
    fi
    ;;
esac

# Shared libraries node needs -> the Debian packages that ship them (installed into the rootfs
# with debootstrap --include); libraries that no package owns are copied verbatim.
declare -A pkgs=()
host_libs=()
ldd_out=$(ldd "$NODE_BIN" 2>&1) || true
if grep -q 'not a dynamic executable\|statically linked' <<<"$ldd_out"; then
  log "node is statically linked: no shared libraries needed"
else
  if grep -q 'not found' <<<"$ldd_out"; then
    die "node has unresolved shared libraries on the host:"$'\n'"$ldd_out"
  fi
  while read -r lib; do
    [[ -n $lib ]] || continue
    owner=""
    for cand in "$lib" "$(readlink -f "$lib")" "/usr${lib}" "${lib#/usr}"; do
      owner=$(dpkg -S "$cand" 2>/dev/null | head -n1 | cut -d: -f1) && [[ -n $owner ]] && break
    done
    if [[ -n $owner ]]; then pkgs[$owner]=1; else host_libs+=("$lib"); fi
  done < <(awk '/=>/ { print $3; next } $1 ~ /^\// { print $1 }' <<<"$ldd_out")
fi
# OpenBLAS's runtime library, for the native backend's addon (libs/native) that the images carry.
pkgs[libopenblas0-pthread]=1
for p in ${BASE_IMAGE_EXTRA_PACKAGES:-}; do pkgs[$p]=1; done
include=$(printf '%s\n' "${!pkgs[@]}" | sort | paste -sd, -)
log "rootfs packages for node's libraries: ${include:-<none>}${host_libs[*]:+; copied from host: ${host_libs[*]}}"

# ---------------------------------------------------------------- cached debootstrap rootfs
mirror=$(debian_mirror) || die "no Debian mirror found in /etc/apt/sources.list or /etc/apt/sources.list.d/*.{list,sources}; set DEBIAN_MIRROR"
cache_dir=$SHARDLAB_CACHE_DIR/base-image
mkdir -p "$cache_dir"
key=$(printf '%s|%s|%s|%s' "$RECIPE_VERSION" "$SUITE" "$(dpkg --print-architecture)" "$include" | sha256sum | cut -c1-12)
rootfs_tar=$cache_dir/$SUITE-minbase-$key.tar.gz

work=$(mktemp -d "${TMPDIR:-/tmp}/shardlab-base.XXXXXX")
cleanup() { rm -rf --one-file-system "$work"; }
trap cleanup EXIT
root=$work/rootfs
mkdir -p "$root"

if [[ -s $rootfs_tar ]]; then
  log "using cached rootfs $rootfs_tar"
else
  command -v debootstrap >/dev/null 2>&1 \
    || die "debootstrap is not installed (apt-get install debootstrap; deploy/ensure-docker.sh does this)"
  # debootstrap downloads with wget, which ignores apt's proxy setting: pass it on if there is one.
  if [[ -z ${http_proxy:-} ]]; then
    apt_proxy=$(apt-config dump 2>/dev/null | awk -F'"' '/^Acquire::http::Proxy /{print $2; exit}')
    if [[ -n $apt_proxy && $apt_proxy != DIRECT ]]; then export http_proxy=$apt_proxy; log "using apt's http proxy $apt_proxy"; fi
  fi
  log "debootstrap --variant=minbase ${include:+--include=$include }$SUITE from $mirror (takes a minute or two)"
  debootstrap --variant=minbase ${include:+--include="$include"} "$SUITE" "$root" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || {
      tail -n 30 "$work/debootstrap.log" >&2
      die "debootstrap failed (full log above was $work/debootstrap.log)"
    }

  log "trimming rootfs (apt lists, docs, man pages, locales, logs)"
  # Keep later apt-get installs inside images small too (same idea as Docker's debian images).
  mkdir -p "$root/etc/dpkg/dpkg.cfg.d" "$root/etc/apt/apt.conf.d"
  cat >"$root/etc/dpkg/dpkg.cfg.d/01-shardlab-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
  cat >"$root/etc/apt/apt.conf.d/01-shardlab-slim" <<'EOF'
APT::Install-Recommends "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"; chmod 755 "$root/usr/sbin/policy-rc.d"
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$root"/usr/share/{man,groff,info,lintian,linda}/* "$root"/usr/share/locale/* \
         "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
         "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old "$root"/debootstrap
  mkdir -p "$root/var/lib/apt/lists/partial"
  find "$root/var/log" -type f -exec truncate -s0 {} +
  : >"$root/etc/resolv.conf"          # docker bind-mounts its own
  printf 'localhost\n' >"$root/etc/hostname"
  # The official node images have a "node" user (uid/gid 1000); Dockerfiles may use USER node.
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

  log "caching rootfs as $rootfs_tar"
  tar --numeric-owner -C "$root" -czf "$rootfs_tar.tmp" .
  mv "$rootfs_tar.tmp" "$rootfs_tar"
  # drop tarballs of older recipes
  find "$cache_dir" -maxdepth 1 -name "$SUITE-minbase-*.tar.gz" ! -name "${rootfs_tar##*/}" -delete
  rm -rf --one-file-system "$root"; mkdir -p "$root"
fi
tar --numeric-owner -C "$root" -xzf "$rootfs_tar"

# ---------------------------------------------------------------- add Node.js (official-image layout)
log "adding node v$NODE_VERSION (+ npm, corepack if present) under /usr/local"
install -D -m 0755 "$NODE_BIN" "$root/usr/local/bin/node"
for tool in npm corepack; do
  bin=$(command -v "$tool" 2>/dev/null || true)
  [[ -n $bin ]] || { warn "$tool not found on the host; the image will not have it"; continue; }
  pkgdir=$(readlink -f "$bin"); pkgdir=${pkgdir%/bin/*}; pkgdir=${pkgdir%/dist/*}
  if [[ ! -f $pkgdir/package.json || ${pkgdir##*/} != "$tool" ]]; then
    warn "cannot locate the $tool package directory from $bin; skipping $tool"; continue
  fi
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$pkgdir" "$root/usr/local/lib/node_modules/$tool"
  case $tool in
    npm) ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
         ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx" ;;
    corepack) ln -sf ../lib/node_modules/corepack/dist/corepack.js "$root/usr/local/bin/corepack" ;;
  esac
done
if ((${#host_libs[@]})); then
  for lib in "${host_libs[@]}"; do cp -L "$lib" "$root/usr/local/lib/"; done
  chroot "$root" ldconfig
fi
# Node must start inside the rootfs (catches missing libraries before docker is involved).
env -i PATH=/usr/local/bin:/usr/bin:/bin "$(command -v chroot)" "$root" /usr/local/bin/node -e 0 || die "node does not run inside the rootfs (missing libraries?)"

# ---------------------------------------------------------------- import
log "importing into docker as $IMAGE"
tar --numeric-owner -C "$root" -c . | docker import \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change "LABEL org.shardlab.node-version=$NODE_VERSION org.shardlab.base=debian-$SUITE-minbase org.shardlab.built-by=deploy/build-base-image.sh org.shardlab.recipe=$RECIPE_VERSION" \
  --change 'CMD ["node"]' \
  --message "shardlab offline base: debian $SUITE minbase + host node v$NODE_VERSION" \
  - "$IMAGE" >/dev/null

got=$(docker run --rm --network none "$IMAGE" node -p 'process.versions.node' 2>&1) || got="(failed) $got"
if [[ $got != "$NODE_VERSION" ]]; then
  docker image rm "$IMAGE" >/dev/null 2>&1 || true
  die "smoke test failed: 'docker run $IMAGE node' printed: $got"
fi
log "built $IMAGE: node v$got, $(docker image inspect -f '{{.Size}}' "$IMAGE") bytes"
