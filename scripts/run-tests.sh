#!/usr/bin/env bash
# Install everything the tests need (Python packages into .venv, Debian's Chromium for the
# browser tests, the archivers for the mask-check tests, systemd for checking the service units)
# and run the whole suite in parallel. Fails when pytest collects no test.
set -euo pipefail
cd "$(dirname "$0")/.."
# chromium for the browser tests; systemd for `systemd-analyze verify` of the units in deploy/;
# zip and xz for archives made by real tools.
MISSING=""
[ -x /usr/bin/chromium ] || MISSING="$MISSING chromium"
command -v systemd-analyze >/dev/null || MISSING="$MISSING systemd"
# The archive tests build uploads with the tools annotators use: GNU tar (xz for -J), bsdtar,
# Info-ZIP, 7-Zip.
command -v tar >/dev/null || MISSING="$MISSING tar"
command -v xz >/dev/null || MISSING="$MISSING xz-utils"
command -v bsdtar >/dev/null || MISSING="$MISSING libarchive-tools"
command -v zip >/dev/null || MISSING="$MISSING zip"
command -v unzip >/dev/null || MISSING="$MISSING unzip"
command -v 7z >/dev/null || MISSING="$MISSING p7zip-full"
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
# In parallel (pytest-xdist): the tests mostly wait on servers, apps and browsers they start,
# so more workers than cores pay off; each worker has its own embedded server, temporary
# folders, free ports and Streamlit apps (tests/conftest.py). --dist loadfile keeps a module's
# tests on one worker, so its module-scoped app starts once. TEST_WORKERS=0 runs in one process.
.venv/bin/python -m pytest -n "${TEST_WORKERS:-4}" --dist loadfile "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
