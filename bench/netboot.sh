#!/usr/bin/env bash
# Load test of the network-boot HTTP endpoints with wrk, over 1,000 netbooting machines (each
# with a kernel, an initrd and a preseed), the way the original's figures were taken:
#   - GET /tftp/ (the original's TFTP-proxy backend): per-MAC pxelinux configs, every request
#     a different machine (each one renders a config and records a TFTP_REQ event);
#   - GET /preseed/<id>: installer configs, every request a different machine.
#
#   bench/netboot.sh                       # SQLite
#   MRP_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres bench/netboot.sh   # also PostgreSQL
#
# Needs wrk (Debian: apt-get install wrk), curl and python3. Prints a Markdown table. TFTP
# itself (over UDP, beside tftpd-hpa and dnsmasq) is measured by bench/tftp.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin mr-provisioner >/dev/null 2>&1
BIN=$PWD/target/release/mr-provisioner
DURATION=${DURATION:-10s}
N=${MACHINES:-1000}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT

# wrk (its LuaJIT is Lua 5.1: no bit operators) with a Lua script; prints "req/s | p50 | p99 | errors".
measure() { # concurrency script url
  local c=$1 script=$2 url=$3 out
  out=$(wrk -t"$(( c < 2 ? 1 : 2 ))" -c"$c" -d"$DURATION" --latency -s "$script" "$url")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '%s | %s | %s | %s' "$rps" "$p50" "$p99" "${errors:-0}"
}

# Every request names another machine's MAC (machine i has 52:54:HH:HH:HH:HH of i).
cat > "$WORK/tftp.lua" <<LUA
local n, i = $N, 0
request = function()
  i = (i + 1) % n
  local mac = string.format("52-54-%02x-%02x-%02x-%02x", math.floor(i / 16777216) % 256,
    math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
  return wrk.format("GET", "/tftp/", { ["X-TFTP-IP"] = "10.0.0.1", ["X-TFTP-File"] = "pxelinux.cfg/01-" .. mac })
end
LUA

run_backend() { # name database-url-or-empty
  local backend=$1 url=$2 dir=$WORK/$1
  mkdir -p "$dir"
  export MRP_DATA_DIR=$dir MRP_LOG_LEVEL=warn MRP_TFTP_ENABLED=false MRP_EVENTS_RETENTION_DAYS=0
  if [ -n "$url" ]; then
    psql "$url" -qc "DROP DATABASE IF EXISTS mrp_bench_netboot WITH (FORCE)" -c "CREATE DATABASE mrp_bench_netboot" >/dev/null
    export MRP_DATABASE_URL=${url%/*}/mrp_bench_netboot
  else
    unset MRP_DATABASE_URL
  fi
  "$BIN" db upgrade >/dev/null
  python3 bench/gen-inventory.py 0 > "$dir/base.toml"
  "$BIN" inventory apply "$dir/base.toml" >/dev/null
  local token port=5690
  token=$("$BIN" token create bench | tail -n 1)
  "$BIN" serve --listen 127.0.0.1:$port >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 50); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.2; done
  local api=http://127.0.0.1:$port/api/v1
  head -c 700000 /dev/urandom > "$dir/grubaa64.efi"
  head -c 9000000 /dev/urandom > "$dir/vmlinuz"
  head -c 30000000 /dev/urandom > "$dir/initrd.gz"
  upload() { # type file -> prints "id filename"
    curl -sf -H "Authorization: $token" -F "q={\"type\": \"$1\", \"arch\": \"arm64\", \"description\": \"$1\"}" \
      -F "file=@$2" "$api/image" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"], d["name"])'
  }
  local loader kernel initrd preseed
  loader=$(upload bootloader "$dir/grubaa64.efi")
  kernel=$(upload Kernel "$dir/vmlinuz")
  initrd=$(upload Initrd "$dir/initrd.gz")
  preseed=$(curl -sf -H "Authorization: $token" -d '{"name": "debian", "type": "preseed", "content": "d-i netcfg/get_hostname string {{ hostname }}\nd-i passwd/user-fullname string {{ ssh_key }}\n{% for i in interfaces %}# {{ i.mac }}\n{% endfor %}"}' \
    "$api/preseed" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  BOOTLOADER=${loader#* } python3 bench/gen-inventory.py "$N" > "$dir/inv.toml"
  "$BIN" inventory apply "$dir/inv.toml" >/dev/null
  # Every machine netboots with the kernel, initrd and preseed.
  python3 - "$api" "$token" "${kernel%% *}" "${initrd%% *}" "$preseed" <<'PY'
import json, sys, urllib.request
api, token, kernel, initrd, preseed = sys.argv[1:]
ids = [m["id"] for m in json.load(urllib.request.urlopen(urllib.request.Request(
    api + "/machine?show_all=true", headers={"Authorization": token})))]
body = json.dumps({"kernel_id": int(kernel), "initrd_id": int(initrd), "preseed_id": int(preseed),
                   "kernel_opts": "console=ttyS0,115200 --- quiet", "netboot_enabled": True}).encode()
for i in ids:
    urllib.request.urlopen(urllib.request.Request(f"{api}/machine/{i}", data=body, method="PUT",
                                                  headers={"Authorization": token}))
PY
  local first last
  first=$(curl -s -H "Authorization: $token" "$api/machine?show_all=true" | python3 -c 'import json,sys; ids=[m["id"] for m in json.load(sys.stdin)]; print(min(ids), max(ids))')
  read -r first last <<<"$first"
  cat > "$dir/preseed.lua" <<LUA
local first, count, i = $first, $(( last - first + 1 )), 0
request = function()
  i = (i + 1) % count
  return wrk.format("GET", "/preseed/" .. (first + i))
end
LUA
  local base=http://127.0.0.1:$port
  local sample
  sample=$(curl -s -H "X-TFTP-IP: 10.0.0.1" -H "X-TFTP-File: pxelinux.cfg/01-52-54-00-00-00-07" "$base/tftp/" | wc -c)
  for c in 1 8 64; do
    echo "| $backend | GET /tftp/ per-MAC pxelinux config ($sample B) | $c | $(measure $c "$WORK/tftp.lua" "$base") |"
  done
  for c in 1 8 64; do
    echo "| $backend | GET /preseed/<id> | $c | $(measure $c "$dir/preseed.lua" "$base") |"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "| backend | request ($N netbooting machines, a different one each request) | concurrency | req/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|---|---|"
run_backend sqlite ""
if [ -n "${MRP_BENCH_POSTGRES:-}" ]; then
  run_backend postgres "$MRP_BENCH_POSTGRES"
fi
