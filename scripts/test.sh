#!/usr/bin/env bash
# Installs everything netop's tests need on a fresh Debian/Ubuntu machine, then runs them all:
# lint (ruff), types (mypy), layers (import-linter) and the whole pytest suite (unit,
# integration, UI snapshots).
# Run as root (or with sudo available): the integration tests create network namespaces.
# Extra arguments go to pytest, e.g. `scripts/test.sh tests/ui --snapshot-update`.
set -euo pipefail
cd "$(dirname "$0")/.."

# The namespace tests and apt need root: a normal user's run goes through sudo once.
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
  exec sudo --preserve-env=PATH,PYTHON "$0" "$@"
fi
SUDO=""

# Debian packages: real programs the tests drive (namespaces, traffic, agents, exporters,
# reference decoders). Installed only when missing, so a second run starts at once.
APT_PACKAGES=(
  iproute2 curl python3-venv python3-pip python3-dev gcc libpcap0.8 util-linux netbase
  tcpdump tshark tcpreplay iperf3
  snmpd snmp
  softflowd pmacct nfdump
  nmap hping3 rsyslog snmptrapd prometheus sqlite3
)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  # tshark asks whether non-root users may capture; answer for it (no) so nothing waits.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian snmpd service would hold port 161 and is not what the tests use.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now snmpd >/dev/null 2>&1 || true; fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then "$PYTHON" -m venv .venv; fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[test]"

echo "== ruff"; .venv/bin/ruff check netop tests bench
echo "== mypy"; .venv/bin/mypy
echo "== layers"; .venv/bin/lint-imports --no-cache
echo "== pytest"
# A skip for anything this script provides (root, the packages above, the C compiler,
# ../shared) fails the run: only kernel features may skip (tests/conftest.py).
export NETOP_STRICT_SKIPS=1

# pytest's "no tests ran" (exit 5) is a failure, not a pass.
pytest_run() {
  local status=0
  .venv/bin/pytest "$@" || status=$?
  if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure, not a pass" >&2
    return 1
  fi
  return "$status"
}

if [ $# -gt 0 ]; then
  pytest_run "$@"
  exit $?
fi
# The whole suite: the integration tests spend most of their time waiting for real
# programs and traffic, so the unit and UI tests run beside them on the other core
# (about 11 instead of 17 minutes on two cores). Each part's output is shown whole.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
pytest_run tests/unit tests/ui > "$logs/fast.log" 2>&1 &
fast=$!
integration=0
pytest_run tests/integration > "$logs/integration.log" 2>&1 || integration=$?
fast_status=0
wait "$fast" || fast_status=$?
echo "== pytest tests/unit tests/ui (exit $fast_status)"; cat "$logs/fast.log"
echo "== pytest tests/integration (exit $integration)"; cat "$logs/integration.log"
if [ "$fast_status" -ne 0 ] || [ "$integration" -ne 0 ]; then
  echo "tests failed: unit+ui exit $fast_status, integration exit $integration" >&2
  exit 1
fi
echo "all tests passed"
