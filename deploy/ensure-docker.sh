#!/usr/bin/env bash
# Make this (Debian 12, root, no container registry) machine ready for shardlab's container tests:
#   1. Docker engine (Debian's docker.io + containerd + runc + iptables)  -- installed if dockerd is absent
#   2. dockerd running (stale pid files removed, log in $DOCKERD_LOG)       -- started if 'docker info' fails
#   3. Compose v2 as the docker CLI plugin ('docker compose'), taken from Debian 13's docker-compose
#      package through a private apt configuration (the system's apt sources are not touched)
#   4. Compose v1 ('docker-compose' 1.29, Debian 12's package)
#   5. the offline base image node:20-bookworm-slim (deploy/build-base-image.sh)
# Idempotent; a no-op taking about a second when everything is present. Prints what it did.
#
# Environment:
#   DOCKERD_LOG            dockerd log file          (default /var/log/dockerd.log)
#   DOCKERD_START_TIMEOUT  seconds to wait for dockerd (default 60)
#   DOCKERD_EXTRA_ARGS     extra dockerd arguments (word-split)
#   COMPOSE_V2_SUITE       Debian suite to take compose v2 from (default trixie)
#   SKIP_BASE_IMAGE=1      do not build the base image
#   DEBIAN_MIRROR, SHARDLAB_CACHE_DIR, BASE_IMAGE, FORCE: see deploy/lib.sh and build-base-image.sh
set -euo pipefail

LOG_TAG=ensure-docker
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck source=deploy/lib.sh
source "$HERE/lib.sh"

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
DOCKERD_START_TIMEOUT=${DOCKERD_START_TIMEOUT:-60}
COMPOSE_V2_SUITE=${COMPOSE_V2_SUITE:-trixie}
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
did=()

docker_ok() { timeout 15 docker info >/dev/null 2>&1; }

# 'docker compose version' prints "Docker Compose version v2.x.y" (upstream) or "... 2.26.1-4" (Debian)
compose_v2_ok() { timeout 15 docker compose version 2>/dev/null | grep -Eq 'version v?2\.'; }

# Is PID a live (not zombie) process whose command name is NAME?
is_live() { # is_live PID NAME
  local stat
  [[ -n $1 && -r /proc/$1/comm && $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]] || return 1
  stat=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ ${stat%% *} != Z ]]
}

# pids of live processes whose command name is exactly $1 (zombies of a killed dockerd are ignored)
pids_of() {
  local p
  for p in $(pgrep -x "$1" 2>/dev/null || true); do
    is_live "$p" "$1" && printf '%s ' "$p"
  done
  return 0
}

# ------------------------------------------------------------------------- 1. engine packages
ensure_engine_packages() {
  local missing=()
  command -v dockerd    >/dev/null 2>&1 || missing+=(docker.io)
  command -v containerd >/dev/null 2>&1 || missing+=(containerd)
  command -v runc       >/dev/null 2>&1 || missing+=(runc)
  command -v iptables   >/dev/null 2>&1 || missing+=(iptables)
  command -v cgroupfs-mount >/dev/null 2>&1 || missing+=(cgroupfs-mount)
  ((${#missing[@]})) || return 0
  need_root "installing the Docker engine"
  # No init system here: keep the package's postinst from starting its own dockerd
  # (we start it ourselves below, with our log file and checks).
  local made_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  # docker.io brings the docker CLI, docker-proxy, tini (docker-init); procps gives pgrep.
  apt_install docker.io containerd runc iptables cgroupfs-mount procps ca-certificates || {
    [[ -n $made_policy ]] && rm -f /usr/sbin/policy-rc.d
    die "could not install the Docker engine packages"
  }
  [[ -n $made_policy ]] && rm -f /usr/sbin/policy-rc.d
  did+=("installed docker.io engine packages (${missing[*]})")
}

# ------------------------------------------------------------------------- 2. dockerd
ensure_cgroups() {
  if ! grep -qE '^[^ ]+ /sys/fs/cgroup(/[^ ]*)? cgroup2? ' /proc/mounts; then
    log "no cgroup filesystem mounted: running cgroupfs-mount"
    cgroupfs-mount
    did+=("mounted cgroups (cgroupfs-mount)")
  fi
}

# dockerd creates bridge/NAT rules with iptables. Debian 12 defaults to the nft backend;
# fall back to iptables-legacy if the nft one cannot talk to this kernel.
ensure_iptables_backend() {
  if iptables -t nat -L -n >/dev/null 2>&1 && iptables -t filter -L -n >/dev/null 2>&1; then
    return 0
  fi
  if command -v iptables-legacy >/dev/null 2>&1 && iptables-legacy -t nat -L -n >/dev/null 2>&1; then
    log "iptables ($(readlink -f "$(command -v iptables)")) does not work with this kernel; switching to iptables-legacy"
    update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null
    update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >/dev/null 2>&1 || true
    did+=("switched iptables to the legacy backend")
    return 0
  fi
  warn "iptables does not work here (nat table unavailable); starting dockerd with --iptables=false" \
       "(container-to-container traffic on one bridge still works; published ports and outbound NAT will not)"
  DOCKERD_EXTRA_ARGS="${DOCKERD_EXTRA_ARGS:-} --iptables=false --ip-masq=false"
}

remove_stale_pidfile() { # remove_stale_pidfile FILE PROCESS-NAME
  local file=$1 name=$2 pid
  [[ -f $file ]] || return 0
  pid=$(tr -dc '0-9' <"$file" || true)
  if is_live "$pid" "$name"; then return 0; fi
  log "removing stale pid file $file (pid '${pid}' is not a running $name)"
  rm -f "$file"
}

ensure_dockerd() {
  if docker_ok; then return 0; fi
  need_root "starting dockerd"
  local running
  running=$(pids_of dockerd)
  if [[ -n $running ]]; then
    log "dockerd is running (pid $running) but 'docker info' fails: waiting for it"
  else
    ensure_cgroups
    ensure_iptables_backend
    remove_stale_pidfile /var/run/docker.pid dockerd
    remove_stale_pidfile /var/run/docker/containerd/containerd.pid containerd
    [[ -S /var/run/docker.sock ]] && rm -f /var/run/docker.sock
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    log "starting dockerd (log: $DOCKERD_LOG)"
    printf '\n===== %(%F %T)T dockerd started by deploy/ensure-docker.sh =====\n' -1 >>"$DOCKERD_LOG"
    # setsid + closed stdio: dockerd outlives this script and does not hold the caller's pipes open.
    # shellcheck disable=SC2086
    setsid dockerd ${DOCKERD_EXTRA_ARGS:-} </dev/null >>"$DOCKERD_LOG" 2>&1 &
    did+=("started dockerd (pid $!)")
  fi
  local deadline=$((SECONDS + DOCKERD_START_TIMEOUT))
  until docker_ok; do
    if [[ -z $(pids_of dockerd) ]]; then
      tail -n 40 "$DOCKERD_LOG" >&2 || true
      die "dockerd exited during start-up (see $DOCKERD_LOG)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 40 "$DOCKERD_LOG" >&2 || true
      die "dockerd did not answer 'docker info' within ${DOCKERD_START_TIMEOUT}s (see $DOCKERD_LOG)"
    fi
    sleep 0.5
  done
  log "dockerd is up: engine $(docker version -f '{{.Server.Version}}' 2>/dev/null)," \
      "storage driver $(docker info -f '{{.Driver}}' 2>/dev/null), cgroup $(docker info -f '{{.CgroupVersion}}' 2>/dev/null)"
}

# ------------------------------------------------------------------------- 3. compose v2
# Is FILE a docker CLI plugin binary for compose v2?
is_compose_v2_plugin() {
  [[ -f $1 && -x $1 ]] || return 1
  local meta
  meta=$(timeout 10 "$1" docker-cli-plugin-metadata 2>/dev/null) || return 1
  grep -q '"SchemaVersion"' <<<"$meta" && grep -qi 'compose' <<<"$meta"
}

fetch_compose_v2() { # prints the path of the extracted plugin binary
  local mirror base opts deb x f
  mirror=$(debian_mirror) || die "no Debian mirror found in the apt sources; set DEBIAN_MIRROR"
  base=$SHARDLAB_CACHE_DIR/compose-v2
  rm -rf "$base/apt" "$base/extract"
  mkdir -p "$base"/apt/{lists/partial,archives/partial,cache,etc/sources.list.d,etc/preferences.d} "$base/debs"
  : >"$base/apt/status"
  # Private apt configuration: its own sources list, lists, cache and (empty) dpkg status.
  printf 'deb %s %s main\n' "$mirror" "$COMPOSE_V2_SUITE" >"$base/apt/etc/sources.list"
  opts=(
    -o "Dir::Etc::SourceList=$base/apt/etc/sources.list"
    -o "Dir::Etc::SourceParts=$base/apt/etc/sources.list.d"
    -o "Dir::Etc::Preferences=$base/apt/etc/preferences"
    -o "Dir::Etc::PreferencesParts=$base/apt/etc/preferences.d"
    -o "Dir::State::Lists=$base/apt/lists"
    -o "Dir::State::Status=$base/apt/status"
    -o "Dir::Cache=$base/apt/cache"
    -o "Dir::Cache::Archives=$base/apt/archives"
    -o "Dir::Cache::pkgcache="
    -o "Dir::Cache::srcpkgcache="
    -o "APT::Update::Post-Invoke-Success::="
    -o "Acquire::Languages=none"
    -o "APT::Sandbox::User=root"
  )
  log "fetching the docker-compose package from Debian $COMPOSE_V2_SUITE ($mirror) with a private apt configuration"
  apt-get "${opts[@]}" update -qq >&2 || die "apt-get update for $COMPOSE_V2_SUITE failed"
  (cd "$base/debs" && rm -f docker-compose_*.deb && apt-get "${opts[@]}" download docker-compose >&2) \
    || die "apt-get download docker-compose ($COMPOSE_V2_SUITE) failed"
  deb=$(find "$base/debs" -maxdepth 1 -name "docker-compose_*.deb" | head -n1)
  [[ -n $deb ]] || die "apt-get download left no docker-compose_*.deb in $base/debs"
  log "downloaded ${deb##*/}"
  x=$base/extract
  dpkg-deb -x "$deb" "$x"
  # In trixie's docker-compose 2.26.1-4 the real binary is /usr/libexec/docker/cli-plugins/docker-compose
  # (dynamically linked, needs only libc >= 2.34: runs on bookworm's 2.36); /usr/bin/docker-compose is a
  # symlink to it. Pick the file that answers the docker-cli-plugin-metadata handshake, not a symlink.
  while IFS= read -r f; do
    [[ -L $f ]] && continue
    if is_compose_v2_plugin "$f"; then printf '%s\n' "$f"; return 0; fi
  done < <(find "$x" -name 'docker-compose*' -type f)
  die "no compose v2 plugin binary found in ${deb##*/} (contents: $(dpkg-deb -c "$deb" | awk '{print $6}' | grep -i compose | tr '\n' ' '))"
}

ensure_compose_v2() {
  if compose_v2_ok; then return 0; fi
  need_root "installing the compose v2 plugin"
  local cached=$SHARDLAB_CACHE_DIR/compose-v2/docker-compose-plugin src
  if is_compose_v2_plugin "$cached"; then
    log "installing compose v2 from the cache ($cached)"
    src=$cached
  else
    command -v dpkg-deb >/dev/null || die "dpkg-deb missing"
    src=$(fetch_compose_v2)
    install -D -m 0755 "$src" "$cached"
    rm -rf "$SHARDLAB_CACHE_DIR"/compose-v2/{extract,apt,debs}
    src=$cached
  fi
  install -D -m 0755 "$src" "$PLUGIN_DIR/docker-compose"
  if ! compose_v2_ok; then
    ldd "$PLUGIN_DIR/docker-compose" >&2 || true
    die "installed $PLUGIN_DIR/docker-compose but 'docker compose version' still fails"
  fi
  did+=("installed compose v2 plugin $PLUGIN_DIR/docker-compose ($(docker compose version --short 2>/dev/null))")
}

# ------------------------------------------------------------------------- 4. compose v1
ensure_compose_v1() {
  if command -v docker-compose >/dev/null 2>&1; then return 0; fi
  apt_install docker-compose
  did+=("installed Debian's docker-compose ($(docker-compose version --short 2>/dev/null))")
}

# ------------------------------------------------------------------------- 5. base image
ensure_base_image() {
  [[ ${SKIP_BASE_IMAGE:-0} == 1 ]] && { log "SKIP_BASE_IMAGE=1: not building the base image"; return 0; }
  local image=${BASE_IMAGE:-node:20-bookworm-slim}
  if [[ ${FORCE:-0} != 1 ]] && docker image inspect "$image" >/dev/null 2>&1; then return 0; fi
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  "$HERE/build-base-image.sh"
  did+=("built base image $image")
}

start=$SECONDS
ensure_engine_packages
ensure_dockerd
ensure_compose_v2
ensure_compose_v1
ensure_base_image

if ((${#did[@]})); then
  log "done in $((SECONDS - start))s; actions:"
  for a in "${did[@]}"; do log "  - $a"; done
else
  log "everything already in place (no-op, $((SECONDS - start))s)"
fi
log "engine $(docker version -f '{{.Server.Version}}' 2>/dev/null) (API $(docker version -f '{{.Server.APIVersion}}' 2>/dev/null))," \
    "compose $(docker compose version --short 2>/dev/null)," \
    "docker-compose $(docker-compose version --short 2>/dev/null)," \
    "base image ${BASE_IMAGE:-node:20-bookworm-slim}"
