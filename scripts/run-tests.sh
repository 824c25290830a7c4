#!/usr/bin/env bash
# Install everything the tests need (Python packages into .venv, Debian's Chromium for the
# browser tests, systemd for checking the service units) and run the whole suite. Fails when
# pytest collects no test.
set -euo pipefail
cd "$(dirname "$0")/.."
# chromium for the browser tests; systemd for `systemd-analyze verify` of the units in deploy/;
# zip and xz for archives made by real tools.
MISSING=""
[ -x /usr/bin/chromium ] || MISSING="$MISSING chromium"
command -v systemd-analyze >/dev/null || MISSING="$MISSING systemd"
# Info-ZIP zip and xz (GNU tar -J) make the uploads of the mask content tests.
command -v zip >/dev/null || MISSING="$MISSING zip"
command -v xz >/dev/null || MISSING="$MISSING xz-utils"
if [ -n "$MISSING" ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $MISSING >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -e .
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
