# Shared by run_all.sh, test.sh and bench.sh: prerequisites, PostgreSQL helpers, waiting. Source it; don't run it.
# shellcheck shell=bash

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Newest PostgreSQL server binaries folder, or nothing.
pg_bindir() {
  local dir
  if command -v pg_config >/dev/null 2>&1; then
    dir=$(pg_config --bindir 2>/dev/null || true)
    [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  done
}

APT_UPDATED=
apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    die "missing Debian packages: $*. Install them with: sudo apt-get install --no-install-recommends $*"
  fi
  log "installing Debian packages: $*"
  if [ -z "$APT_UPDATED" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Installs (as root) or names what is missing.
ensure_prerequisites() {
  command -v dotnet >/dev/null 2>&1 || die "the .NET SDK 10 is required (dotnet not found on PATH)"
  local missing=()
  [ -n "$(pg_bindir)" ] || missing+=(postgresql)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
  # The dashboard's build runs npm ci (Dashboard/Dashboard.csproj).
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
  [ -n "$(pg_bindir)" ] || die "PostgreSQL server binaries not found after installing postgresql"
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
}

# The browser the dashboard's Playwright test drives (Debian's chromium; the test never downloads one).
ensure_browser() {
  local missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  # Without any font the screenshots show boxes; chromium only recommends one.
  [ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
  [ -x /usr/bin/chromium ] || die "chromium not found at /usr/bin/chromium after installing it"
}

# Debian's docker-compose 1.29 for the deployment tests: it validates docker-compose.yml without a Docker engine (none
# runs here). --no-install-recommends keeps out docker.io, the engine; it brings python3-yaml, which the tests also use.
ensure_compose() {
  local missing=()
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  python3 -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
  command -v docker-compose >/dev/null 2>&1 || die "docker-compose not found after installing it"
}

# Runs a PostgreSQL server tool as the postgres OS user when we are root (initdb refuses root).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Closes every descriptor above stderr in the current (sub)shell, so that background services do not keep a
# caller's pipe open.
close_inherited_fds() {
  local fd
  for fd in $(ls /proc/$BASHPID/fd 2>/dev/null); do
    [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
  done
  return 0
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( (RANDOM % 20000) + 40000 ))
    port_in_use "$port" || { echo "$port"; return; }
  done
  die "no free TCP port found"
}

# wait_http URL SECONDS WHAT [PIDFILE]: polls until URL answers 2xx; fails early if the process died.
wait_http() {
  local url=$1 seconds=$2 what=$3 pidfile=${4:-} deadline=$(( $(date +%s) + $2 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && return 0
    if [ -n "$pidfile" ] && ! kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null; then
      return 1
    fi
    sleep 0.5
  done
  return 1
}
