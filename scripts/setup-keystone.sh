#!/usr/bin/env bash
# setup-keystone.sh [VENV_DIR]
# Prepare a separate virtualenv holding a real Keystone (OpenStack Identity)
# and a WSGI server for it, for the clients/Tempest test suite. Keystone is a
# test-time tool: it stays out of Lifeboat's own dependencies and its venv.
#
# Idempotent: a venv whose marker names the same requirements is kept as it is
# (the first install takes about a minute; later runs return at once).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-${LIFEBOAT_KEYSTONE_VENV:-.venv-keystone}}
PYTHON=${PYTHON:-python3}
REQUIREMENTS="keystone==30.0.0 gunicorn>=22"
MARKER="$VENV/.lifeboat-keystone"

if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$REQUIREMENTS" ] \
   && [ -x "$VENV/bin/keystone-manage" ] && [ -x "$VENV/bin/gunicorn" ]; then
  exit 0
fi

echo "setup-keystone: installing $REQUIREMENTS into $VENV" >&2
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
# shellcheck disable=SC2086
"$VENV/bin/pip" install -q --disable-pip-version-check $REQUIREMENTS
"$VENV/bin/python" -c "import keystone" >/dev/null
echo "$REQUIREMENTS" > "$MARKER"
echo "setup-keystone: ready in $VENV" >&2
