#!/usr/bin/env bash
# run-suite.sh NAME BUDGET_SECONDS [pytest args...]
# Runs one test suite under a hard time budget, so a slow suite fails loudly
# instead of pushing the whole CI run past its limit.
set -uo pipefail
name=$1; budget=$2; shift 2
# SUITE_BUDGET_SCALE stretches every budget (e.g. 3 on a machine shared with
# other heavy jobs); CI leaves it unset, so the real budgets apply there.
budget=$(( budget * ${SUITE_BUDGET_SCALE:-1} ))
echo "=== suite: $name (budget ${budget}s)"
start=$(date +%s)
timeout --signal=INT --kill-after=30 "$budget" \
  .venv/bin/python -m pytest -p no:cacheprovider -q "$@"
rc=$?
echo "=== suite: $name took $(( $(date +%s) - start ))s (exit $rc)"
if [ "$rc" -eq 124 ]; then
  echo "suite $name exceeded its budget of ${budget}s" >&2
fi
# 5 = no tests collected: a suite that runs nothing proves nothing.
if [ "$rc" -eq 5 ]; then echo "suite $name: no tests selected" >&2; fi
exit $rc
