#!/usr/bin/env python3
"""Writes an inventory of N machines (one interface each, on one network) to stdout, for the
benchmarks: `gen-inventory.py 10000 > inv.toml`. The first 100 machines are assigned to the
user `bench`. With BOOTLOADER=<file name of a bootloader image>, the subarch names it (so the
machines can be set to netboot)."""
import os
import sys

n = int(sys.argv[1])
loader = os.environ.get("BOOTLOADER")
sub = f'{{ name = "efi", efiboot = true, bootloader = "{loader}" }}' if loader else '{ name = "efi", efiboot = true }'
out = ['[[arch]]', 'name = "arm64"', f'subarch = [{sub}]', '',
       '[[bmc]]', 'name = "sim"', 'address = "127.0.0.1"', 'type = "sim"', '',
       '[[network]]', 'name = "lab"', 'subnet = "10.0.0.0/8"', '',
       '[[user]]', 'username = "bench"', 'admin = true', '']
for i in range(n):
    mac = "52:54:%02x:%02x:%02x:%02x" % ((i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255)
    out += ['[[machine]]', f'name = "m{i:05d}"', 'arch = "arm64"', 'subarch = "efi"', 'bmc = "sim"',
            f'interface = [{{ mac = "{mac}", identifier = "eth0", network = "lab" }}]', '']
for i in range(min(100, n)):
    out += ['[[assignment]]', f'machine = "m{i:05d}"', 'user = "bench"', 'reason = "bench"', '']
print("\n".join(out))
