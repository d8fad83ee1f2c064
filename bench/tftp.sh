#!/usr/bin/env bash
# TFTP benchmark: mr-provisioner's TFTP server beside tftpd-hpa, dnsmasq (TFTP only) and
# atftpd, each started here on its own loopback address, loaded by the same client
# (tests/benches/tftp_load.rs) on this machine. Figures are in docs/benchmarks.md ("TFTP").
#
#   bench/tftp.sh                    # everything: builds, starts, measures, stops, prints Markdown
#   RUNS=1 SERVERS="ours dnsmasq" bench/tftp.sh
#
# Scenarios (each run RUNS times, default 3, the servers taking turns within each run; the
# tables show medians):
#   1. one 64 MiB file, blksize 512 / 1468 / 8192 x windowsize 1 / 16 (a server that does not
#      grant windowsize runs windowsize 1 only; blksize is what the server granted);
#   2. storm: 64 transfers of one 2.5 MiB file at once, blksize 1468, windowsize 1;
#   3. 1,000 fetches of ~300-byte per-MAC configs at once (peers: 1,000 static files
#      pxelinux.cfg/01-52-54-..; ours: the configs rendered from the database for 1,000
#      machines, and the same static files under static/), then 20,000 at concurrency 64 for
#      the sustained rate.
# Every transfer asks for tsize, checks the byte count (and SHA-256 where the content is
# known), and retries on timeout from 250 ms doubling (iPXE's minimum, TIMEOUT_MS).
# Servers and clients run at nice NICE (-10) so that other work on the machine (builds)
# disturbs them less; the CPU that other processes used during each run is recorded.
# Also measured: CPU seconds of client and server per scenario, the server's peak RSS
# (VmHWM), machine-wide UDP receive-buffer drops, how busy the CPUs were just before each
# measurement, and a few figures with the real atftp and curl clients for comparison.
#
# Needs (Debian): tftpd-hpa dnsmasq atftp tftp-hpa curl python3, and atftpd, which conflicts
# with tftpd-hpa as a package, so it is unpacked beside it: `apt-get download atftpd &&
# dpkg-deb -x atftpd_*.deb /opt/atftpd` (ATFTPD=/opt/atftpd/usr/sbin/atftpd). Run as root:
# the peers drop privileges, dnsmasq listens on 127.0.0.3:69 (it has no TFTP port option),
# and for scenario 1 net.core.rmem_default is raised to RMEM (1 MiB; RMEM=0 leaves it) and put
# back: with the stock 208 KiB a client socket holds fewer than 16 loopback datagrams of 8 KiB,
# so every windowsize-16 x 8192 transfer lost the end of its windows to the client's own
# buffer and stalled on timeouts, whichever server sent them.
# Our server is skipped (and said so) when the build has no TFTP server (MRP_TFTP_LISTEN).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
RUNS=${RUNS:-3}
SERVERS=${SERVERS:-"ours tftpd-hpa dnsmasq atftpd"}
TIMEOUT_MS=${TIMEOUT_MS:-250}
RMEM=${RMEM:-1048576}
ATFTPD=${ATFTPD:-$(command -v atftpd || echo /opt/atftpd/usr/sbin/atftpd)}
NICE=${NICE:--10}              # servers and client run at this nice value, ahead of other work
QUIET_BUSY=${QUIET_BUSY:-30}   # wait (up to 3 s) until other processes use less than this % CPU
RESULTS=${RESULTS:-/tmp/tftp-bench-results.jsonl}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true   # 1,000 transfers at once need their sockets

WORK=$(mktemp -d /tmp/tftp-bench.XXXXXX)
chmod 755 "$WORK"
OLD_RMEM=$(cat /proc/sys/net/core/rmem_default)
declare -A PID=() ADDR=()
cleanup() {
  echo "$OLD_RMEM" > /proc/sys/net/core/rmem_default 2>/dev/null || true
  for s in "${!PID[@]}"; do kill "${PID[$s]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "[tftp.sh] $*" >&2; }

# --- build --------------------------------------------------------------------------------
log "building mr-provisioner and the load generator (release)"
cargo build --release --bin mr-provisioner >&2
BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/mr-provisioner
LOAD=$(cargo bench -p mr-provisioner-tests --bench tftp_load --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "tftp_load" and m.get("executable"):
        print(m["executable"])')
[ -x "$LOAD" ] || { log "no tftp_load executable"; exit 1; }

# --- files --------------------------------------------------------------------------------
ROOT=$WORK/root
mkdir -p "$ROOT/pxelinux.cfg" "$ROOT/static"
head -c $((64 << 20)) /dev/urandom > "$ROOT/big.bin"
head -c $((2560 << 10)) /dev/urandom > "$ROOT/storm.bin"
python3 - "$ROOT" <<'PY'
import hashlib, sys
root = sys.argv[1]
peers, ours = open(root + "/../configs-peers.tsv", "w"), open(root + "/../configs-static.tsv", "w")
for i in range(1000):
    mac = "52-54-%02x-%02x-%02x-%02x" % ((i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255)
    body = ("default netboot\nprompt 0\ntimeout 0\nlabel netboot\n  menu label m%05d\n"
            "  kernel bench/Image.%08x\n  initrd bench/initrd.%08x\n"
            "  append console=ttyAMA0,115200 ip=dhcp BOOTIF=01-%s "
            "preseed/url=http://127.0.0.1:5000/preseed/m%05d auto=true priority=critical\n"
            "  ipappend 2\n") % (i, i, i, mac, i)
    digest = hashlib.sha256(body.encode()).hexdigest()
    for path, out in (("pxelinux.cfg/01-" + mac, peers), ("static/cfg-" + mac, ours)):
        open(f"{root}/{path}", "w").write(body)
        out.write(f"{path}\t{len(body)}\t{digest}\n")
PY
cut -f1 "$WORK/configs-peers.tsv" | sed 's/$/\t-\t-/' > "$WORK/configs-rendered.tsv"
chmod -R a+rX "$WORK"
BIG_SHA=$(sha256sum "$ROOT/big.bin" | cut -d' ' -f1)
STORM_SHA=$(sha256sum "$ROOT/storm.bin" | cut -d' ' -f1)

# --- servers ------------------------------------------------------------------------------
udp_listening() { ss -Hlun "sport = :${1##*:}" | grep -qF "$1"; }
wait_listening() { # addr pid
  for _ in $(seq 100); do
    udp_listening "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
OURS_DATA=$WORK/ours
setup_ours() {
  mkdir -p "$OURS_DATA/tftp"
  cp -al "$ROOT/big.bin" "$ROOT/storm.bin" "$ROOT/static" "$OURS_DATA/tftp/"
  export MRP_DATA_DIR=$OURS_DATA MRP_LOG_LEVEL=warn
  "$BIN" db upgrade >/dev/null
  python3 bench/gen-inventory.py 1000 > "$WORK/inv.toml"
  "$BIN" inventory apply "$WORK/inv.toml" >/dev/null
}
# Our machines' configs are netboot ones when NETBOOT=1 (the default): a bootloader, a kernel
# and an initrd uploaded through the API (public, small dummy files), the subarch given the
# bootloader, and every machine set to netboot that kernel and initrd with kernel options.
NETBOOT=${NETBOOT:-1}
netboot_ours() {
  local base=http://127.0.0.1:6968/api/v1 token img
  token=$(MRP_DATA_DIR=$OURS_DATA "$BIN" token create bench | tail -n 1)
  for img in bootloader:grubaa64.efi Kernel:Image Initrd:initrd.img; do
    head -c 65536 /dev/urandom > "$WORK/${img#*:}"
    curl -sf -H "Authorization: $token" -F "q={\"type\":\"${img%%:*}\",\"arch\":\"arm64\",\"public\":true}" \
      -F "file=@$WORK/${img#*:}" "$base/image" > "$WORK/image-${img%%:*}.json" || return 1
  done
  local loader
  loader=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$WORK/image-bootloader.json")
  BOOTLOADER=$loader python3 bench/gen-inventory.py 1000 > "$WORK/inv.toml"
  grep -qF "bootloader = \"$loader\"" "$WORK/inv.toml" ||  # gen-inventory.py without BOOTLOADER
    sed -i "s|subarch = \[{ name = \"efi\", efiboot = true }\]|subarch = [{ name = \"efi\", efiboot = true, bootloader = \"$loader\" }]|" "$WORK/inv.toml"
  MRP_DATA_DIR=$OURS_DATA "$BIN" inventory apply "$WORK/inv.toml" >/dev/null || return 1
  python3 - "$base" "$token" "$WORK" <<'PY'
import http.client, json, sys, urllib.parse
base, token, work = sys.argv[1:4]
u = urllib.parse.urlsplit(base)
c = http.client.HTTPConnection(u.hostname, u.port)
def call(method, path, body=None):
    c.request(method, u.path + path, body=json.dumps(body) if body is not None else None,
              headers={"Authorization": token, "Content-Type": "application/json"})
    r = c.getresponse(); data = r.read()
    if r.status >= 300: sys.exit(f"{method} {path}: {r.status} {data[:200]!r}")
    return json.loads(data)
kernel = json.load(open(f"{work}/image-Kernel.json"))["id"]
initrd = json.load(open(f"{work}/image-Initrd.json"))["id"]
for m in call("GET", "/machine?show_all=true"):
    call("PUT", f"/machine/{m['id']}", {"netboot_enabled": True, "kernel_id": kernel, "initrd_id": initrd,
         "kernel_opts": "console=ttyAMA0,115200 ip=dhcp auto=true priority=critical"})
PY
}
start() { # server
  local s=$1
  case $s in
    ours)
      ADDR[$s]=127.0.0.1:6969
      MRP_DATA_DIR=$OURS_DATA MRP_LISTEN=127.0.0.1:6968 MRP_TFTP_LISTEN=${ADDR[$s]} MRP_LOG_LEVEL=warn \
        nice -n "$NICE" "$BIN" serve >"$WORK/ours.log" 2>&1 &
      ;;
    tftpd-hpa)
      ADDR[$s]=127.0.0.1:6970
      nice -n "$NICE" in.tftpd -L -s -a "${ADDR[$s]}" "$ROOT" >"$WORK/$s.log" 2>&1 &
      ;;
    dnsmasq)
      ADDR[$s]=127.0.0.3:69
      nice -n "$NICE" dnsmasq -k --port=0 --enable-tftp --tftp-root="$ROOT" --listen-address=127.0.0.3 \
        --bind-interfaces --tftp-max=2000 --quiet-tftp --pid-file="$WORK/dnsmasq.pid" \
        --log-facility="$WORK/$s.log" >/dev/null 2>&1 &
      ;;
    atftpd)
      ADDR[$s]=127.0.0.1:6971
      nice -n "$NICE" "$ATFTPD" --daemon --no-fork --port 6971 --bind-address 127.0.0.1 --maxthread 2000 \
        --verbose=3 --logfile "$WORK/$s.log" "$ROOT" >/dev/null 2>&1 &
      ;;
  esac
  PID[$s]=$!
  if ! wait_listening "${ADDR[$s]}" "${PID[$s]}"; then
    log "$s did not listen on ${ADDR[$s]}: $(tail -n 3 "$WORK/$s.log" 2>/dev/null | tr '\n' ' ')"
    kill "${PID[$s]}" 2>/dev/null || true
    unset "PID[$s]"
    return 1
  fi
}
# A server's CPU time is counted by `perf stat` attached to it for the measurement: it counts
# every thread and every child forked meanwhile (tftpd-hpa forks one per transfer and does not
# reap them, so /proc's cutime misses them).
perf_start() { # pid
  rm -f "$WORK/perf.out"
  perf stat -e task-clock -x, -o "$WORK/perf.out" -p "$1" >/dev/null 2>&1 &
  PERF=$!
  for _ in $(seq 50); do  # until perf has its counters open
    ls -l "/proc/$PERF/fd" 2>/dev/null | grep -q perf_event && break
    sleep 0.05
  done
  sleep 0.05
}
perf_stop() { # -> CPU seconds
  kill -INT "$PERF" 2>/dev/null || true
  wait "$PERF" 2>/dev/null || true
  awk -F, '$3 == "task-clock" { printf "%.2f", $1 / 1000; found = 1 } END { if (!found) print "null" }' "$WORK/perf.out"
}
vm() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; } # pid VmRSS|VmHWM, in kB
# Percent of the 2 CPUs busy over one second.
busy() {
  local a b
  a=($(head -n 1 /proc/stat)); sleep 1; b=($(head -n 1 /proc/stat))
  local idle=$(( b[4] + b[5] - a[4] - a[5] )) total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
wait_quiet() {
  local b
  for _ in $(seq 3); do
    b=$(busy)
    [ "$b" -lt "$QUIET_BUSY" ] && break
  done
  echo "$b"
}

# One measurement: the load generator's JSON plus scenario, server, run, server CPU and busy.
measure() { # scenario server run load-args...
  local scenario=$1 s=$2 run=$3; shift 3
  local quiet out cpu stat0 stat1
  quiet=$(wait_quiet)
  perf_start "${PID[$s]}"
  stat0=$(head -n 1 /proc/stat)
  out=$(nice -n "$NICE" "$LOAD" --server "${ADDR[$s]}" --timeout-ms "$TIMEOUT_MS" "$@")
  stat1=$(head -n 1 /proc/stat)
  cpu=$(perf_stop)
  python3 -c 'import json,sys
r = json.loads(sys.argv[1])
busy = lambda line: sum(map(int, line.split()[1:9])) - sum(map(int, line.split()[4:6]))
machine = (busy(sys.argv[8]) - busy(sys.argv[7])) / 100
server = json.loads(sys.argv[5])
r.update(scenario=sys.argv[2], name=sys.argv[3], run=int(sys.argv[4]), server_cpu_s=server,
         busy_before=int(sys.argv[6]), machine_cpu_s=machine,
         others_cpu_s=round(machine - r["client_cpu_s"] - (server or 0), 2))
r.update(server_hwm_kb=int(sys.argv[9]), server_threads=int(sys.argv[10]))
print(json.dumps(r))' "$out" "$scenario" "$s" "$run" "$cpu" "$quiet" "$stat0" "$stat1" \
    "$(vm "${PID[$s]}" VmHWM)" "$(vm "${PID[$s]}" Threads)" | tee -a "$RESULTS"
  log "$scenario $s run $run: $(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("%.2f s, %.1f MB/s, %d failures, %d retransmits" % (r["seconds"], r["mb_per_s"], r["failures"], r["retransmits"]))' "$out")"
}

# --- start ----------------------------------------------------------------------------------
: > "$RESULTS"
UP=()
for s in $SERVERS; do
  if [ "$s" = ours ]; then
    setup_ours
    if ! start ours; then
      log "our server has no TFTP server in this build (nothing listens on MRP_TFTP_LISTEN): skipped"
      echo '{"scenario":"skipped","name":"ours"}' >> "$RESULTS"
      continue
    fi
    echo "{\"scenario\":\"idle\",\"name\":\"ours\",\"rss_kb\":$(vm "${PID[ours]}" VmRSS)}" >> "$RESULTS"
    configs=local-boot
    if [ "$NETBOOT" = 1 ]; then
      if netboot_ours; then configs=netboot; else log "netboot setup failed: local-boot configs"; fi
    fi
    echo "{\"scenario\":\"ours-configs\",\"kind\":\"$configs\"}" >> "$RESULTS"
  else
    start "$s" || continue
  fi
  UP+=("$s")
done
log "serving: ${UP[*]}"

# 1. One 64 MiB file (and first what each server grants: the largest block, a window of 16).
[ "$RMEM" != 0 ] && echo "$RMEM" > /proc/sys/net/core/rmem_default
for s in "${UP[@]}"; do
  measure caps-blksize "$s" 0 --file storm.bin --size 2621440 --sha256 "$STORM_SHA" --blksize 65464 >/dev/null
  measure caps-windowsize "$s" 0 --file storm.bin --size 2621440 --sha256 "$STORM_SHA" --blksize 1468 --windowsize 16 >/dev/null
done
granted_ws() { # server -> the windowsize granted when 16 was asked
  python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["scenario"] == "caps-windowsize" and r["name"] == sys.argv[2]: print(r["negotiated"]["windowsize"] or 1)' "$RESULTS" "$1"
}
for run in $(seq "$RUNS"); do
  for bs in 512 1468 8192; do
    for ws in 1 16; do
      for s in "${UP[@]}"; do
        [ "$ws" -gt 1 ] && [ "$(granted_ws "$s")" -lt "$ws" ] && continue
        measure single "$s" "$run" --file big.bin --size $((64 << 20)) --sha256 "$BIG_SHA" \
          --blksize "$bs" --windowsize "$ws" --blocking >/dev/null
      done
    done
  done
done
echo "$OLD_RMEM" > /proc/sys/net/core/rmem_default

# 2. Storm: 64 x 2.5 MiB at once.
for run in $(seq "$RUNS"); do
  for s in "${UP[@]}"; do
    measure storm "$s" "$run" --file storm.bin --size 2621440 --sha256 "$STORM_SHA" --count 64 \
      --blksize 1468 --blocking >/dev/null
  done
done

# 3. 1,000 config fetches at once, then the sustained rate.
manifests() { # server -> "label manifest" pairs
  if [ "$1" = ours ]; then
    echo "rendered $WORK/configs-rendered.tsv"
    echo "static $WORK/configs-static.tsv"
  else
    echo "static $WORK/configs-peers.tsv"
  fi
}
for run in $(seq "$RUNS"); do
  for s in "${UP[@]}"; do
    while read -r label manifest; do
      measure "configs-$label" "$s" "$run" --manifest "$manifest" --blksize 1468 >/dev/null
      measure "sustained-$label" "$s" "$run" --manifest "$manifest" --repeat 20 --concurrency 64 \
        --blksize 1468 >/dev/null
    done < <(manifests "$s")
  done
done

# The real atftp and curl clients, one run each, for comparison with the load generator.
for s in "${UP[@]}"; do
  host=${ADDR[$s]%:*} port=${ADDR[$s]##*:}
  t0=$(date +%s.%N)
  nice -n "$NICE" atftp --option "blksize 1468" -g -r big.bin -l "$WORK/atftp.out" "$host" "$port" >/dev/null 2>&1 || true
  t1=$(date +%s.%N)
  nice -n "$NICE" curl -s --tftp-blksize 1468 -o "$WORK/curl.out" "tftp://$host:$port/big.bin" || true
  t2=$(date +%s.%N)
  python3 -c 'import json,sys,os
size = lambda p: os.path.getsize(p) if os.path.exists(p) else 0
print(json.dumps(dict(scenario="real-clients", name=sys.argv[1],
      atftp_s=float(sys.argv[3]) - float(sys.argv[2]), atftp_ok=size(sys.argv[5]) == 64 << 20,
      curl_s=float(sys.argv[4]) - float(sys.argv[3]), curl_ok=size(sys.argv[6]) == 64 << 20)))' \
    "$s" "$t0" "$t1" "$t2" "$WORK/atftp.out" "$WORK/curl.out" >> "$RESULTS"
  rm -f "$WORK/atftp.out" "$WORK/curl.out"
  # The storm with 64 real atftp clients.
  pids=()
  t0=$(date +%s.%N)
  for i in $(seq 64); do
    nice -n "$NICE" atftp --option "blksize 1468" -g -r storm.bin -l "$WORK/storm.$i" "$host" "$port" >/dev/null 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  t1=$(date +%s.%N)
  complete=$(find "$WORK" -maxdepth 1 -name 'storm.*' -size 2560k | wc -l)
  echo "{\"scenario\":\"real-storm\",\"name\":\"$s\",\"seconds\":$(echo "$t1 - $t0" | bc),\"complete\":$complete}" >> "$RESULTS"
  rm -f "$WORK"/storm.*
done
if [ -n "${PID[ours]:-}" ]; then
  curl -s -o "$WORK/one.cfg" "tftp://${ADDR[ours]}/pxelinux.cfg/01-52-54-00-00-00-05" || true
  python3 -c 'import json,sys; print(json.dumps(dict(scenario="sample", name="ours", config=open(sys.argv[1]).read())))' \
    "$WORK/one.cfg" >> "$RESULTS" 2>/dev/null || true
fi

# Peak memory, then stop.
for s in "${UP[@]}"; do
  echo "{\"scenario\":\"memory\",\"name\":\"$s\",\"hwm_kb\":$(vm "${PID[$s]}" VmHWM),\"rss_kb\":$(vm "${PID[$s]}" VmRSS)}" >> "$RESULTS"
  kill "${PID[$s]}" 2>/dev/null || true
done

# --- report -------------------------------------------------------------------------------
{
  echo "{\"scenario\":\"machine\",\"nproc\":$(nproc),\"cpu\":\"$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)\"}"
  python3 -c 'import json,sys; print(json.dumps(dict(scenario="versions", versions=dict(zip(sys.argv[1::2], sys.argv[2::2])))))' \
    ours "$(git describe --always --dirty 2>/dev/null)" \
    tftpd-hpa "$(in.tftpd -V 2>&1 | head -n 1)" \
    dnsmasq "$(dnsmasq --version | head -n 1 | awk '{print $3}')" \
    atftpd "$("$ATFTPD" -V 2>&1 | head -n 1)"
  for bs in 512 1468 8192; do
    echo "{\"scenario\":\"floor\",\"result\":$("$LOAD" --floor 50000 --blksize $bs)}"
  done
} >> "$RESULTS"
python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = lambda sc: [r for r in rows if r.get("scenario") == sc]
one = lambda sc: (by(sc) or [{}])[0]
names = [n for n in ["ours", "tftpd-hpa", "dnsmasq", "atftpd"]
         if any(r.get("name") == n and r["scenario"] == "caps-blksize" for r in rows)]
med = lambda xs: statistics.median(xs) if xs else None
def pick(sc, name, **kw):
    return [r for r in by(sc) if r.get("name") == name
            and all(r["asked"][k] == v for k, v in kw.items())]
def cpu(rs):
    xs = [r["server_cpu_s"] for r in rs if r.get("server_cpu_s") is not None]
    return f"{med(xs):.2f} s" if xs else "?"
def fails(rs):
    f = sum(r["failures"] for r in rs)
    return f" **{f} failed**" if f else ""

m, v = one("machine"), one("versions").get("versions", {})
print(f"Machine: {m.get('nproc')} CPUs, {m.get('cpu')}. Versions: " +
      "; ".join(f"{k} {v.get(k, '')}" for k in ["ours", "tftpd-hpa", "dnsmasq", "atftpd"]) + ".")
if any(r.get("scenario") == "skipped" for r in rows):
    print("\n**Our server was not measured: this build has no TFTP server.**")
print("\n### What each server grants (asked: blksize 65464; windowsize 16 with blksize 1468)\n")
print("| server | blksize granted | windowsize granted |\n|---|---:|---:|")
for n in names:
    b = [r for r in by("caps-blksize") if r["name"] == n][0]
    w = [r for r in by("caps-windowsize") if r["name"] == n][0]
    print(f"| {n} | {b['negotiated']['blksize']}{fails([b])} | {w['negotiated']['windowsize']}{fails([w])} |")

floor = {r["result"]["blksize"]: r["result"]["us_per_round_trip"] for r in by("floor")}
print("\n### One 64 MiB file: MB/s (seconds; best run), median of", max([r["run"] for r in by("single")] or [0]), "runs\n")
print("| blksize | windowsize | round-trip floor | " + " | ".join(names) + " |")
print("|---:|---:|---:|" + "---:|" * len(names))
single = {}
for bs in (512, 1468, 8192):
    for ws in (1, 16):
        f = floor.get(bs)
        fl = f"{(64 << 20) / bs * f / 1e6:.2f} s ({f:.1f} µs/block)" if f and ws == 1 else ""
        cells = []
        for n in names:
            rs = pick("single", n, blksize=bs, windowsize=ws)
            if not rs:
                cells.append("— (no windowsize)" if ws > 1 else "—"); continue
            s = med([r["seconds"] for r in rs]); single[(n, bs, ws)] = s
            got = rs[0]["negotiated"]["blksize"]
            note = f" [blksize {got}]" if got != bs else ""
            rt = sum(r["retransmits"] for r in rs)
            best = min(r["seconds"] for r in rs)
            cells.append(f"{(64 << 20) / s / 1e6:.1f} ({s:.2f} s, best {best:.2f}){note}" + (f", {rt} retransmits" if rt else "") + fails(rs))
        print(f"| {bs} | {ws} | {fl} | " + " | ".join(cells) + " |")

others = [r.get("others_cpu_s", 0) / r["seconds"] for r in by("single")]
if others:
    print(f"\nOther processes on the machine used a median {100 * med(others) / 2:.0f} % "
          f"(at most {100 * max(others) / 2:.0f} %) of the 2 CPUs during these runs.")

print("\n### Storm: 64 transfers of 2.5 MiB at once (blksize 1468, windowsize 1), median\n")
print("| server | total time | MB/s | retransmits | server CPU | client CPU (tftp_load) | other processes' CPU |")
print("|---|---:|---:|---:|---:|---:|---:|")
storm = {}
for n in names:
    rs = [r for r in by("storm") if r["name"] == n]
    if not rs: continue
    s = med([r["seconds"] for r in rs]); storm[n] = s
    print(f"| {n} | {s:.2f} s{fails(rs)} | {med([r['mb_per_s'] for r in rs]):.1f} | "
          f"{med([r['retransmits'] for r in rs]):.0f} | {cpu(rs)} | "
          f"{med([r['client_cpu_s'] for r in rs]):.2f} s | {med([r.get('others_cpu_s', 0) for r in rs]):.2f} s |")

print("\n### 1,000 config fetches at once (tsize, blksize 1468), and the sustained rate, median\n")
print("| server | configs | all 1,000 done | p50 | p99 | retransmits | UDP drops | server CPU | sustained (20,000 at concurrency 64) |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
cfg = {}
for n in names:
    for label in ("rendered", "static"):
        rs = [r for r in by("configs-" + label) if r["name"] == n]
        ss = [r for r in by("sustained-" + label) if r["name"] == n]
        if not rs: continue
        s = med([r["seconds"] for r in rs]); cfg[(n, label)] = s
        rate = med([r["transfers_per_s"] for r in ss]) if ss else None
        what = "rendered from the database" if label == "rendered" else "static files"
        print(f"| {n} | {what} | {s * 1000:.0f} ms{fails(rs)} | {med([r['latency_ms']['p50'] for r in rs]):.1f} ms | "
              f"{med([r['latency_ms']['p99'] for r in rs]):.0f} ms | {med([r['retransmits'] for r in rs]):.0f} | "
              f"{med([r['udp']['rcvbuf_drops'] for r in rs]):.0f} | {cpu(rs)} | "
              + (f"{rate:,.0f} configs/s{fails(ss)}" if rate else "") + " |")

print("\n### The real atftp and curl clients (one 64 MiB file, blksize 1468, one run)\n")
print("| server | tftp_load (median) | atftp | curl |\n|---|---:|---:|---:|")
for r in by("real-clients"):
    n = r["name"]; s = single.get((n, 1468, 1))
    ok = lambda k: f"{r[k + '_s']:.2f} s" + ("" if r[k + "_ok"] else " (incomplete)")
    print(f"| {n} | {s:.2f} s | {ok('atftp')} | {ok('curl')} |" if s else f"| {n} | | {ok('atftp')} | {ok('curl')} |")

rs = by("real-storm")
if rs:
    print("\n64 atftp processes at once (the storm, one run): " + ", ".join(
        f"{r['name']} {r['seconds']:.2f} s ({r['complete']}/64 complete)" for r in rs) + ".")

print("\n### Memory (VmHWM: peak resident set of the server's main process)\n")
print("| server | idle RSS | peak RSS |\n|---|---:|---:|")
idle = one("idle")
for r in by("memory"):
    i = f"{idle['rss_kb'] / 1024:.1f} MiB" if r["name"] == "ours" and idle else ""
    print(f"| {r['name']} | {i} | {r['hwm_kb'] / 1024:.1f} MiB |")

if "ours" in names:
    def verdict(ok): return "met" if ok else "**not met**"
    print("\n### Targets\n\n| target | measured | |\n|---|---|---|")
    for bs in (512, 1468, 8192):
        if ("ours", bs, 1) in single and floor.get(bs):
            per = single[("ours", bs, 1)] / ((64 << 20) / bs) * 1e6
            print(f"| lockstep at the round-trip floor (blksize {bs}) | {per:.1f} µs/block, floor {floor[bs]:.1f} | "
                  f"{per / floor[bs]:.2f}× the floor |")
    for peer, ws, label in (("tftpd-hpa", 1, "blksize 8192 ≤ 0.8× tftpd-hpa"), ("atftpd", 16, "windowsize 16 ≤ 0.8× atftpd")):
        a, b = single.get(("ours", 8192, ws)), single.get((peer, 8192, ws))
        if a and b:
            print(f"| {label} (time, blksize 8192) | {a:.2f} s against {b:.2f} s: {a / b:.2f}× | {verdict(a <= 0.8 * b)} |")
    peers = [storm[n] for n in ("tftpd-hpa", "dnsmasq", "atftpd") if n in storm]
    if "ours" in storm and peers:
        print(f"| storm ≤ 0.75× the best peer | {storm['ours']:.2f} s against {min(peers):.2f} s: {storm['ours'] / min(peers):.2f}× | {verdict(storm['ours'] <= 0.75 * min(peers))} |")
    if ("ours", "rendered") in cfg and ("dnsmasq", "static") in cfg:
        a, b = cfg[("ours", "rendered")], cfg[("dnsmasq", "static")]
        print(f"| 1,000 configs no slower than dnsmasq's static files | {a * 1000:.0f} ms against {b * 1000:.0f} ms | {verdict(a <= b)} |")
    ss = [r["transfers_per_s"] for r in by("sustained-rendered") if r["name"] == "ours"]
    if ss:
        print(f"| ≥ 9,000 configs/s | {med(ss):,.0f} configs/s | {verdict(med(ss) >= 9000)} |")
    mem = [r for r in by("memory") if r["name"] == "ours"]
    if mem:
        print(f"| < 200 MB RSS under load | peak {mem[0]['hwm_kb'] / 1024:.1f} MiB | {verdict(mem[0]['hwm_kb'] * 1024 < 200e6)} |")
    if idle:
        print(f"| < 50 MB RSS idle | {idle['rss_kb'] / 1024:.1f} MiB | {verdict(idle['rss_kb'] * 1024 < 50e6)} |")
sample = one("sample")
if sample.get("config"):
    print("\nOur config for machine 5 (`pxelinux.cfg/01-52-54-00-00-00-05`, %d bytes):\n\n```\n%s```" % (len(sample["config"]), sample["config"]))
PY
