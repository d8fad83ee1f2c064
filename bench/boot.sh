#!/usr/bin/env bash
# Step times of real network boots through mr-provisioner: the boot lab's BIOS and UEFI
# scenarios (tests/tests/lab), each run alone (one guest on the machine at a time), N times.
# Prints, per run, the scenario's own lines: power-on answered, marker, powered off, and the
# steps after power-on read from the machine's events (DHCP lease as Kea dated it, to the
# second; bootloader; config; kernel; initrd). As root, with the lab's packages
# (docs/development.md). Compare with LAB.md's dnsmasq rig: marker at 9.1-9.5 s (BIOS) and
# 13.5-14.4 s (UEFI) after power-on.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-3}
export MRP_TEST_POSTGRES=${MRP_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}
cargo build -q -p mr-provisioner-server --bin mr-provisioner
cargo test -q -p mr-provisioner-tests --test lab --no-run
uptime
for i in $(seq 1 "$N"); do
  for s in bios_pxe_boot uefi_pxe_boot; do
    echo "== run $i: $s"
    cargo test -q -p mr-provisioner-tests --test lab "scenarios::$s" -- --exact --nocapture 2>&1 |
      grep -E '^\[|test result' || true
  done
done
uptime
