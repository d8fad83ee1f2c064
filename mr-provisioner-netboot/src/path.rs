//! Safe paths under a served root: names from the network made into relative paths that
//! cannot leave the root, and opening them without following a symlink out of it.
//!
//! ```
//! use mr_provisioner_netboot::path::normalise;
//!
//! assert_eq!(normalise("/grub//./grub.cfg").unwrap().as_str(), "grub/grub.cfg");
//! assert!(normalise("../etc/passwd").is_err());
//! ```

use std::fmt;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The longest name [`normalise`] accepts, in bytes (Linux's `PATH_MAX`).
pub const MAX_PATH_LEN: usize = 4096;

/// A normalised path relative to a root: `/`-separated, not empty, without empty, `.` or
/// `..` components, backslashes or control characters.
///
/// Made only by [`normalise`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SafePath(String);

impl SafePath {
    /// The path, e.g. `grub/grub.cfg`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its components, in order.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl fmt::Display for SafePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SafePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl AsRef<str> for SafePath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Why a name is not a safe path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Nothing left once leading slashes, empty and `.` components are removed.
    #[error("the file name is empty")]
    Empty,
    /// A `..` component.
    #[error("the file name has a '..' component")]
    ParentComponent,
    /// A backslash (a Windows-style separator, refused rather than guessed at).
    #[error("the file name has a backslash")]
    Backslash,
    /// NUL or another control character.
    #[error("the file name has a control character (U+{0:04X})")]
    ControlCharacter(u32),
    /// Longer than [`MAX_PATH_LEN`].
    #[error("the file name is longer than {MAX_PATH_LEN} bytes")]
    TooLong,
}

/// Makes a name received from the network into a [`SafePath`].
///
/// Every leading `/` is stripped (GRUB asks for `/grub/grub.cfg-01-…`), `a//b` and `./`
/// collapse; a `..` component, a backslash, NUL or any other control character, a name
/// longer than [`MAX_PATH_LEN`] and a name that is empty once normalised are refused.
/// Nothing is decoded: `%2e%2e` is a literal file name.
pub fn normalise(raw: &str) -> Result<SafePath, PathError> {
    if raw.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong);
    }
    if let Some(c) = raw.chars().find(|c| c.is_control()) {
        return Err(PathError::ControlCharacter(c as u32));
    }
    if raw.contains('\\') {
        return Err(PathError::Backslash);
    }
    let mut out = String::with_capacity(raw.len());
    for component in raw.split('/') {
        match component {
            "" | "." => {}
            ".." => return Err(PathError::ParentComponent),
            name => {
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(name);
            }
        }
    }
    if out.is_empty() {
        return Err(PathError::Empty);
    }
    Ok(SafePath(out))
}

/// Why [`open_beneath`] opened nothing.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// No such file (or a component of the path is not a directory, or a dangling symlink).
    #[error("file not found")]
    NotFound,
    /// The file exists but may not be served: why.
    #[error("access denied: {0}")]
    Denied(String),
    /// Another I/O error (the root missing, permissions, …).
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

/// Opens the regular file `path` under `root` for reading; returns it and its size.
///
/// Symlinks are followed only if the final target is still inside root: the target is
/// canonicalised and compared, component by component, with the canonical root.
/// Directories, devices, FIFOs, sockets and escapes are refused with
/// [`OpenError::Denied`]; a missing file (or a dangling symlink) is
/// [`OpenError::NotFound`]. The file's type is checked before it is opened (so a FIFO is
/// never opened) and the opened file is checked to be the one that was examined.
///
/// What this cannot see: someone who can write under the root and swaps a directory for a
/// symlink between the check and the open. The root is meant to be written only by the
/// provisioner's operators.
pub async fn open_beneath(
    root: &Path,
    path: &SafePath,
) -> Result<(tokio::fs::File, u64), OpenError> {
    // Every step is a blocking system call: all of them in one trip to the blocking pool
    // rather than one trip each (this is on the path of every TFTP and HTTP boot request).
    let (root, path) = (root.to_path_buf(), path.clone());
    let (file, len) = tokio::task::spawn_blocking(move || open_beneath_blocking(&root, &path))
        .await
        .map_err(|e| OpenError::Io(io::Error::other(e)))??;
    Ok((tokio::fs::File::from_std(file), len))
}

fn open_beneath_blocking(root: &Path, path: &SafePath) -> Result<(std::fs::File, u64), OpenError> {
    let canonical_root = std::fs::canonicalize(root)?;
    let joined = canonical_root.join(path.as_str());
    let target = match std::fs::canonicalize(&joined) {
        Ok(target) => target,
        Err(e) => return Err(not_found_or(e)),
    };
    if !target.starts_with(&canonical_root) {
        return Err(OpenError::Denied(format!(
            "{path} resolves outside the root"
        )));
    }
    // `canonicalize` followed every symlink, so this is the final file's own type.
    let meta = std::fs::symlink_metadata(&target).map_err(not_found_or)?;
    if !meta.file_type().is_file() {
        return Err(OpenError::Denied(format!(
            "{path} is not a regular file ({})",
            kind_of(&meta.file_type())
        )));
    }
    let file = std::fs::File::open(&target).map_err(not_found_or)?;
    let opened = file.metadata()?;
    if !opened.file_type().is_file() || opened.dev() != meta.dev() || opened.ino() != meta.ino() {
        return Err(OpenError::Denied(format!(
            "{path} changed while it was being opened"
        )));
    }
    Ok((file, opened.len()))
}

fn not_found_or(e: io::Error) -> OpenError {
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => OpenError::NotFound,
        _ => OpenError::Io(e),
    }
}

fn kind_of(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else if t.is_symlink() {
        "a symlink"
    } else {
        "not a regular file"
    }
}

/// The media type a file of the boot tree is served with over HTTP, by its name: UEFI HTTP
/// boot takes an image for an EFI executable, an ISO or a disk image only by its type
/// (`application/efi`, `application/vnd.efi-iso`, `application/vnd.efi-img`) or else by its
/// extension, and the name of an upload ends in `.<8 hex digits>` after its own extension,
/// so the extension before that suffix counts. Anything else is
/// `application/octet-stream`.
///
/// ```
/// use mr_provisioner_netboot::path::media_type;
///
/// assert_eq!(media_type("admin/grubx64.efi.bb3a7ca9"), "application/efi");
/// assert_eq!(media_type("bootx64.EFI"), "application/efi");
/// assert_eq!(media_type("admin/vmlinuz-6.1.0.0123abcd"), "application/octet-stream");
/// ```
pub fn media_type(name: &str) -> &'static str {
    let base = name.rsplit('/').next().unwrap_or(name);
    let base = match base.rsplit_once('.') {
        Some((stem, suffix))
            if suffix.len() == 8 && suffix.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            stem
        }
        _ => base,
    };
    let ext = base
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "efi" => "application/efi",
        "iso" => "application/vnd.efi-iso",
        "img" => "application/vnd.efi-img",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn media_types_by_name() {
        for (name, want) in [
            ("grubx64.efi", "application/efi"),
            ("admin/grubx64-http.efi.bb3a7ca9", "application/efi"),
            ("a/b/shimx64.EFI.0011AaBb", "application/efi"),
            ("live.iso.deadbeef", "application/vnd.efi-iso"),
            ("disk.img", "application/vnd.efi-img"),
            ("admin/pxelinux.0.cf65eb21", "application/octet-stream"),
            ("grub.efi.notahex1", "application/octet-stream"),
            ("efi", "application/octet-stream"),
            ("admin/.8cc3674e", "application/octet-stream"),
        ] {
            assert_eq!(super::media_type(name), want, "{name}");
        }
    }

    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn accepted_names() {
        let table = [
            ("vmlinuz", "vmlinuz"),
            ("/vmlinuz", "vmlinuz"),
            ("///vmlinuz", "vmlinuz"),
            (
                "/grub/grub.cfg-01-aa-bb-cc-dd-ee-ff",
                "grub/grub.cfg-01-aa-bb-cc-dd-ee-ff",
            ),
            ("a//b", "a/b"),
            ("./a/./b/.", "a/b"),
            ("a/b/", "a/b"),
            ("....//", "...."),
            ("...", "..."),
            ("..a", "..a"),
            ("a..", "a.."),
            ("%2e%2e/%2e%2e/etc/passwd", "%2e%2e/%2e%2e/etc/passwd"),
            ("%2e%2e%2fetc", "%2e%2e%2fetc"),
            (
                "pxelinux.cfg/01-52-54-00-12-34-56",
                "pxelinux.cfg/01-52-54-00-12-34-56",
            ),
            ("C:file", "C:file"),
            ("spaces in name", "spaces in name"),
            ("ünïcödé", "ünïcödé"),
            ("~root", "~root"),
        ];
        for (raw, want) in table {
            let got = normalise(raw).unwrap_or_else(|e| panic!("{raw:?} refused: {e}"));
            assert_eq!(got.as_str(), want, "{raw:?}");
            assert_eq!(got.to_string(), want);
        }
    }

    #[test]
    fn refused_names() {
        use PathError::*;
        let long = "a/".repeat(3000);
        let table: [(&str, PathError); 19] = [
            ("", Empty),
            ("/", Empty),
            ("///", Empty),
            ("./", Empty),
            ("/./.", Empty),
            ("..", ParentComponent),
            ("../etc/passwd", ParentComponent),
            ("a/../../etc/passwd", ParentComponent),
            ("a/..", ParentComponent),
            ("/../x", ParentComponent),
            ("a/../b", ParentComponent),
            ("..\\..\\x", Backslash),
            ("a\\b", Backslash),
            ("a\0b", ControlCharacter(0)),
            ("x\n", ControlCharacter(10)),
            ("\x1b[2J", ControlCharacter(0x1b)),
            ("del\x7f", ControlCharacter(0x7f)),
            ("c1\u{85}", ControlCharacter(0x85)),
            (&long, TooLong),
        ];
        for (raw, want) in table {
            assert_eq!(normalise(raw), Err(want), "{raw:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn normalised_paths_are_clean(raw in ".{0,64}") {
            if let Ok(p) = normalise(&raw) {
                let s = p.as_str();
                proptest::prop_assert!(!s.is_empty());
                proptest::prop_assert!(!s.starts_with('/'));
                for c in p.components() {
                    proptest::prop_assert!(!c.is_empty() && c != "." && c != "..", "{:?}", s);
                }
                proptest::prop_assert!(!s.chars().any(|c| c.is_control() || c == '\\'));
                // Idempotent.
                proptest::prop_assert_eq!(normalise(s).unwrap(), p.clone());
            }
        }
    }

    fn p(s: &str) -> SafePath {
        normalise(s).unwrap()
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        root: std::path::PathBuf,
        outside: std::path::PathBuf,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("file"), b"hello").unwrap();
        std::fs::write(root.join("sub/deeper/f"), b"deep").unwrap();
        std::fs::write(outside.join("secret"), b"secret").unwrap();
        symlink("file", root.join("link-in")).unwrap();
        symlink("../file", root.join("sub/link-up-inside")).unwrap();
        symlink(root.join("sub"), root.join("dirlink-in")).unwrap();
        symlink(outside.join("secret"), root.join("link-out")).unwrap();
        symlink("../outside/secret", root.join("rel-link-out")).unwrap();
        symlink(&outside, root.join("dirlink-out")).unwrap();
        symlink("nowhere", root.join("dangling")).unwrap();
        symlink("loop2", root.join("loop1")).unwrap();
        symlink("loop1", root.join("loop2")).unwrap();
        // A sibling whose name has the root's name as a prefix: a string-prefix check
        // would let it through.
        std::fs::create_dir_all(dir.path().join("root-evil")).unwrap();
        std::fs::write(dir.path().join("root-evil/x"), b"evil").unwrap();
        symlink("../root-evil/x", root.join("prefix-trick")).unwrap();
        Fixture {
            _dir: dir,
            root,
            outside,
        }
    }

    async fn read(root: &Path, name: &str) -> Result<Vec<u8>, OpenError> {
        use tokio::io::AsyncReadExt;
        let (mut f, size) = open_beneath(root, &p(name)).await?;
        let mut v = Vec::new();
        f.read_to_end(&mut v).await.unwrap();
        assert_eq!(v.len() as u64, size);
        Ok(v)
    }

    #[tokio::test]
    async fn opens_regular_files_and_symlinks_inside() {
        let fx = fixture();
        assert_eq!(read(&fx.root, "file").await.unwrap(), b"hello");
        assert_eq!(read(&fx.root, "sub/deeper/f").await.unwrap(), b"deep");
        assert_eq!(read(&fx.root, "link-in").await.unwrap(), b"hello");
        assert_eq!(
            read(&fx.root, "sub/link-up-inside").await.unwrap(),
            b"hello"
        );
        assert_eq!(
            read(&fx.root, "dirlink-in/deeper/f").await.unwrap(),
            b"deep"
        );
        // The root itself through a symlink.
        let alias = fx.root.parent().unwrap().join("alias");
        symlink(&fx.root, &alias).unwrap();
        assert_eq!(read(&alias, "link-in").await.unwrap(), b"hello");
    }

    #[tokio::test]
    async fn refuses_escapes() {
        let fx = fixture();
        for name in [
            "link-out",
            "rel-link-out",
            "dirlink-out/secret",
            "prefix-trick",
        ] {
            match read(&fx.root, name).await {
                Err(OpenError::Denied(_)) => {}
                other => panic!("{name}: {other:?}"),
            }
        }
        // Opening the outside directory as root works, proving the file is there.
        assert_eq!(read(&fx.outside, "secret").await.unwrap(), b"secret");
    }

    #[tokio::test]
    async fn refuses_directories_and_missing() {
        let fx = fixture();
        for name in ["sub", "dirlink-in", "sub/deeper"] {
            assert!(
                matches!(read(&fx.root, name).await, Err(OpenError::Denied(_))),
                "{name}"
            );
        }
        for name in ["missing", "dangling", "file/below-a-file", "sub/missing/x"] {
            assert!(
                matches!(read(&fx.root, name).await, Err(OpenError::NotFound)),
                "{name}"
            );
        }
        assert!(matches!(
            read(&fx.root, "loop1").await,
            Err(OpenError::Io(_) | OpenError::Denied(_))
        ));
        let gone = fx.root.join("no-such-root");
        assert!(matches!(read(&gone, "file").await, Err(OpenError::Io(_))));
    }

    #[tokio::test]
    async fn refuses_fifos_and_devices_without_blocking() {
        let fx = fixture();
        let fifo = fx.root.join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(status.success());
        // Opening a FIFO for reading blocks until a writer comes: a timeout here would
        // mean it was opened.
        let r = tokio::time::timeout(std::time::Duration::from_secs(10), read(&fx.root, "fifo"))
            .await
            .expect("open_beneath blocked on a FIFO");
        assert!(
            matches!(r, Err(OpenError::Denied(ref m)) if m.contains("FIFO")),
            "{r:?}"
        );
        symlink("/dev/zero", fx.root.join("zero")).unwrap();
        // /dev/zero is outside the root: refused as an escape.
        assert!(matches!(
            read(&fx.root, "zero").await,
            Err(OpenError::Denied(_))
        ));
        // A socket inside the root.
        let _sock = std::os::unix::net::UnixListener::bind(fx.root.join("sock")).unwrap();
        let r = read(&fx.root, "sock").await;
        assert!(
            matches!(r, Err(OpenError::Denied(ref m)) if m.contains("socket")),
            "{r:?}"
        );
    }
}
