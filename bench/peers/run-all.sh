#!/usr/bin/env bash
# The whole comparison in one command: setup, fresh data for every server, Redis and a throwaway PostgreSQL, the
# alternating runs, results/summary.md and results/runs.jsonl. Arguments go to bench.py (e.g. --blocks code,refresh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# The kit installs node_modules and a venv beside itself and writes results/: run a writable copy.
KIT=${PB_KIT:-${TMPDIR:-/tmp}/pb-kit}
if [[ $HERE != "$KIT" ]]; then
  mkdir -p "$KIT" && cp -r "$HERE"/. "$KIT"/ && chmod -R u+w "$KIT"
  echo "running the kit from $KIT (results in $KIT/results)"
  exec "$KIT/run-all.sh" "$@"
fi
export PB_DATA=${PB_DATA:-${TMPDIR:-/tmp}/pb-data}
export PB_CONSENTRY=${PB_CONSENTRY:-${TMPDIR:-/tmp}/pb-clone}
"$HERE/setup.sh"
mkdir -p "$PB_DATA"
redis-server "$HERE/redis.conf" --dir "$PB_DATA" > "$PB_DATA/redis.log" 2>&1 &
echo $! > "$PB_DATA/redis.pid"
"$PB_CONSENTRY/.venv/bin/python" "$HERE/pg.py" start "$PB_DATA" > /dev/null
trap 'kill "$(cat "$PB_DATA/redis.pid")" 2>/dev/null || true; "$PB_CONSENTRY/.venv/bin/python" "$HERE/pg.py" stop "$PB_DATA" || true' EXIT
sleep 0.5
python3 "$HERE/prepare.py"
python3 "$HERE/bench.py" "$@"
