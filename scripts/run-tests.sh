#!/usr/bin/env bash
# Run the whole suite. pytest's exit code 5 (no tests collected) is a failure, never a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
# npm ci on a fresh checkout, and again whenever the lockfile changed since the last install.
node=tests/interop/node
if [ -f $node/package.json ] && { [ ! -f $node/node_modules/.package-lock.json ] \
    || [ $node/package-lock.json -nt $node/node_modules/.package-lock.json ]; }; then
  (cd tests/interop/node && npm ci --silent --no-audit --no-fund) || exit 1
fi
lint=0
if [ $# -eq 0 ]; then  # full runs lint and type-check first (pyproject.toml); a finding fails the run
  .venv/bin/ruff check consentry tests || lint=1
  .venv/bin/ruff format --check consentry tests || lint=1
  .venv/bin/mypy || lint=1
fi
.venv/bin/python -m pytest -q "$@"
code=$?
if [ $code -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
# Dependency audit on full runs: a known vulnerability fails the run; a vulnerability service that cannot be
# reached from this machine is reported as "NOT DONE" and does not (network limits are not project defects).
if [ $# -eq 0 ]; then
  .venv/bin/python -m tests.security.dependency_audit || { [ $code -eq 0 ] && code=1; }
fi
[ $lint -ne 0 ] && [ $code -eq 0 ] && code=1
exit $code
