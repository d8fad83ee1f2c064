//! The BMC of a lab guest: an `ipmi_sim` configuration whose `chassis_control` program
//! (a bash script written here) starts and stops the guest's QEMU and honours the boot
//! device it was given.

/// The `chassis_control` program. ipmi_sim runs `PROG DIR get KEY...` (answer `KEY:VALUE`
/// lines) and `PROG DIR set KEY VALUE...`, and waits for end of file on its stdout, so QEMU
/// is started in the background with its own output. `DIR/vm.env` describes the guest.
///
/// - power 1: start QEMU (BIOS: SeaBIOS, iPXE ROM on an e1000, the text screen copied to the
///   serial port; UEFI: OVMF with its own network stack on virtio-net), booting from the
///   network when the boot device is `pxe`, else from disk; the serial port is a TCP server
///   for SOL that also logs everything to `DIR/serial.log`;
/// - power 0: SIGTERM, then SIGKILL after 5 s;
/// - reset / shutdown: `system_reset` / `system_powerdown` on QEMU's monitor socket;
/// - boot: kept in `DIR/boot` for the next start (as a BMC keeps its boot flags).
pub const CHASSIS: &str = r#"#!/bin/bash
D=$1; shift; op=$1; shift
. "$D/vm.env"
echo "$(date +%s.%N) $op $*" >> "$D/chassis.log"
alive() { [ -f "$D/qemu.pid" ] && kill -0 "$(cat "$D/qemu.pid")" 2>/dev/null; }
monitor() { printf '%s\n' "$1" | socat - "UNIX-CONNECT:$D/monitor.sock" >/dev/null 2>&1; }
start_vm() {
  boot=$(cat "$D/boot" 2>/dev/null); boot=${boot:-default}
  case "$boot" in pxe) order=n ;; *) order=c ;; esac
  if [ "$FIRMWARE" = uefi ]; then
    [ -f "$D/vars.fd" ] || cp "$OVMF_VARS" "$D/vars.fd"
    fw=(-drive "if=pflash,format=raw,readonly=on,file=$OVMF_CODE" -drive "if=pflash,format=raw,file=$D/vars.fd")
    nic=(-device "virtio-net-pci,netdev=n0,mac=$MAC,romfile=")
  else
    fw=(-device sga)
    nic=(-device "e1000,netdev=n0,mac=$MAC")
  fi
  echo "$(date +%s.%N) start boot=$boot" >> "$D/chassis.log"
  rm -f "$D/qemu.pid"
  "$QEMU" -accel tcg -m 512 -display none -daemonize -pidfile "$D/qemu.pid" \
    -name "$NAME" "${fw[@]}" -boot "$order" \
    -netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no" "${nic[@]}" \
    -chardev "socket,id=ser0,host=127.0.0.1,port=$SOLPORT,server=on,wait=off,logfile=$D/serial.log,logappend=on" \
    -serial chardev:ser0 -monitor "unix:$D/monitor.sock,server=on,wait=off" $QEMU_EXTRA \
    >> "$D/qemu.err" 2>&1 < /dev/null
}
stop_vm() {
  alive || return 0
  p=$(cat "$D/qemu.pid"); kill "$p" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null; rm -f "$D/qemu.pid"
}
case "$op" in
get)
  for k in "$@"; do
    case "$k" in
      power) if alive; then echo "power:1"; else echo "power:0"; fi ;;
      boot) b=$(cat "$D/boot" 2>/dev/null); echo "boot:${b:-default}" ;;
      *) echo "$k:0" ;;
    esac
  done ;;
set)
  while [ $# -ge 2 ]; do
    k=$1; v=$2; shift 2
    case "$k" in
      power) if [ "$v" = 1 ]; then alive || start_vm; else stop_vm; fi ;;
      boot) echo "$v" > "$D/boot" ;;
      reset) if alive; then monitor system_reset; else start_vm; fi ;;
      shutdown) alive && monitor system_powerdown ;;
      identify) echo "$v" > "$D/identify" ;;
    esac
  done ;;
esac
exit 0
"#;

/// The emulated management controller (one BMC at 0x20).
pub const EMU: &str = "mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
sel_enable 0x20 1000 0x0a
mc_enable 0x20
";

/// The BMC's `lan.conf`: RMCP+ on 127.0.0.1:`port` (of the lab's namespace), the user
/// `admin`/[`BMC_PASSWORD`], the chassis program for `dir`, SOL to QEMU's serial port.
pub fn lan_conf(name: &str, port: u16, chassis: &str, dir: &str, sol_port: u16) -> String {
    format!(
        r#"name "{name}"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 {port}
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "{chassis} {dir}"
  sol "tcp:127.0.0.1:{sol_port}" 115200 history=4000
  user 2 true "admin" "{BMC_PASSWORD}" admin 10 none md2 md5 straight
"#
    )
}

/// The password of every lab BMC's `admin` user.
pub const BMC_PASSWORD: &str = "lab-bmc-secret";
