//! What the lab's guests boot: a Debian kernel (taken from its package, not installed), a
//! busybox initramfs written here, pxelinux from Debian's syslinux packages and a GRUB EFI
//! image made with `grub-mkimage`. Built once into a cache directory and reused.
//!
//! The initramfs's `/init` prints [`MARKER`] with its kernel command line, loads the NIC
//! drivers (Debian builds them as modules), takes a DHCP lease, fetches the installer config
//! named by `url=` on its command line (what our preseed kernel options carry), prints it
//! between [`PRESEED_BEGIN`] and [`PRESEED_END`], and powers the machine off.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::dhcp_lab::{locate, run_bounded};

/// The line the guest prints once its kernel runs our initramfs (followed by the kernel
/// release and `cmdline=<the whole kernel command line>`).
pub const MARKER: &str = "MRP-LAB-MARKER: booted";
/// The line before the installer config the guest fetched (followed by its URL).
pub const PRESEED_BEGIN: &str = "MRP-LAB-PRESEED-BEGIN";
/// The line after it (followed by `rc=<wget's exit status>`).
pub const PRESEED_END: &str = "MRP-LAB-PRESEED-END";
/// The line the guest prints just before it powers off.
pub const POWEROFF: &str = "MRP-LAB-POWEROFF";

/// The NIC driver modules, in load order (dependencies first): e1000 for the BIOS guests,
/// virtio-net for the UEFI ones.
const MODULES: &[&str] = &[
    "kernel/drivers/net/ethernet/intel/e1000/e1000.ko",
    "kernel/drivers/virtio/virtio.ko",
    "kernel/drivers/virtio/virtio_ring.ko",
    "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
    "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
    "kernel/drivers/virtio/virtio_pci.ko",
    "kernel/net/core/failover.ko",
    "kernel/drivers/net/net_failover.ko",
    "kernel/drivers/net/virtio_net.ko",
];

/// The GRUB modules built into the EFI image (network, TFTP and HTTP, Linux loader, serial;
/// `minicmd` has `exit`, which the local-boot config runs).
const GRUB_MODULES: &[&str] = &[
    "efinet",
    "tftp",
    "http",
    "net",
    "normal",
    "linux",
    "configfile",
    "echo",
    "test",
    "sleep",
    "serial",
    "terminal",
    "efi_gop",
    "all_video",
    "gzio",
    "part_gpt",
    "fat",
    "ls",
    "cat",
    "search",
    "tr",
    "minicmd",
];

/// `/init` of the initramfs (busybox sh).
const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "MRP-LAB-MARKER: booted $(/bin/busybox uname -r) cmdline=$(/bin/busybox cat /proc/cmdline)"
/bin/busybox --install -s /bin
export PATH=/bin
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
while read -r m; do insmod "/modules/$m" 2>/dev/null; done < /modules/order
ip link set lo up
url=
for w in $(cat /proc/cmdline); do
  case "$w" in url=*) url=${w#url=} ;; esac
done
iface=
for i in 1 2 3 4 5 6 7 8 9 10; do
  for d in /sys/class/net/*; do
    n=${d##*/}
    [ "$n" = lo ] || { iface=$n; break; }
  done
  [ -n "$iface" ] && break
  sleep 0.2
done
if [ -n "$iface" ] && [ -n "$url" ]; then
  ip link set "$iface" up
  udhcpc -i "$iface" -s /udhcpc.sh -q -n -t 5 -T 2 >/dev/null 2>&1
  echo "MRP-LAB-PRESEED-BEGIN $url"
  timeout 30 wget -q -O - "$url"
  echo "MRP-LAB-PRESEED-END rc=$?"
else
  echo "MRP-LAB-NO-PRESEED iface=$iface url=$url"
fi
echo "MRP-LAB-POWEROFF"
poweroff -f
"#;

/// udhcpc's script in the initramfs: configure the address it got.
const UDHCPC: &str = r#"#!/bin/sh
case "$1" in
  bound|renew) ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up ;;
esac
exit 0
"#;

/// The files a guest boots, all in one cache directory.
#[derive(Debug, Clone)]
pub struct Artifacts {
    /// The Debian kernel (`vmlinuz-<release>`).
    pub kernel: PathBuf,
    /// Its release (`6.1.0-57-amd64`).
    pub release: String,
    /// The initramfs (a gzip-compressed newc cpio archive).
    pub initrd: PathBuf,
    /// pxelinux's first stage, from Debian's `pxelinux` package.
    pub pxelinux: PathBuf,
    /// Its core module, which pxelinux fetches from beside itself.
    pub ldlinux: PathBuf,
    /// A monolithic GRUB EFI image whose prefix is `(tftp)/grub`.
    pub grub_tftp: PathBuf,
}

/// Runs `cmd` (at most `limit`), panicking with its output unless it succeeds.
fn run(cmd: &mut Command, limit: Duration) {
    let what = format!("{cmd:?}");
    let out = run_bounded(cmd, limit);
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn program(name: &str) -> PathBuf {
    locate(name).unwrap_or_else(|| panic!("{name} is not installed (see docs/development.md)"))
}

/// Makes a monolithic GRUB EFI image at `out` whose prefix is `prefix` (where it reads its
/// config and from which `$root` is set), with the network, TFTP and HTTP modules.
pub fn grub_image(out: &Path, prefix: &str) {
    run(
        Command::new(program("grub-mkimage"))
            .args(["-O", "x86_64-efi", "-o"])
            .arg(out)
            .args(["-p", prefix])
            .args(GRUB_MODULES),
        Duration::from_secs(60),
    );
}

/// The newest `linux-image-<release>` that `linux-image-amd64` depends on.
fn kernel_package() -> String {
    let out = run_bounded(
        Command::new(program("apt-cache")).args(["depends", "linux-image-amd64"]),
        Duration::from_secs(60),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| {
            p.starts_with("linux-image-")
                && p.as_bytes().get(12).is_some_and(|b| b.is_ascii_digit())
        })
        .map(str::to_string)
        .unwrap_or_else(|| {
            panic!(
                "apt-cache names no kernel package for linux-image-amd64 (run apt-get update): {text}"
            )
        })
}

impl Artifacts {
    /// The artifacts in `cache`, built there first when missing (a kernel download of about
    /// 70 MB the first time; seconds afterwards).
    pub fn prepare(cache: &Path) -> Artifacts {
        std::fs::create_dir_all(cache).expect("create the lab cache");
        let kernel_dir = cache.join("kernel");
        let release_file = kernel_dir.join("release");
        if !release_file.is_file() {
            Self::fetch_kernel(cache, &kernel_dir);
        }
        let release = std::fs::read_to_string(&release_file)
            .expect("kernel release")
            .trim()
            .to_string();
        let kernel = kernel_dir.join(format!("boot/vmlinuz-{release}"));
        assert!(kernel.is_file(), "{} is missing", kernel.display());

        // Compressed (as Debian's are): GRUB fetches it over TFTP in 1 KiB blocks.
        let cpio = cache.join("initrd.cpio");
        let modules = kernel_dir.join(format!("lib/modules/{release}"));
        std::fs::write(&cpio, initramfs(&modules)).expect("write the initramfs");
        run(
            Command::new(program("gzip"))
                .args(["-9", "-f", "-n"])
                .arg(&cpio),
            Duration::from_secs(60),
        );
        let initrd = cache.join("initrd.cpio.gz");

        let pxelinux = PathBuf::from("/usr/lib/PXELINUX/pxelinux.0");
        let ldlinux = PathBuf::from("/usr/lib/syslinux/modules/bios/ldlinux.c32");
        for f in [&pxelinux, &ldlinux] {
            assert!(
                f.is_file(),
                "{} is missing (packages pxelinux, syslinux-common)",
                f.display()
            );
        }
        // Named after what it is made of, so a change of modules makes a new one.
        let recipe = format!("(tftp)/grub {}", GRUB_MODULES.join(" "));
        let digest = recipe.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let grub_tftp = cache.join(format!("grubx64-tftp-{digest:016x}.efi"));
        if !grub_tftp.is_file() {
            let part = grub_tftp.with_extension("part");
            grub_image(&part, "(tftp)/grub");
            std::fs::rename(&part, &grub_tftp).expect("publish the GRUB image");
        }
        Artifacts {
            kernel,
            release,
            initrd,
            pxelinux,
            ldlinux,
            grub_tftp,
        }
    }

    /// `apt-get download` of the kernel package, and its kernel and NIC modules unpacked
    /// into `dir` (then `dir/release` written last, so a half-done fetch is done again).
    fn fetch_kernel(cache: &Path, dir: &Path) {
        let package = kernel_package();
        let download = cache.join("download");
        let _ = std::fs::remove_dir_all(&download);
        std::fs::create_dir_all(&download).expect("create the download directory");
        run(
            Command::new(program("apt-get"))
                .args(["download", &package])
                .current_dir(&download),
            Duration::from_secs(300),
        );
        let deb = std::fs::read_dir(&download)
            .expect("read the download directory")
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .unwrap_or_else(|| panic!("apt-get download {package} left no .deb"));
        let release = package.trim_start_matches("linux-image-").to_string();
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).expect("create the kernel directory");
        let mut members = vec![format!("./boot/vmlinuz-{release}")];
        members.extend(
            MODULES
                .iter()
                .map(|m| format!("./lib/modules/{release}/{m}")),
        );
        let script = format!(
            "dpkg-deb --fsys-tarfile \"$1\" | tar -x -C \"$2\" {}",
            members.join(" ")
        );
        run(
            Command::new(program("bash"))
                .args(["-o", "pipefail", "-c", &script, "fetch"])
                .arg(&deb)
                .arg(dir),
            Duration::from_secs(120),
        );
        std::fs::write(dir.join("release"), &release).expect("write the kernel release");
        let _ = std::fs::remove_dir_all(&download);
    }
}

/// The initramfs: busybox, `/init`, the udhcpc script and the NIC modules of `modules`
/// (`lib/modules/<release>`), as a newc cpio archive.
fn initramfs(modules: &Path) -> Vec<u8> {
    let busybox = std::fs::read(program("busybox")).expect("read busybox");
    assert!(
        busybox.len() > 1_000_000,
        "busybox looks dynamically linked; install busybox-static"
    );
    let mut cpio = Cpio::default();
    for dir in ["bin", "dev", "proc", "sys", "modules"] {
        cpio.dir(dir);
    }
    cpio.file("bin/busybox", 0o755, &busybox);
    cpio.file("init", 0o755, INIT.as_bytes());
    cpio.file("udhcpc.sh", 0o755, UDHCPC.as_bytes());
    let mut order = String::new();
    for m in MODULES {
        let name = m.rsplit('/').next().expect("module name");
        let bytes = std::fs::read(modules.join(m))
            .unwrap_or_else(|e| panic!("module {m} of the kernel package: {e}"));
        cpio.file(&format!("modules/{name}"), 0o644, &bytes);
        order.push_str(name);
        order.push('\n');
    }
    cpio.file("modules/order", 0o644, order.as_bytes());
    cpio.finish()
}

/// A writer of the "new ASCII" (newc) cpio format the kernel unpacks into its rootfs.
#[derive(Default)]
struct Cpio {
    out: Vec<u8>,
    ino: u32,
}

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.ino += 1;
        let fields = [
            self.ino,
            mode,
            0,
            0,
            1,
            0,
            u32::try_from(data.len()).expect("cpio member under 4 GiB"),
            0,
            0,
            0,
            0,
            u32::try_from(name.len() + 1).expect("name length"),
            0,
        ];
        self.out.extend_from_slice(b"070701");
        for f in fields {
            self.out.extend_from_slice(format!("{f:08X}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }

    fn dir(&mut self, name: &str) {
        self.entry(name, 0o040_755, &[]);
    }

    fn file(&mut self, name: &str, perm: u32, data: &[u8]) {
        self.entry(name, 0o100_000 | perm, data);
    }

    fn finish(mut self) -> Vec<u8> {
        self.ino = 0;
        self.entry("TRAILER!!!", 0, &[]);
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::Cpio;

    #[test]
    fn cpio_newc_layout() {
        let mut c = Cpio::default();
        c.file("init", 0o755, b"abc");
        let out = c.finish();
        // Header (110 bytes), "init\0" padded to 4 with the header, "abc" padded, trailer.
        assert_eq!(&out[..6], b"070701");
        assert_eq!(&out[6..14], b"00000001");
        assert_eq!(&out[14..22], b"000081ED");
        assert_eq!(&out[54..62], b"00000003");
        assert_eq!(&out[110..115], b"init\0");
        assert_eq!(out.len() % 4, 0);
        assert_eq!(&out[116..119], b"abc");
        let trailer = out
            .windows(10)
            .position(|w| w == b"TRAILER!!!")
            .expect("trailer");
        assert!(trailer > 119);
    }
}
