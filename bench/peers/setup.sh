#!/usr/bin/env bash
# Installs what the comparison needs (idempotent): wrk and Redis from Debian, Consentry's venv in a clone of
# the project checkout, node-oidc-provider from npm (package-lock.json), django-oauth-toolkit from PyPI (requirements.txt).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PB_CONSENTRY=${PB_CONSENTRY:-${TMPDIR:-/tmp}/pb-clone}
if ! command -v wrk >/dev/null || ! command -v redis-server >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk redis-server >/dev/null
fi
SRC=${PB_CONSENTRY_SRC:?set PB_CONSENTRY_SRC to a Consentry checkout}
[ -d "$PB_CONSENTRY/.git" ] || git clone -q "$SRC" "$PB_CONSENTRY"
git -C "$PB_CONSENTRY" fetch -q "$SRC" HEAD && git -C "$PB_CONSENTRY" checkout -q --detach FETCH_HEAD  # the checkout's commit
make -s -C "$PB_CONSENTRY" .venv/.installed
(cd "$HERE/oidc-provider" && { [ -d node_modules/oidc-provider ] || npm ci --no-audit --no-fund --silent; })
if [ ! -x "$HERE/dot/.venv/bin/gunicorn" ]; then
  python3 -m venv "$HERE/dot/.venv"
  "$HERE/dot/.venv/bin/pip" install -q -r "$HERE/dot/requirements.txt"
fi
echo "setup: node $(node --version), $(wrk --version 2>&1 | head -1 | cut -c1-30), $(redis-server --version | cut -c1-30)," \
     "Consentry $(git -C "$PB_CONSENTRY" rev-parse --short HEAD)"
