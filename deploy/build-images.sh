#!/usr/bin/env bash
# Build the shardlab container images OFFLINE from this checkout:
#   shardlab-coordinator:latest and shardlab-trainer:latest  (deploy/Dockerfile, targets coordinator/trainer)
#
#   1. compile the TypeScript (tsc -b tsconfig.build.json; incremental, ~2 s when up to date)
#   2. stage a small build context in deploy/dist/context (rebuilt every time):
#        deps/  package.json + the PRODUCTION node_modules of @shardlab/cli, copied from the host's
#               node_modules (list from `npm ls --omit=dev --omit=optional -w @shardlab/cli`: no dev
#               dependencies, no @tensorflow/tfjs-node) without source maps, .d.ts, tsbuildinfo
#        app/   package.json + dist/ (+ bin/) of every workspace the CLI needs, and proto/
#        bin/   deploy/docker/* (entrypoint, trainer health check)
#   3. docker build (classic builder; never pulls: the base image must exist locally - it is built
#      offline by deploy/build-base-image.sh, which this script runs when the image is missing)
#      (skipped when both images carry the content hash of an identical context and base image)
#   4. smoke test: both images start and print their --help
#
# Usage: deploy/build-images.sh [--no-ts-build] [--quiet]
#   --no-ts-build   skip step 1 (the caller built already, e.g. the Nx target after its dependsOn)
#   --quiet         less output (docker build output only on failure)
# Environment:
#   BASE_IMAGE                  base image (default node:20-bookworm-slim)
#   SHARDLAB_IMAGE_TAG          tag for both images (default latest)
#   SHARDLAB_COORDINATOR_IMAGE  full name of the coordinator image (default shardlab-coordinator:$SHARDLAB_IMAGE_TAG)
#   SHARDLAB_TRAINER_IMAGE      full name of the trainer image     (default shardlab-trainer:$SHARDLAB_IMAGE_TAG)
#   SHARDLAB_CONTEXT_DIR        where to stage the context (default deploy/dist/context)
#   FORCE=1                     rebuild even if the images were built from an identical context
set -euo pipefail

# shellcheck disable=SC2034 # used by lib.sh
LOG_TAG=build-images
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck source=deploy/lib.sh
source "$HERE/lib.sh"
ROOT=$(readlink -f "$HERE/..")

ts_build=1
quiet=0
for arg in "$@"; do
  case $arg in
    --no-ts-build) ts_build=0 ;;
    --quiet) quiet=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $arg (see --help)" ;;
  esac
done

BASE=${BASE_IMAGE:-node:20-bookworm-slim}
TAG=${SHARDLAB_IMAGE_TAG:-latest}
COORDINATOR_IMAGE=${SHARDLAB_COORDINATOR_IMAGE:-shardlab-coordinator:$TAG}
TRAINER_IMAGE=${SHARDLAB_TRAINER_IMAGE:-shardlab-trainer:$TAG}
CTX=${SHARDLAB_CONTEXT_DIR:-$ROOT/deploy/dist/context}
t0=$SECONDS

need_cmd docker "run deploy/ensure-docker.sh first"
need_cmd node
need_cmd npm
timeout 20 docker info >/dev/null 2>&1 \
  || die "the Docker engine is not reachable ('docker info' fails); run 'bash deploy/ensure-docker.sh' (as root) to install and start one"

# ---------------------------------------------------------------- base image (never pulled)
if ! docker image inspect "$BASE" >/dev/null 2>&1; then
  log "base image $BASE is missing; building it offline with deploy/build-base-image.sh"
  BASE_IMAGE=$BASE "$HERE/build-base-image.sh"
fi

# ---------------------------------------------------------------- 1. TypeScript
cd "$ROOT"
if ((ts_build)); then
  log "tsc -b tsconfig.build.json"
  node node_modules/typescript/bin/tsc -b tsconfig.build.json || die "the TypeScript build failed"
fi

# ---------------------------------------------------------------- 2. stage the context
# The production dependency tree of the CLI, as npm sees the installed node_modules.
# (Read-only: nothing in the checkout's node_modules is touched.)
ls_out=$(npm ls --omit=dev --omit=optional --all --parseable --workspace @shardlab/cli 2>/dev/null) || {
  npm ls --omit=dev --omit=optional --all --workspace @shardlab/cli >&2 || true
  die "'npm ls' reports a broken production dependency tree for @shardlab/cli (run npm ci first)"
}
packages=()   # third-party package dirs, relative to ROOT
workspaces=() # workspace dirs the CLI needs (apps/cli, libs/...), relative to ROOT
while IFS= read -r abs; do
  [[ -n $abs && $abs != "$ROOT" ]] || continue
  rel=${abs#"$ROOT"/}
  if [[ -L $abs ]]; then
    target=$(readlink -f "$abs")
    [[ $target == "$ROOT"/* ]] || die "$rel links outside the checkout ($target)"
    workspaces+=("${target#"$ROOT"/}")
  else
    packages+=("$rel")
  fi
done <<<"$ls_out"
((${#workspaces[@]})) || die "npm ls listed no workspaces for @shardlab/cli"
for p in "${packages[@]}"; do
  [[ $p == */@tensorflow/tfjs-node || $p == */@tensorflow/tfjs-node/* ]] && die "@tensorflow/tfjs-node is in the production tree ($p); it must stay out of the images"
done
for w in "${workspaces[@]}"; do
  [[ -f $w/dist/index.js || -f $w/dist/main.js ]] || die "$w/dist is missing or incomplete: build first (npx tsc -b tsconfig.build.json, or drop --no-ts-build)"
done
[[ -f proto/shardlab/v1/shardlab.proto ]] || die "proto/shardlab/v1/shardlab.proto is missing"

log "staging the build context in ${CTX#"$ROOT"/} (${#workspaces[@]} workspaces, ${#packages[@]} npm packages)"
case $CTX in /|"$ROOT"|"$ROOT"/deploy) die "refusing to use $CTX as the context directory" ;; esac
# Stage into a fresh directory, then swap it in; the old one is deleted in the background
# (deleting ~10k files takes seconds here), detached from our stdio.
final_ctx=$CTX
CTX=$final_ctx.new.$$
rm -rf --one-file-system "$final_ctx".new.* "$final_ctx".old.*
mkdir -p "$CTX/deps" "$CTX/app" "$CTX/bin"
# Files a running program never reads: source maps (~200 MB of them in @tensorflow), type
# declarations, TypeScript build info, bundle-size reports.
excludes=(--exclude='*.map' --exclude='*.d.ts' --exclude='*.d.mts' --exclude='*.d.cts' --exclude='*.tsbuildinfo' --exclude='*.min.js.html')
# Third-party packages: each package dir without its nested node_modules (nested packages are
# listed on their own when they are production dependencies).
{
  printf '%s\n' "${packages[@]}" | while IFS= read -r p; do
    find "$p" -mindepth 1 -maxdepth 1 ! -name node_modules -print
  done
} | tar -C "$ROOT" -cf - "${excludes[@]}" --verbatim-files-from -T - | tar -C "$CTX/deps" -xf -
cp package.json "$CTX/deps/package.json"
# Workspace links (node_modules/@shardlab/x -> ../../libs/x), as npm made them.
while IFS= read -r abs; do
  [[ -L $abs ]] || continue
  rel=${abs#"$ROOT"/}
  mkdir -p "$CTX/deps/$(dirname "$rel")"
  cp -P "$abs" "$CTX/deps/$rel"
done <<<"$ls_out"
# Workspaces: package.json, dist/, bin/ (if any); and the proto contract.
{
  for w in "${workspaces[@]}"; do
    printf '%s\n' "$w/package.json" "$w/dist"
    if [[ -d $w/bin ]]; then printf '%s\n' "$w/bin"; fi
    # A native addon built by npm ci (libs/native: build/Release/*.node, and build/status.json saying why not).
    for f in "$w"/build/Release/*.node "$w/build/status.json"; do [[ -f $f ]] && printf '%s\n' "$f"; done
  done
  printf '%s\n' proto
} | tar -C "$ROOT" -cf - "${excludes[@]}" --exclude='*.test.js' --verbatim-files-from -T - | tar -C "$CTX/app" -xf -
cp "$HERE"/docker/* "$CTX/bin/"
cp "$HERE/Dockerfile" "$CTX/Dockerfile"
if [[ -e $final_ctx ]]; then
  mv "$final_ctx" "$final_ctx.old.$$"
  (rm -rf --one-file-system "$final_ctx.old.$$" >/dev/null 2>&1 &) </dev/null
fi
mv "$CTX" "$final_ctx"
CTX=$final_ctx
log "context: $(du -sh "$CTX" | cut -f1) (deps $(du -sh "$CTX/deps" | cut -f1), app $(du -sh "$CTX/app" | cut -f1))"

# ---------------------------------------------------------------- 3. build
revision=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null | head -n1) ]]; then revision="$revision-dirty"; fi
build() { # build TARGET IMAGE
  local target=$1 image=$2 out rc=0
  out=$(mktemp)
  log "docker build --target $target -t $image (base $BASE)"
  # Classic builder, no --pull: FROM uses the local base image. DOCKER_BUILDKIT=0 because this
  # docker CLI has no buildx and the engine is 20.10.
  DOCKER_BUILDKIT=0 docker build \
    --target "$target" \
    --build-arg "BASE_IMAGE=$BASE" \
    --label "org.opencontainers.image.revision=$revision" \
    --label "org.shardlab.built-by=deploy/build-images.sh" \
    --label "org.shardlab.context-hash=$context_hash" \
    -t "$image" \
    -f "$CTX/Dockerfile" \
    "$CTX" >"$out" 2>&1 || rc=$?
  if ((rc)); then
    cat "$out" >&2
    rm -f "$out"
    die "docker build --target $target failed (exit $rc)"
  fi
  ((quiet)) || grep -E '^Step |Successfully' "$out" | sed 's/^/  /' >&2
  rm -f "$out"
}
# Skip the builds when both images were built from exactly this context on this base image
# (the context's content hash is stored as a label), so repeated runs cost only the staging.
context_hash=$(
  {
    docker image inspect -f '{{.Id}}' "$BASE"
    tar -C "$CTX" -cf - --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner . | sha256sum
  } | sha256sum | cut -c1-16
)
label_of() { docker image inspect -f '{{index .Config.Labels "org.shardlab.context-hash"}}' "$1" 2>/dev/null || true; }
if [[ ${FORCE:-0} != 1 && $(label_of "$COORDINATOR_IMAGE") == "$context_hash" && $(label_of "$TRAINER_IMAGE") == "$context_hash" ]]; then
  log "$COORDINATOR_IMAGE and $TRAINER_IMAGE are up to date (context $context_hash); not rebuilding (FORCE=1 rebuilds)"
else
  build coordinator "$COORDINATOR_IMAGE"
  build trainer "$TRAINER_IMAGE"
  # The images these tags pointed to before are now untagged: drop them (only ours, only dangling).
  docker image prune -f --filter "label=org.shardlab.built-by=deploy/build-images.sh" >/dev/null || true
fi

# ---------------------------------------------------------------- 4. smoke test
for image in "$COORDINATOR_IMAGE" "$TRAINER_IMAGE"; do
  user=$(docker image inspect -f '{{.Config.User}}' "$image")
  [[ -n $user && $user != 0 && $user != root && $user != 0:* && $user != root:* ]] \
    || die "$image runs as '$user'; it must run as a non-root user"
  out=$(docker run --rm --network none "$image" --help 2>&1) \
    || die "smoke test failed: 'docker run $image --help' printed: $out"
  grep -q '^Usage: shardlab' <<<"$out" || die "smoke test failed: unexpected --help output of $image: $out"
done

size() { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }'; }
log "ready: $COORDINATOR_IMAGE ($(size "$COORDINATOR_IMAGE")) and $TRAINER_IMAGE ($(size "$TRAINER_IMAGE"))" \
    "on $BASE ($(size "$BASE")), revision $revision, in $((SECONDS - t0))s"
