#!/usr/bin/env bash
# Load test of the REST API with wrk on this machine (the original's figures in
# docs/benchmarks.md were taken the same way): GET /api/v1/machine over 1,000 and 10,000
# machines (all, filtered by name, the caller's 100), and reservations.
#
#   bench/api.sh                       # SQLite
#   MRP_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres bench/api.sh   # also PostgreSQL
#
# Needs wrk (Debian: apt-get install wrk) and python3. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin mr-provisioner >/dev/null 2>&1
BIN=$PWD/target/release/mr-provisioner
DURATION=${DURATION:-10s}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT

# wrk's "Requests/sec" and its 50%/99% latencies.
measure() { # concurrency url [script]
  local c=$1 url=$2 script=${3:-}
  local out
  out=$(wrk -t"$(( c < 2 ? 1 : 2 ))" -c"$c" -d"$DURATION" --latency -H "Authorization: $TOKEN" ${script:+-s "$script"} "$url")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  printf '%s | %s | %s' "$rps" "$p50" "$p99"
}

run_backend() { # name database-url-or-empty
  local backend=$1 url=$2
  for n in 1000 10000; do
    local dir=$WORK/$backend-$n
    mkdir -p "$dir"
    export MRP_DATA_DIR=$dir MRP_LOG_LEVEL=warn MRP_DATABASE_MAX_CONNECTIONS=16
    if [ -n "$url" ]; then
      local db="mrp_bench_$n"
      psql "$url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
      export MRP_DATABASE_URL=${url%/*}/$db
    else
      unset MRP_DATABASE_URL
    fi
    "$BIN" db upgrade >/dev/null
    python3 bench/gen-inventory.py "$n" > "$dir/inv.toml"
    local t0=$SECONDS
    "$BIN" inventory apply "$dir/inv.toml" >/dev/null
    local seed=$(( SECONDS - t0 ))
    TOKEN=$("$BIN" token create bench | tail -n 1)
    local port=$(( 5600 + n % 997 ))
    "$BIN" serve --listen 127.0.0.1:$port >/dev/null 2>&1 &
    local pid=$!
    for _ in $(seq 50); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.2; done
    local base=http://127.0.0.1:$port/api/v1
    local size
    size=$(curl -s -H "Authorization: $TOKEN" "$base/machine?show_all=true" | wc -c)
    echo "| $backend | $n | all machines (show_all, $((size / 1024)) KiB) | 1 | $(measure 1 "$base/machine?show_all=true") |"
    echo "| $backend | $n | all machines (show_all, $((size / 1024)) KiB) | 8 | $(measure 8 "$base/machine?show_all=true") |"
    local q='q=(=%20name%20%22m00500%22)&show_all=true'
    echo "| $backend | $n | filtered by name | 1 | $(measure 1 "$base/machine?$q") |"
    echo "| $backend | $n | filtered by name | 8 | $(measure 8 "$base/machine?$q") |"
    echo "| $backend | $n | filtered by name | 64 | $(measure 64 "$base/machine?$q") |"
    echo "| $backend | $n | the caller's 100 machines | 8 | $(measure 8 "$base/machine") |"
    local before
    before=$(curl -s -H "Authorization: $TOKEN" "$base/assignment" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
    echo "| $backend | $n | reservation (POST, each takes a machine) | 8 | $(DURATION=${RESERVE_DURATION:-3s} measure 8 "$base/machine/reservation" bench/reserve.lua) |"
    local after
    after=$(curl -s -H "Authorization: $TOKEN" "$base/assignment" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
    echo "|  |  | (reservations made: $((after - before)); seeding $n machines with inventory apply: ${seed} s) |  |  |  |  |"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
}

echo "| backend | machines | request | concurrency | req/s | p50 | p99 |"
echo "|---|---|---|---|---|---|---|"
run_backend sqlite ""
if [ -n "${MRP_BENCH_POSTGRES:-}" ]; then
  run_backend postgres "$MRP_BENCH_POSTGRES"
fi
