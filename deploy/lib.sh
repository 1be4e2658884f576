# shellcheck shell=bash
# Shared helpers for deploy/*.sh. Source it; do not execute it.
#   LOG_TAG=my-script; source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${LOG_TAG:=deploy}"
# dockerd, iptables, chroot, debootstrap live in sbin dirs, which a non-login PATH may lack.
for _d in /usr/local/sbin /usr/sbin /sbin; do
  case ":$PATH:" in *":$_d:"*) ;; *) PATH="$PATH:$_d" ;; esac
done
unset _d
export PATH
# Where downloaded/derived artifacts are kept between runs (debootstrap rootfs, compose v2 .deb).
: "${SHARDLAB_CACHE_DIR:=/var/cache/shardlab}"

log()  { printf '[%s %(%H:%M:%S)T] %s\n' "$LOG_TAG" -1 "$*" >&2; }
warn() { log "WARNING: $*"; }
die()  { log "ERROR: $*"; exit 1; }

need_root() {
  [[ ${EUID:-$(id -u)} -eq 0 ]] || die "$* needs root (run as root or via sudo)"
}

need_cmd() { # need_cmd CMD [hint]
  command -v "$1" >/dev/null 2>&1 || die "required command '$1' not found${2:+ ($2)}"
}

# apt-get update at most once per process tree (exported so nested scripts share it).
apt_update_once() {
  if [[ -z ${SHARDLAB_APT_UPDATED:-} ]]; then
    log "apt-get update"
    quietly apt-get update
    export SHARDLAB_APT_UPDATED=1
  fi
}

apt_install() { # apt_install PKG...
  need_root "installing Debian packages ($*)"
  apt_update_once
  log "apt-get install $*"
  quietly env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

# Run a command with its output captured; show the output only if it fails.
quietly() {
  local out rc=0
  out=$(mktemp)
  "$@" >"$out" 2>&1 || rc=$?
  if ((rc)); then
    tail -n 40 "$out" >&2
    log "command failed (exit $rc): $*"
  fi
  rm -f "$out"
  return "$rc"
}

# Print the Debian archive mirror URL configured in this machine's apt sources.
# Reads both the one-line format (sources.list, *.list) and deb822 (*.sources).
# Prefers an entry for suite "bookworm" (or the host codename); skips -security/-updates-only
# entries. Override with DEBIAN_MIRROR=http://... .
debian_mirror() {
  if [[ -n ${DEBIAN_MIRROR:-} ]]; then printf '%s\n' "${DEBIAN_MIRROR%/}"; return 0; fi
  local codename=""
  codename=$(. /etc/os-release 2>/dev/null && printf '%s' "${VERSION_CODENAME:-}") || true
  local -a files=()
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -r $f ]] && files+=("$f")
  done
  local candidates
  candidates=$(
    for f in "${files[@]}"; do
      case $f in
        *.sources)
          # deb822: paragraphs separated by blank lines; fields "Types:", "URIs:", "Suites:", "Enabled:".
          awk 'BEGIN { RS = ""; FS = "\n" }
            {
              types = ""; uris = ""; suites = ""; enabled = "yes"; last = ""
              for (i = 1; i <= NF; i++) {
                line = $i
                if (line ~ /^#/) continue
                if (line ~ /^[ \t]/) {               # continuation line
                  if (last == "uris") uris = uris " " line
                  else if (last == "suites") suites = suites " " line
                  continue
                }
                split(line, kv, ":"); key = tolower(kv[1]); val = substr(line, length(kv[1]) + 2)
                if (key == "types") { types = val; last = "" }
                else if (key == "uris") { uris = val; last = "uris" }
                else if (key == "suites") { suites = val; last = "suites" }
                else if (key == "enabled") { enabled = tolower(val); last = "" }
                else last = ""
              }
              if (enabled ~ /no/) next
              if ((" " types " ") !~ /[ \t]deb[ \t]/) next
              ns = split(suites, s, /[ \t]+/); nu = split(uris, u, /[ \t]+/)
              for (j = 1; j <= ns; j++) if (s[j] != "")
                for (k = 1; k <= nu; k++) if (u[k] != "") print s[j], u[k]
            }' "$f"
          ;;
        *)
          # one-line: deb [opt=val ...] URI SUITE COMPONENT...
          awk '$1 == "deb" {
              i = 2
              if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
              if (i + 1 <= NF) print $(i + 1), $i
            }' "$f"
          ;;
      esac
    done
  )
  local want uri
  for want in bookworm "$codename"; do
    [[ -n $want ]] || continue
    uri=$(awk -v w="$want" '$1 == w { print $2; exit }' <<<"$candidates")
    if [[ -n $uri ]]; then printf '%s\n' "${uri%/}"; return 0; fi
  done
  # Any plain release suite (not foo-security / foo-updates / foo-backports) will do.
  uri=$(awk '$1 ~ /^[a-z]+$/ { print $2; exit }' <<<"$candidates")
  if [[ -n $uri ]]; then printf '%s\n' "${uri%/}"; return 0; fi
  return 1
}
