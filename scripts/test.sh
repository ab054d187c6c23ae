#!/usr/bin/env bash
# The project's one test command:   bash scripts/test.sh [pytest arguments...]
#
# On a fresh Debian 12 machine that has only Python 3.11 it
#   1. installs the Debian packages the tests need (when run as root; otherwise it says what to
#      install and stops),
#   2. starts PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) if they do not answer,
#   3. creates or reuses the virtualenv .venv, installs the project with its dev extras and
#      builds the browser RUM script (npm ci + esbuild with the machine's Node.js),
#   4. runs `ruff check .` and then pytest, and exits with pytest's exit code.
#
# Tests that need PostgreSQL or Redis never skip: if a service is down, the run fails.
# SLOSCOPE_TEST_POSTGRES_URL / SLOSCOPE_TEST_REDIS_URL may point the tests at other servers;
# a server that is not the default local one is left alone by this script.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '==> %s\n' "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
is_root() { [[ $(id -u) -eq 0 ]]; }

# Debian packages the tests need, one a line: "package: commands it provides".
# A package is installed when any of its commands is missing. To add one, add a line, e.g.
#   "chromium: chromium"
#   "prometheus-alertmanager: prometheus-alertmanager amtool"
DEBIAN_PACKAGES=(
  "redis-server: redis-server redis-cli"
  "postgresql: pg_ctlcluster pg_lsclusters pg_createcluster pg_isready psql"
  "prometheus: prometheus promtool"
  "prometheus-alertmanager: prometheus-alertmanager"
  "chromium: chromium"
)

DEFAULT_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL="redis://127.0.0.1:6379/0"
export SLOSCOPE_TEST_POSTGRES_URL="${SLOSCOPE_TEST_POSTGRES_URL:-$DEFAULT_POSTGRES_URL}"
export SLOSCOPE_TEST_REDIS_URL="${SLOSCOPE_TEST_REDIS_URL:-$DEFAULT_REDIS_URL}"

SERVICE_WAIT_SECONDS=30
APT_LOCK_WAIT_SECONDS=600
VENV=.venv
HBA_MARK="# added by sloscope scripts/test.sh"

# ---------------------------------------------------------------------------------------------
# Python
# ---------------------------------------------------------------------------------------------

have python3 || die "python3 not found; sloscope needs Python 3.11 or newer as python3 on PATH"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "python3 is $(python3 -V 2>&1); sloscope needs Python 3.11 or newer"

venv_ok() {
  [[ -x $VENV/bin/python ]] \
    && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1 \
    && [[ $("$VENV/bin/python" -c 'import sys; print(sys.version_info[:2])') \
          == $(python3 -c 'import sys; print(sys.version_info[:2])') ]]
}

# ---------------------------------------------------------------------------------------------
# Debian packages
# ---------------------------------------------------------------------------------------------

# Waits (bounded) while another apt-get/dpkg holds the package manager's locks; apt-get is
# also given a lock timeout, this only keeps it from failing on the lists lock.
wait_for_apt_locks() {
  local waited=0
  until python3 - <<'EOF'
import fcntl, os, sys
for path in ("/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock",
             "/var/lib/apt/lists/lock", "/var/cache/apt/archives/lock"):
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        continue
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sys.exit(1)
    finally:
        os.close(fd)
EOF
  do
    if (( waited == 0 )); then say "waiting for another apt-get/dpkg to finish"; fi
    if (( waited >= APT_LOCK_WAIT_SECONDS )); then
      die "apt/dpkg is still locked by another process after ${APT_LOCK_WAIT_SECONDS}s"
    fi
    sleep 2; waited=$((waited + 2))
  done
}

install_debian_packages() {
  local missing=("$@")
  if ! is_root; then
    die "missing Debian packages: ${missing[*]}
Install them (as root), then run this script again:
  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  fi
  have apt-get || die "missing packages ${missing[*]}, and apt-get is not available to install them"

  # Package scripts must not start services (no systemd here; this script starts what it
  # needs with known options). Docker-style images already ship such a policy; if this
  # machine has none, use one for the duration of the install.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; added_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi

  wait_for_apt_locks
  say "apt-get update"
  apt-get -q -o DPkg::Lock::Timeout="$APT_LOCK_WAIT_SECONDS" update </dev/null
  wait_for_apt_locks
  say "apt-get install ${missing[*]}"
  # C.UTF-8 so that a PostgreSQL cluster created by the package uses UTF-8.
  DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 LC_ALL=C.UTF-8 \
    apt-get install -y -q --no-install-recommends \
      -o DPkg::Lock::Timeout="$APT_LOCK_WAIT_SECONDS" "${missing[@]}" </dev/null

  if (( added_policy )); then rm -f "$policy"; trap - EXIT; fi
}

say "checking Debian packages"
missing=()
for entry in "${DEBIAN_PACKAGES[@]}"; do
  package=${entry%%:*}
  for cmd in ${entry#*:}; do
    if ! have "$cmd"; then missing+=("$package"); break; fi
  done
done
if ! venv_ok && ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  missing+=(python3-venv)   # Debian's own python3 needs it for `python3 -m venv`
fi
installed_postgresql=0
if (( ${#missing[@]} )); then
  install_debian_packages "${missing[@]}"
  [[ " ${missing[*]} " == *" postgresql "* ]] && installed_postgresql=1
  for entry in "${DEBIAN_PACKAGES[@]}"; do
    for cmd in ${entry#*:}; do
      have "$cmd" || die "'$cmd' is still missing after installing package ${entry%%:*}"
    done
  done
else
  say "all present"
fi

# ---------------------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------------------

# Prints "host port database" of a URL, with the given default port.
url_parts() {
  python3 - "$1" "$2" <<'EOF'
import sys
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1])
print(u.hostname or "localhost", u.port or sys.argv[2], u.path.lstrip("/") or "-")
EOF
}

is_local_host() { [[ $1 == 127.0.0.1 || $1 == localhost ]]; }

wait_until() {   # wait_until SECONDS command...
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    (( SECONDS < deadline )) || return 1
    sleep 1
  done
}

redis_up() { [[ $(redis-cli -h "$1" -p "$2" ping 2>/dev/null </dev/null) == PONG ]]; }

ensure_redis() {
  local host port _db
  read -r host port _db < <(url_parts "$SLOSCOPE_TEST_REDIS_URL" 6379)
  if ! is_local_host "$host" || [[ $port != 6379 ]]; then
    say "Redis: using $SLOSCOPE_TEST_REDIS_URL (not managed by this script)"
    return
  fi
  say "Redis: checking 127.0.0.1:6379"
  if redis_up 127.0.0.1 6379; then say "Redis answers"; return; fi

  local start=(redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save ""
               --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log)
  is_root || die "Redis does not answer on 127.0.0.1:6379. Start it (as root) with:
  ${start[*]}"
  say "Redis: not answering, starting it"
  mkdir -p /var/lib/redis /var/log/redis
  "${start[@]}" || true
  wait_until "$SERVICE_WAIT_SECONDS" redis_up 127.0.0.1 6379 \
    || die "Redis does not answer on 127.0.0.1:6379 (redis-cli ping) ${SERVICE_WAIT_SECONDS}s after
starting it with: ${start[*]}
See /var/log/redis/ci.log."
  say "Redis answers"
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 </dev/null; }
pg_login() { psql -h 127.0.0.1 -p 5432 -U postgres -d "${1:-postgres}" -w -tAq "${@:2}" </dev/null; }

# For a server this script installed or started: make sure user postgres may connect over
# TCP from 127.0.0.1 without a password, and that the tests' database exists. Idempotent.
configure_local_postgres() {
  local version=$1 cluster=$2 database=$3
  local hba=/etc/postgresql/$version/$cluster/pg_hba.conf
  if ! pg_login postgres -c 'select 1' >/dev/null 2>&1; then
    [[ -f $hba ]] || die "cannot log in to PostgreSQL as postgres on 127.0.0.1:5432 and $hba not found"
    grep -qF "$HBA_MARK" "$hba" \
      && die "cannot log in to PostgreSQL as postgres on 127.0.0.1:5432 although $hba has our trust line"
    say "PostgreSQL: allowing user postgres from 127.0.0.1 without password ($hba)"
    # First match wins in pg_hba.conf, so the line goes on top. cat > keeps owner and mode.
    local content
    content=$(cat "$hba")
    printf 'host all postgres 127.0.0.1/32 trust  %s\n%s\n' "$HBA_MARK" "$content" > "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" reload
    wait_until 10 pg_login postgres -c 'select 1' >/dev/null 2>&1 \
      || die "still cannot log in to PostgreSQL as postgres on 127.0.0.1:5432 after editing $hba"
  fi
  if [[ $database != - && $(pg_login postgres -c "select 1 from pg_database where datname = '$database'") != 1 ]]; then
    say "PostgreSQL: creating database $database"
    pg_login postgres -c "create database \"$database\"" >/dev/null
  fi
}

ensure_postgres() {
  local host port database
  read -r host port database < <(url_parts "$SLOSCOPE_TEST_POSTGRES_URL" 5432)
  if ! is_local_host "$host" || [[ $port != 5432 ]]; then
    say "PostgreSQL: using $SLOSCOPE_TEST_POSTGRES_URL (not managed by this script)"
    return
  fi
  say "PostgreSQL: checking 127.0.0.1:5432"
  local version cluster
  if pg_up && (( ! installed_postgresql )); then say "PostgreSQL answers"; return; fi

  # The cluster on port 5432, or a new one if the machine has none at all.
  read -r version cluster < <(pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 {print $1, $2; exit}') || true
  if [[ -z ${version:-} ]]; then
    if [[ -n $(pg_lsclusters -h 2>/dev/null) ]]; then
      die "PostgreSQL does not answer on 127.0.0.1:5432 and no cluster is configured for port 5432:
$(pg_lsclusters)"
    fi
    is_root || die "PostgreSQL has no cluster. Create one (as root) with: pg_createcluster --start <version> main"
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    cluster=main
    say "PostgreSQL: creating cluster $version/$cluster"
    LANG=C.UTF-8 LC_ALL=C.UTF-8 pg_createcluster --locale C.UTF-8 --port 5432 "$version" "$cluster" >/dev/null
  fi

  local start=(pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start)
  if ! pg_up; then
    is_root || die "PostgreSQL does not answer on 127.0.0.1:5432. Start it (as root) with:
  ${start[*]}"
    say "PostgreSQL: not answering, starting cluster $version/$cluster"
    install -d -m 2775 -o postgres -g postgres /var/run/postgresql
    "${start[@]}" || true
    wait_until "$SERVICE_WAIT_SECONDS" pg_up \
      || die "PostgreSQL does not answer on 127.0.0.1:5432 (pg_isready) ${SERVICE_WAIT_SECONDS}s after
starting it with: ${start[*]}
See /var/log/postgresql/postgresql-$version-$cluster.log."
  fi
  configure_local_postgres "$version" "$cluster" "$database"
  say "PostgreSQL answers"
}

ensure_redis
ensure_postgres

# ---------------------------------------------------------------------------------------------
# Virtualenv and project
# ---------------------------------------------------------------------------------------------

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
if venv_ok; then
  say "virtualenv: reusing $VENV"
else
  say "virtualenv: creating $VENV"
  python3 -m venv --clear "$VENV"
fi
# Editable installs from pyproject.toml alone need pip 21.3 or newer.
if ! "$VENV/bin/python" -c 'import pip, sys; sys.exit(tuple(map(int, pip.__version__.split(".")[:2])) < (21, 3))'; then
  say "pip: upgrading"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi
say "pip install -e '.[dev]'"
"$VENV/bin/python" -m pip install -q -e '.[dev]'

say "build the browser RUM script (npm ci + esbuild; skipped when up to date)"
"$VENV/bin/python" -m collector.receivers.rum_script_build || die "the RUM script did not build"

# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------

say "ruff check ."
"$VENV/bin/ruff" check . || die "ruff check found problems (listed above)"

say "pytest${*:+ $*} (PostgreSQL: $SLOSCOPE_TEST_POSTGRES_URL, Redis: $SLOSCOPE_TEST_REDIS_URL)"
status=0
"$VENV/bin/python" -m pytest "$@" || status=$?
if (( status == 5 )); then
  printf 'ERROR: pytest collected no tests (exit code 5); that counts as a failure\n' >&2
fi
exit "$status"
