#!/usr/bin/env bash
# The boot lab, left running for a newcomer: one BIOS and one UEFI guest (QEMU, TCG) with
# ipmi_sim BMCs, stock Kea and mr-provisioner serve in a network namespace of their own, the
# server's HTTP on 127.0.0.1:${MRP_DEMO_PORT:-5000}. Run as root from anywhere in a clone:
#   sudo tests/lab/demo.sh            # --install: apt-get the packages first
# It prints the URL, the administrator's password, tokens and the commands to follow a
# boot; Ctrl-C stops it and removes everything it made (namespace, processes, databases).
# It needs PostgreSQL for Kea's database (MRP_TEST_POSTGRES, default
# postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
  echo "the boot lab needs root (network namespaces and taps): run it with sudo" >&2
  exit 1
fi
if [ "${1:-}" = --install ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    qemu-system-x86 ipxe-qemu ovmf pxelinux syslinux-common grub-efi-amd64-bin grub-common \
    openipmi ipmitool kea-dhcp4-server kea-admin dnsmasq-base busybox-static socat \
    iproute2 postgresql-client util-linux
  pkill -x kea-dhcp4 2>/dev/null || true
fi
# The lab's programs live for as long as the demo runs (tests cap them at 15 minutes).
export MRP_GUARD_LIMIT_SECS=${MRP_GUARD_LIMIT_SECS:-604800}
cargo build -q -p mr-provisioner-server --bin mr-provisioner
cargo build -q -p mr-provisioner-tests --example boot-lab-demo
target_dir=$(cargo metadata -q --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
exec "$target_dir/debug/examples/boot-lab-demo"
