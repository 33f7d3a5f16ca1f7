#!/usr/bin/env bash
# The API contract check (docs/contract.md): Schemathesis 4.32.5 against the demo server, over the
# whole OpenAPI document, once with an admin token on SQLite, once with the same token on
# PostgreSQL (when YICHUANG_CONTRACT_DATABASE_URL names a server, e.g.
# postgres://postgres@127.0.0.1:5432), and once without any token on SQLite. Every check runs
# (`--checks all`), with a fixed seed and number of examples so that a run is reproducible; any
# failure (a 5xx, a response that breaks the schema, a valid request refused, an invalid one
# accepted) fails the script. Per-operation allowances are in schemathesis.toml.
#
# Left out on purpose, and only these: the operations that revoke or change the run's own token
# (logout, password change, token management, account reset and deactivation) and the one that
# moves the demo clock.
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VERSION=4.32.5
VENV=${CONTRACT_VENV:-${CARGO_TARGET_DIR:-target}/contract-venv}
EXAMPLES=${CONTRACT_MAX_EXAMPLES:-10}
SEED=${CONTRACT_SEED:-1}
EXCLUDE='logout|password|tokens|dev/clock|accounts/.*/(reset|active)'

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$ST_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$ST_VERSION"
fi
"$VENV/bin/schemathesis" --version

cargo build -q --bin yichuang
BIN=${CARGO_TARGET_DIR:-target}/debug/yichuang

work=$(mktemp -d)
pids=()
pg_db=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$pg_db" ]; then
    psql "$YICHUANG_CONTRACT_DATABASE_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$pg_db\"" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Outside demo mode a weak admin password is refused; this one is strong and used only here.
PASSWORD="Contract-$(date +%s)-Hall-Key"
port=$((20000 + $$ % 20000))

# start NAME DATABASE_URL: starts a demo server and sets BASE to its URL once it answers.
start() {
  local name=$1 db=$2 p=$port
  port=$((port + 1))
  YICHUANG_ADMIN_PASSWORD=$PASSWORD "$BIN" demo --database "$db" --addr "127.0.0.1:$p" \
    >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 120); do
    if curl -sf "http://127.0.0.1:$p/api/v1/openapi.json" >/dev/null; then
      BASE="http://127.0.0.1:$p"
      return 0
    fi
    sleep 0.5
  done
  echo "the demo server ($name) did not answer within 60 s:" >&2
  tail -n 20 "$work/$name.log" >&2
  return 1
}

token() {
  curl -sf -X POST "$1/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

# check NAME BASE [schemathesis options...]: runs in the background, output to $work/NAME.out.
check() {
  local name=$1 base=$2
  shift 2
  timeout 720 "$VENV/bin/schemathesis" run "$base/api/v1/openapi.json" --url "$base" "$@" \
    --checks all --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 \
    --exclude-path-regex "$EXCLUDE" --no-color >"$work/$name.out" 2>&1
}

declare -A runs=()
start sqlite-admin "sqlite://$work/admin.db"
check "SQLite, admin token" "$BASE" -H "Authorization: Bearer $(token "$BASE")" &
runs["SQLite, admin token"]=$!

start sqlite-anonymous "sqlite://$work/anonymous.db"
check "SQLite, no token" "$BASE" &
runs["SQLite, no token"]=$!

if [ -n "${YICHUANG_CONTRACT_DATABASE_URL:-}" ]; then
  pg_db="yc_contract_$$"
  psql "$YICHUANG_CONTRACT_DATABASE_URL/postgres" -qc "CREATE DATABASE \"$pg_db\"" >/dev/null
  start postgres-admin "$YICHUANG_CONTRACT_DATABASE_URL/$pg_db"
  check "PostgreSQL, admin token" "$BASE" -H "Authorization: Bearer $(token "$BASE")" &
  runs["PostgreSQL, admin token"]=$!
fi

failed=0
for name in "${!runs[@]}"; do
  if wait "${runs[$name]}"; then
    echo "contract ($name): $(tail -n 1 "$work/$name.out" | tr -d '=' | sed 's/^ *//')"
  else
    failed=1
    echo "contract ($name): FAILED"
    cat "$work/$name.out"
  fi
done
exit $failed
