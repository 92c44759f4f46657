#!/usr/bin/env bash
# Create bench/nova_baseline/.venv with upstream Nova 34.0.0 and Placement 16.0.0
# plus what Nova's functional-test fixtures import, so nova_bench.py can run Nova
# in-process the way nova/tests/functional does. Idempotent; ~2-4 minutes on a
# fresh machine (PyPI only).
#
#   bash bench/nova_baseline/setup.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
# SQLAlchemy < 2.1: oslo.db / nova 34 are not ready for 2.1.
# The second group is Nova's test-requirements that its functional fixtures
# import (nova/tests/fixtures, nova/tests/functional, placement's fixture).
"$venv/bin/python" -m pip install -q --progress-bar off \
    "nova==34.0.0" "openstack-placement==16.0.0" "SQLAlchemy<2.1" \
    fixtures testtools testscenarios testresources oslotest requests-mock \
    wsgi-intercept ddt "python-barbicanclient" "python-ironicclient" \
    psutil
"$venv/bin/python" -m pip check || true
# Nova's test ConfFixture looks for etc/nova/api-paste.ini under its state_path,
# the directory above the nova package (a source checkout); the wheel installs
# it as a data file under the venv's etc/. Link it where the fixture looks.
site="$("$venv/bin/python" -c 'import os, nova; print(os.path.dirname(os.path.dirname(nova.__file__)))')"
if [ ! -e "$site/etc/nova/api-paste.ini" ]; then
    mkdir -p "$site/etc"
    ln -sfn "$venv/etc/nova" "$site/etc/nova"
fi
"$venv/bin/python" -c "import nova, placement, sqlalchemy; print('nova', nova.__file__, 'SQLAlchemy', sqlalchemy.__version__)"
