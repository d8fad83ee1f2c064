#!/usr/bin/env bash
# Load test of the Kea hook endpoints (/dhcp/...) with wrk, over 1,000 machines, the way the
# original's figures in spec/original-performance.md were taken (wrk on the same machine, 10 s
# per scenario, median of 3 runs):
#   - GET /dhcp/ipv4?hwaddr=, POST /dhcp/ipv4/seen, /lease and /subnet, each request a random
#     known MAC, at concurrency 1, 8 and 64 (bench/dhcp-hook.lua builds the requests);
#   - a full exchange: the hook's four calls for one DISCOVER/REQUEST (seen, subnet, GET,
#     lease) in turn on one MAC; exchanges/s = req/s / 4;
#   - the GET load again while a BMC hangs: HANG_CLIENTS curl loops keep
#     GET /api/v1/machine/<id>/power running on a machine whose IPMI BMC never answers (a UDP
#     socket that reads nothing; ipmitool is killed just before the BMC's 10 s deadline),
#     against the same load without them, taken just before (pairs, in every run).
# Also the server's idle RSS and peak RSS (VmHWM), the server's CPU, the CPU the rest of the
# machine used during each run and the 1-minute load average before it.
#
#   bench/dhcp.sh                       # SQLite
#   MRP_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres bench/dhcp.sh   # also PostgreSQL
#   DURATION=3s RUNS=1 bench/dhcp.sh    # a quick check
#
# Two reference rows show the HTTP stack's own ceiling on this machine: GET /healthz (one
# trivial query, SELECT 1) and GET of a path that does not exist (404, no database at all).
#
# Knobs: DURATION (10s, in seconds), RUNS (3; figures are the median of each column),
# MACHINES (1000), HANG_CLIENTS (4; 0 makes the "with" runs a control: the same load with
# no hang, showing how far two runs differ without any cause), NICE (-10 as root), CONCURRENCY ("1 8 64"),
# CALLS ("get seen lease subnet exchange"), REFERENCE ("healthz nothing", at concurrency 8
# and 64; empty for none), HANG (1; 0 skips the hang runs), MRP_BIN (a server binary to use
# instead of building this tree, to compare two builds), PERF_OUT (a directory: perf record
# -g of the server during the first run of GET and of the full exchange at the highest
# concurrency), MRP_DATABASE_MAX_CONNECTIONS (16), BACKENDS ("sqlite", and "postgres" when
# MRP_BENCH_POSTGRES is set).
# Needs wrk (Debian: apt-get install wrk), ipmitool, curl, python3 and /usr/bin/time.
# Prints Markdown tables on stdout and progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${MRP_BIN:-}" ]; then
  BIN=$MRP_BIN
else
  cargo build --release --bin mr-provisioner >/dev/null 2>&1
  BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/mr-provisioner
fi
DURATION=${DURATION:-10s}
RUNS=${RUNS:-3}
N=${MACHINES:-1000}
HANG_CLIENTS=${HANG_CLIENTS:-4}
CONCURRENCY=${CONCURRENCY:-1 8 64}
CALLS=${CALLS:-get seen lease subnet exchange}
REFERENCE=${REFERENCE-healthz nothing}
# The server and wrk run at nice NICE (-10 as root, as bench/tftp.sh) so that other work on
# this shared machine (builds) disturbs them less; PostgreSQL keeps its own priority.
NICE=${NICE:-$([ "$(id -u)" = 0 ] && echo -10 || echo 0)}
HANG=${HANG:-1}
BACKENDS=${BACKENDS:-sqlite${MRP_BENCH_POSTGRES:+ postgres}}
PERF_OUT=${PERF_OUT:-}
LUA=$PWD/bench/dhcp-hook.lua
HZ=$(getconf CLK_TCK)
WORK=$(mktemp -d)
cleanup() {
  rm -f "$WORK/hang.on"
  local pids; pids=$(jobs -p)
  [ -z "$pids" ] || { kill $pids 2>/dev/null || true; wait 2>/dev/null || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT
for tool in wrk ipmitool curl python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/dhcp.sh needs $tool" >&2; exit 1; }
done
say() { echo "[dhcp.sh $(date +%T)] $*" >&2; }

# Busy jiffies of the whole machine (all CPUs), and of one process.
machine_busy() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9}' /proc/stat; }
proc_busy() { awk '{print $14+$15}' "/proc/$1/stat"; }
# Busy jiffies of all PostgreSQL processes (its connections persist in the server's pool).
pg_busy() { cat /proc/[0-9]*/stat 2>/dev/null | awk '$2 == "(postgres)" {t += $14 + $15} END {print t + 0}'; }

# One wrk run. Prints "req/s p50_ms p99_ms errors server_cpu% others_cpu% load1 postgres_cpu%",
# CPU in % of all the machine's CPUs; "others" counts neither wrk (its CPU from /usr/bin/time)
# nor PostgreSQL (postgres_cpu% is "-" on SQLite).
wrk_once() { # concurrency call
  local c=$1 call=$2 load b0 s0 t0 b1 s1 t1 p0=0 p1=0 pg=${MRP_DATABASE_URL:+1} out
  load=$(cut -d' ' -f1 /proc/loadavg)
  [ -z "$pg" ] || p0=$(pg_busy)
  b0=$(machine_busy); s0=$(proc_busy "$PID"); t0=$(date +%s%N)
  out=$(/usr/bin/time -f 'WRKCPU %U %S' nice -n "$NICE" wrk -t"$(( c < 2 ? 1 : 2 ))" -c"$c" -d"$DURATION" --latency \
    -s "$LUA" "$BASE" -- "$call" "$N" 2>&1)
  b1=$(machine_busy); s1=$(proc_busy "$PID"); t1=$(date +%s%N)
  [ -z "$pg" ] || p1=$(pg_busy)
  awk -v b="$((b1 - b0))" -v s="$((s1 - s0))" -v p="$((p1 - p0))" -v pg="$pg" -v ns="$((t1 - t0))" \
    -v hz="$HZ" -v ncpu="$(nproc)" -v ld="$load" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; if (v ~ /m$/) return v * 60000; return v }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx/ { err += $NF }
    /Socket errors/ { gsub(",", ""); err += $4 + $6 + $8 + $10 }
    /^WRKCPU/ { wrk = ($2 + $3) * hz }
    END {
      if (rps == "") { print "wrk failed" > "/dev/stderr"; exit 1 }
      total = ns / 1e9 * hz * ncpu
      others = b - s - wrk - p; if (others < 0) others = 0
      printf "%s %.3f %.3f %d %.0f %.0f %s %s\n", rps, p50, p99, err, 100 * s / total, 100 * others / total, ld,
        pg ? sprintf("%.0f", 100 * p / total) : "-"
    }' <<<"$out"
}

# RUNS runs of one scenario; prints a Markdown row tail: req/s | p50 | p99 | non-2xx | CPU ...
measure() { # concurrency call [divisor]
  local c=$1 call=$2 r rows="" perf=""
  for r in $(seq "$RUNS"); do
    if [ -n "$PERF_OUT" ] && [ "$r" = 1 ] && [ "$c" = "${CONCURRENCY##* }" ] && { [ "$call" = get ] || [ "$call" = exchange ]; }; then
      mkdir -p "$PERF_OUT"
      perf record -q -F 499 -g -p "$PID" -o "$PERF_OUT/$BACKEND-$call-c$c.data" -- sleep "${DURATION%s}" >/dev/null 2>&1 &
      perf=$!
    fi
    rows+="$(wrk_once "$c" "$call")"$'\n'
    [ -z "$perf" ] || { wait "$perf" || true; perf=""; }
  done
  median_row "$rows" "${3:-1}"
}

# Medians, column by column, of wrk_once lines; with a divisor d > 1 the req/s column also
# shows req/s / d (exchanges/s).
median_row() { # lines divisor
  python3 - "$1" "$2" <<'PY'
import statistics, sys
rows = [l.split() for l in sys.argv[1].strip().splitlines()]
div = int(sys.argv[2])
col = lambda i: statistics.median(float(r[i]) for r in rows)
def lat(ms):
    return f"{ms * 1000:.0f} µs" if ms < 1 else f"{ms:.2f} ms" if ms < 100 else f"{ms:.0f} ms"
rps = col(0)
rate = f"{rps:,.0f}" if div == 1 else f"{rps / div:,.0f} exchanges/s ({rps:,.0f} req/s)"
errors = sum(int(r[3]) for r in rows)
loads = "/".join(r[6] for r in rows)
pg = "—" if rows[0][7] == "-" else f"{col(7):.0f} %"
print(f"{rate} | {lat(col(1))} | {lat(col(2))} | {errors} | {col(4):.0f} % | {pg} | {col(5):.0f} % | {loads}")
PY
}

# The inventory: racks of 250 machines, rack r on network 10.(100+r).0.0/16 with a static
# pool 10.(100+r).1.0/24 and a reserved pool 10.(100+r).2.0/23; machine i (MAC
# 52:54:HH:HH:HH:HH of i) has the reserved address 10.(100+r).2.(i%250+1), except every
# tenth, which has a static address instead (so DHCP gives it none, and /subnet answers
# {"subnetId": null}). The subarch names a bootloader image when BOOTLOADER is set; one more
# machine, "hung", has an IPMI BMC at 127.0.0.1:DEAD_PORT, where nothing answers.
inventory() { # machines
  python3 - "$1" <<'PY'
import os, sys
n = int(sys.argv[1])
loader = os.environ.get("BOOTLOADER")
sub = f'{{ name = "efi", efiboot = true, bootloader = "{loader}" }}' if loader else '{ name = "efi", efiboot = true }'
out = ['[[arch]]', 'name = "arm64"', f'subarch = [{sub}]', '',
       '[[bmc]]', 'name = "dead"', 'address = "127.0.0.1"', f'port = {os.environ["DEAD_PORT"]}',
       'type = "plain"', 'username = "admin"', 'password = "never-checked"', 'cipher_suite = 3',
       'retries = 3', 'timeout_ms = 10000', '',
       '[[user]]', 'username = "bench"', 'admin = true', '',
       '[[machine]]', 'name = "hung"', 'arch = "arm64"', 'subarch = "efi"', 'bmc = "dead"', '']
for r in range((n + 249) // 250):
    out += ['[[network]]', f'name = "rack{r}"', f'subnet = "10.{100 + r}.0.0/16"',
            f'static_pool = "10.{100 + r}.1.0/24"', f'reserved_pool = "10.{100 + r}.2.0/23"', '']
for i in range(n):
    r, j = divmod(i, 250)
    mac = "52:54:%02x:%02x:%02x:%02x" % ((i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255)
    addr = (f'static_ipv4 = "10.{100 + r}.1.{j + 1}"' if i % 10 == 9
            else f'reserved_ipv4 = "10.{100 + r}.2.{j + 1}"')
    out += ['[[machine]]', f'name = "m{i:05d}"', 'arch = "arm64"', 'subarch = "efi"',
            '[[machine.interface]]', f'mac = "{mac}"', 'identifier = "eth0"', f'network = "rack{r}"', addr, '']
print("\n".join(out))
PY
}

# The hang: HANG_CLIENTS loops of GET /api/v1/machine/<hung>/power, each waiting out the
# 10 s deadline, until $WORK/hang.on goes; each request logged as "status seconds body".
hang_start() {
  touch "$WORK/hang.on"
  local k
  for k in $(seq "$HANG_CLIENTS"); do
    ( while [ -e "$WORK/hang.on" ]; do
        curl -s -m 60 -H "Authorization: $TOKEN" -w ' %{http_code} %{time_total}\n' "$API/machine/$HUNG/power" |
          awk '{t = $NF; c = $(NF - 1); $NF = ""; $(NF - 1) = ""; sub(/ +$/, ""); print c, t, $0}' >> "$WORK/hang.log" || true
      done ) &
    HANG_PIDS+=($!)
  done
  [ "$HANG_CLIENTS" != 0 ] || return 0
  # Until ipmitool runs for the dead BMC (a child of the server).
  for _ in $(seq 50); do pgrep -P "$PID" -x ipmitool >/dev/null && return 0; sleep 0.1; done
  say "warning: no ipmitool seen for the dead BMC"
}
hang_stop() { # waits for the loops' last requests, so that nothing hangs afterwards
  rm -f "$WORK/hang.on"
  [ "${#HANG_PIDS[@]}" = 0 ] || wait "${HANG_PIDS[@]}" 2>/dev/null || true
  HANG_PIDS=()
  for _ in $(seq 150); do pgrep -P "$PID" -x ipmitool >/dev/null || return 0; sleep 0.1; done
  say "warning: ipmitool still running after the hang loops ended"
}
# Samples every 0.5 s whether an ipmitool for the dead BMC is running; prints the share.
hang_sampler() { # file
  local yes=0 all=0
  while [ -e "$WORK/sampling" ]; do
    all=$((all + 1)); pgrep -P "$PID" -x ipmitool >/dev/null && yes=$((yes + 1))
    sleep 0.5
  done
  echo "$yes $all" > "$1"
}

rss() { awk -v k="$2:" '$1 == k {printf "%.1f MiB", $2 / 1024}' "/proc/$1/status"; }

run_backend() { # name database-url-or-empty
  local backend=$1 url=$2 dir=$WORK/$1
  BACKEND=$backend
  mkdir -p "$dir"
  export MRP_DATA_DIR=$dir MRP_LOG_LEVEL=warn MRP_DATABASE_MAX_CONNECTIONS=${MRP_DATABASE_MAX_CONNECTIONS:-16} MRP_TFTP_ENABLED=false \
    MRP_DHCP_NEXT_SERVER=10.100.0.1
  if [ -n "$url" ]; then
    psql "$url" -qc "DROP DATABASE IF EXISTS mrp_bench_dhcp WITH (FORCE)" -c "CREATE DATABASE mrp_bench_dhcp" >/dev/null
    export MRP_DATABASE_URL=${url%/*}/mrp_bench_dhcp
  else
    unset MRP_DATABASE_URL
  fi
  say "$backend: seeding $N machines"
  "$BIN" db upgrade >/dev/null
  # A BMC that never answers: a UDP socket nobody reads (no ICMP "port unreachable" either).
  python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True); time.sleep(86400)' > "$dir/dead-port" &
  local holder=$!
  for _ in $(seq 50); do [ -s "$dir/dead-port" ] && break; sleep 0.1; done
  export DEAD_PORT; DEAD_PORT=$(cat "$dir/dead-port")
  inventory 0 > "$dir/base.toml"
  "$BIN" inventory apply "$dir/base.toml" >/dev/null
  TOKEN=$("$BIN" token create bench | tail -n 1)
  local port=${PORT:-5691}
  nice -n "$NICE" "$BIN" serve --listen 127.0.0.1:$port >"$dir/serve.log" 2>&1 &
  PID=$!
  for _ in $(seq 50); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.2; done
  local started_rss
  started_rss=$(rss "$PID" VmRSS)
  BASE=http://127.0.0.1:$port API=http://127.0.0.1:$port/api/v1
  head -c 700000 /dev/urandom > "$dir/grubaa64.efi"
  local loader
  loader=$(curl -sf -H "Authorization: $TOKEN" -F 'q={"type": "bootloader", "arch": "arm64", "description": "grub"}' \
    -F "file=@$dir/grubaa64.efi" "$API/image" | python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')
  BOOTLOADER=$loader inventory "$N" > "$dir/inv.toml"
  local t0=$SECONDS
  "$BIN" inventory apply "$dir/inv.toml" >/dev/null
  local seed=$((SECONDS - t0))
  # Half the machines (even i) netboot, as in the original's measurements.
  HUNG=$(python3 - "$API" "$TOKEN" <<'PY'
import json, sys, urllib.request
api, token = sys.argv[1:]
h = {"Authorization": token}
machines = json.load(urllib.request.urlopen(urllib.request.Request(api + "/machine?show_all=true", headers=h)))
body = json.dumps({"netboot_enabled": True}).encode()
for m in machines:
    if m["name"].startswith("m") and int(m["name"][1:]) % 2 == 0:
        urllib.request.urlopen(urllib.request.Request(f"{api}/machine/{m['id']}", data=body, method="PUT", headers=h))
print(next(m["id"] for m in machines if m["name"] == "hung"))
PY
)
  # The answers are the expected ones before anything is measured.
  # Machine N-2 has a reserved address (N-1 may have a static one) in the last rack.
  local last=$((N - 2)) mac0=52:54:00:00:00:00 mac9=52:54:00:00:00:09 macl rl
  macl=$(printf '52:54:%02x:%02x:%02x:%02x' $((last >> 24 & 255)) $((last >> 16 & 255)) $((last >> 8 & 255)) $((last & 255)))
  rl=$((100 + last / 250))
  local kea="[{\"subnetId\": 1, \"prefix\": \"10.100.0.0\", \"prefixLen\": 16, \"pools\": [{\"poolId\": 0, \"firstIP\": \"10.100.2.1\", \"lastIP\": \"10.100.3.254\", \"capacity\": 510}]}, {\"subnetId\": $((rl - 99)), \"prefix\": \"10.$rl.0.0\", \"prefixLen\": 16, \"pools\": [{\"poolId\": 0, \"firstIP\": \"10.$rl.2.1\", \"lastIP\": \"10.$rl.3.254\", \"capacity\": 510}]}]"
  SAMPLES+=("$backend: GET /dhcp/ipv4?hwaddr=$mac0 (netboots) → $(curl -s "$BASE/dhcp/ipv4?hwaddr=$mac0")")
  SAMPLES+=("$backend: GET /dhcp/ipv4?hwaddr=$mac9 (static address, no netboot) → $(curl -s "$BASE/dhcp/ipv4?hwaddr=$mac9")")
  SAMPLES+=("$backend: POST /dhcp/ipv4/subnet for $macl → $(curl -s -d "{\"mac\": \"$macl\", \"subnets\": $kea}" "$BASE/dhcp/ipv4/subnet")")
  local code
  for code in "200 GET $BASE/dhcp/ipv4?hwaddr=$mac0" "404 GET $BASE/dhcp/ipv4?hwaddr=52:54:ff:00:00:00" \
      "200 POST $BASE/dhcp/ipv4/seen {\"discover\":true,\"mac\":\"$mac0\",\"options\":[]}" \
      "201 POST $BASE/dhcp/ipv4/lease {\"mac\":\"$mac0\",\"ipv4\":\"10.100.2.1\",\"duration\":0}" \
      "200 POST $BASE/dhcp/ipv4/subnet {\"mac\":\"$mac0\",\"subnets\":$kea}"; do
    read -r want method u body <<<"$code"
    local got
    got=$(curl -s -o /dev/null -w '%{http_code}' -X "$method" ${body:+-d "$body"} "$u")
    [ "$got" = "$want" ] || { say "$method $u: $got, expected $want"; exit 1; }
  done
  curl -s "$BASE/dhcp/ipv4?hwaddr=$mac0" | grep -q '"ipv4":"10.100.2.1"' || { say "no reserved address for $mac0"; exit 1; }
  curl -s "$BASE/dhcp/ipv4?hwaddr=$mac0" | grep -q '"next-server"' || { say "no next-server for $mac0"; exit 1; }
  curl -s -d "{\"mac\": \"$macl\", \"subnets\": $kea}" "$BASE/dhcp/ipv4/subnet" | grep -q "\"subnetId\":$((rl - 99))" \
    || { say "subnet choice for $macl is not $((rl - 99))"; exit 1; }

  local idle growth=""
  idle=$(rss "$PID" VmRSS)
  say "$backend: warm-up"
  DURATION=2s wrk_once 8 exchange >/dev/null
  local c call label
  for call in $CALLS; do
    case $call in
      get) label='GET /dhcp/ipv4?hwaddr=' ;;
      seen) label='POST /dhcp/ipv4/seen (known MAC: a DHCP_REQ event)' ;;
      lease) label='POST /dhcp/ipv4/lease' ;;
      subnet) label="POST /dhcp/ipv4/subnet ($(( (N + 249) / 250 )) Kea subnets)" ;;
      exchange) label='full exchange: seen, subnet, GET, lease' ;;
    esac
    for c in $CONCURRENCY; do
      say "$backend: $call, concurrency $c"
      if [ "$call" = exchange ]; then
        echo "| $backend | $label | $c | $(measure "$c" exchange 4) |"
      else
        echo "| $backend | $label | $c | $(measure "$c" "$call") |"
      fi
    done
    growth+=" $call $(rss "$PID" VmHWM) ($(awk '$1 == "Threads:" {print $2}' "/proc/$PID/status") threads);"
  done
  for call in $REFERENCE; do
    case $call in
      healthz) label='reference: GET /healthz (SELECT 1)' ;;
      nothing) label='reference: GET /no-such-path (404, no database)' ;;
    esac
    for c in 8 64; do
      say "$backend: $call, concurrency $c"
      echo "| $backend | $label | $c | $(measure "$c" "$call") |"
    done
  done

  # GET without and with the hang, in pairs: for each run and concurrency, the load alone,
  # then the same load with the hang started (and stopped after it, waiting for the last
  # power request, so that nothing hangs during the next load alone). The sampler runs
  # during both, to cost the same in both and to show that nothing hangs without.
  declare -A without=() with=()
  local r shares_without="" shares_with=""
  : > "$WORK/hang.log"
  for r in $( [ "$HANG" = 0 ] || seq "$RUNS"); do
    for c in $CONCURRENCY; do
      say "$backend: GET without a hang, concurrency $c (run $r)"
      touch "$WORK/sampling"; hang_sampler "$WORK/share" & local sp=$!
      without[$c]+="$(wrk_once "$c" get)"$'\n'
      rm -f "$WORK/sampling"; wait "$sp"
      shares_without+="$(cat "$WORK/share")"$'\n'
      hang_start
      say "$backend: GET while a BMC hangs, concurrency $c (run $r)"
      touch "$WORK/sampling"; hang_sampler "$WORK/share" & sp=$!
      with[$c]+="$(wrk_once "$c" get)"$'\n'
      rm -f "$WORK/sampling"; wait "$sp"
      shares_with+="$(cat "$WORK/share")"$'\n'
      hang_stop
    done
  done
  for c in $( [ "$HANG" = 0 ] || echo "$CONCURRENCY"); do
    local a b
    a=$(median_row "${without[$c]}" 1); b=$(median_row "${with[$c]}" 1)
    HANG_ROWS+=("$(python3 - "$backend" "$c" "$a" "$b" <<'PY'
import sys
backend, c, a, b = sys.argv[1:]
a, b = [x.split(" | ") for x in (a, b)]
def ms(s):
    v, u = s.split()
    return float(v) / 1000 if u == "µs" else float(v)
ratio = ms(b[2]) / ms(a[2])
verdict = "met" if ratio <= 1.2 else "not met"
print(f"| {backend} | {c} | {a[0]} | {a[1]} | {a[2]} | {b[0]} | {b[1]} | {b[2]} | {b[3]} | {ratio:.2f}× ({verdict}) | {a[6]} / {b[6]} | {a[7]} / {b[7]} |")
PY
)")
  done
  local calls secs share
  calls=$(wc -l < "$WORK/hang.log")
  secs=$(awk '{print $2}' "$WORK/hang.log" | sort -n | awk '{a[NR]=$1} END {if (NR) printf "%.1f–%.1f s (median %.1f s)", a[1], a[NR], a[int((NR+1)/2)]}')
  local share_without
  share=$(awk 'NF == 2 {y += $1; a += $2} END {if (a) printf "%.0f %%", 100 * y / a}' <<<"$shares_with")
  share_without=$(awk 'NF == 2 {y += $1; a += $2} END {if (a) printf "%.0f %%", 100 * y / a}' <<<"$shares_without")
  HANG_NOTES+=("$backend: $calls power-status requests to the dead BMC during the hang runs, each answered after $secs: $(awk '{$2 = ""; print}' "$WORK/hang.log" | sort | uniq -c | sort -rn | head -2 | sed 's/^ *//' | paste -sd ';' -); an ipmitool child of the server running in $share of 0.5 s samples taken during the with-hang wrk runs, in $share_without during the runs without")
  MEM_ROWS+=("| $backend | $N | ${seed} s | $started_rss | $idle | $(rss "$PID" VmHWM) |")
  MEM_NOTES+=("$backend: peak RSS after each group of runs:$growth")
  kill "$PID"; wait "$PID" 2>/dev/null || true
  kill "$holder"; wait "$holder" 2>/dev/null || true
}

SAMPLES=() HANG_ROWS=() HANG_NOTES=() MEM_ROWS=() MEM_NOTES=() HANG_PIDS=()
echo "Kea hook endpoints, $N machines (half netbooting; 9 in 10 with a reserved address), a random known MAC each request; wrk $DURATION × $RUNS runs, medians. CPU in % of the machine's $(nproc) CPUs; \"others\" = everything but the server, PostgreSQL and wrk. Load: 1-minute load average before each run."
echo
echo "| backend | request | concurrency | req/s | p50 | p99 | non-2xx | server CPU | PostgreSQL CPU | others' CPU | load |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for backend in $BACKENDS; do
  case $backend in
    sqlite) run_backend sqlite "" ;;
    postgres) run_backend postgres "${MRP_BENCH_POSTGRES:?MRP_BENCH_POSTGRES is needed for postgres}" ;;
  esac
done
echo
if [ "$HANG" != 0 ]; then
  echo "GET /dhcp/ipv4?hwaddr= while a BMC hangs ($HANG_CLIENTS clients polling GET /api/v1/machine/<id>/power of a machine whose IPMI BMC never answers; 10 s deadline), against the same load just before without them:"
  echo
  echo "| backend | concurrency | req/s without | p50 without | p99 without | req/s with | p50 with | p99 with | non-2xx with | p99 with / without (target ≤ 1.2×) | others' CPU without / with | load without / with |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${HANG_ROWS[@]}"
  echo
  printf -- '- %s\n' "${HANG_NOTES[@]}"
  echo
fi
echo "| backend | machines | seeding (inventory apply) | RSS just started | RSS idle after seeding | peak RSS (VmHWM) |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${MEM_ROWS[@]}"
echo
printf -- '- %s\n' "${MEM_NOTES[@]}"
echo
echo "Sample answers:"
echo
printf -- '- `%s`\n' "${SAMPLES[@]}"
