//! Tests of storing and removing image files.

use std::io;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::Notify;

use super::*;

const HELLO_SHA256: &str = "12998c017066eb0d2a70b94e6ed3192985855ce390f321bbdb832022888bd251";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A root in a fresh temporary directory, with a sibling `outside` directory.
struct Fixture {
    _dir: tempfile::TempDir,
    files: ImageFiles,
    root: PathBuf,
    outside: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    fs::create_dir(&root).unwrap();
    fs::create_dir(&outside).unwrap();
    Fixture {
        files: ImageFiles::new(&root),
        root,
        outside,
        _dir: dir,
    }
}

/// Every entry under `dir`, relative to it, sorted; directories end in `/`.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            if entry.file_type().unwrap().is_dir() {
                out.push(format!("{rel}/"));
                walk(base, &path, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn pattern(pos: u64) -> u8 {
    (pos.wrapping_mul(2_654_435_761) >> 13) as u8
}

fn pattern_sha256(len: u64) -> String {
    let mut hasher = Sha256::new();
    let mut pos = 0;
    while pos < len {
        let chunk: Vec<u8> = (pos..len.min(pos + 65_536)).map(pattern).collect();
        pos += chunk.len() as u64;
        hasher.update(&chunk);
    }
    names::to_hex(&hasher.finalize())
}

/// A body of `len` pattern bytes produced lazily in small chunks of varying size (1 to 1500
/// bytes), that can pretend to be slow, fail part-way or stall for good.
#[derive(Default)]
struct Lazy {
    len: u64,
    pos: u64,
    /// Return `Pending` (waking at once) before every chunk.
    slow: bool,
    pending_next: bool,
    /// Fail with an I/O error once this many bytes have been served.
    fail_at: Option<u64>,
    /// Once this many bytes have been served, stay `Pending` for ever and notify this.
    stall_at: Option<(u64, Arc<Notify>)>,
    /// The largest buffer the reader was asked to fill.
    largest_request: usize,
}

impl Lazy {
    fn new(len: u64) -> Self {
        Lazy {
            len,
            ..Lazy::default()
        }
    }
}

impl AsyncRead for Lazy {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.largest_request = this.largest_request.max(buf.remaining());
        if let Some((at, notify)) = &this.stall_at
            && this.pos >= *at
        {
            notify.notify_one();
            return Poll::Pending;
        }
        if this.pending_next {
            this.pending_next = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        this.pending_next = this.slow;
        let mut end = this.len;
        if let Some(at) = this.fail_at {
            if this.pos >= at {
                return Poll::Ready(Err(io::Error::other("connection reset by peer")));
            }
            end = end.min(at);
        }
        let n = (end - this.pos)
            .min(buf.remaining() as u64)
            .min(1 + this.pos % 1500);
        let chunk: Vec<u8> = (this.pos..this.pos + n).map(pattern).collect();
        buf.put_slice(&chunk);
        this.pos += n;
        Poll::Ready(Ok(()))
    }
}

fn assert_invalid(err: &Error, field: &str) {
    assert!(
        matches!(err, Error::InvalidRequest { field: Some(f), .. } if f == field),
        "{err:?}"
    );
}

#[tokio::test]
async fn round_trip() {
    let f = fixture();
    let stored = f
        .files
        .store("bob/vmlinuz.82c1545c", &b"hello there"[..], 1024)
        .await
        .unwrap();
    assert_eq!(
        stored,
        StoredFile {
            relative: "bob/vmlinuz.82c1545c".to_owned(),
            sha256: HELLO_SHA256.to_owned(),
            size: 11,
        }
    );
    assert_eq!(
        stored.sha256,
        names::to_hex(&Sha256::digest(b"hello there"))
    );
    let path = f.root.join("bob/vmlinuz.82c1545c");
    assert_eq!(fs::read(&path).unwrap(), b"hello there");
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o644
    );
    assert_eq!(
        fs::metadata(f.root.join("bob"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o755
    );
    assert_eq!(tree(&f.root), ["bob/", "bob/vmlinuz.82c1545c"]);
    assert_eq!(f.files.root(), f.root);
    assert_eq!(f.files.path_of("bob/vmlinuz.82c1545c").unwrap(), path);
}

#[tokio::test]
async fn generated_names_store() {
    let f = fixture();
    for (user, file) in [("bob", ""), ("", "vmlinuz"), ("../..", "../../x y")] {
        let name = ImageFiles::image_name(user, file, &ImageFiles::random_suffix());
        f.files.store(&name, &b"x"[..], 1).await.unwrap();
        assert!(f.root.join(&name).is_file(), "{name}");
    }
    assert_eq!(tree(&f.outside), Vec::<String>::new());
}

#[tokio::test]
async fn empty_file() {
    let f = fixture();
    let stored = f.files.store("empty", &b""[..], 0).await.unwrap();
    assert_eq!((stored.size, stored.sha256.as_str()), (0, EMPTY_SHA256));
    assert_eq!(fs::metadata(f.root.join("empty")).unwrap().len(), 0);
    assert_eq!(tree(&f.root), ["empty"]);
}

#[tokio::test]
async fn size_limit() {
    let f = fixture();
    // One below the limit, exactly at it.
    for (name, limit) in [("a/below", 101), ("a/at", 100)] {
        let mut body = Lazy::new(100);
        let stored = f.files.store(name, &mut body, limit).await.unwrap();
        assert_eq!(stored.size, 100);
        assert_eq!(stored.sha256, pattern_sha256(100));
    }
    // One above it.
    let mut body = Lazy::new(100);
    let err = f.files.store("a/above", &mut body, 99).await.unwrap_err();
    assert!(is_too_large(&err), "{err:?}");
    assert_eq!(err.to_string(), "upload larger than 99 bytes");
    assert_eq!(tree(&f.root), ["a/", "a/at", "a/below"]);
    // A huge body is not read much beyond the limit.
    let mut body = Lazy::new(1 << 30);
    let err = f.files.store("b/huge", &mut body, 10).await.unwrap_err();
    assert!(is_too_large(&err));
    assert!(body.pos <= 11, "{}", body.pos);
    assert_eq!(tree(&f.root.join("b")), Vec::<String>::new());
    // A limit larger than memory is fine.
    let stored = f.files.store("c", &b"ok"[..], u64::MAX).await.unwrap();
    assert_eq!(stored.size, 2);
}

#[tokio::test]
async fn too_large_is_recognised() {
    assert!(is_too_large(&too_large(5)));
    assert!(!is_too_large(&Error::invalid("file", "something else")));
    assert!(!is_too_large(&Error::invalid(
        "filename",
        "upload larger than 5"
    )));
    assert!(!is_too_large(&Error::bad_request("upload larger than 5")));
    assert!(!is_too_large(&Error::conflict("upload larger than 5")));
}

#[tokio::test]
async fn never_overwrites() {
    let f = fixture();
    f.files.store("bob/k", &b"first"[..], 100).await.unwrap();
    let err = f
        .files
        .store("bob/k", &b"second"[..], 100)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    assert_eq!(fs::read(f.root.join("bob/k")).unwrap(), b"first");
    // A directory with that name is not overwritten either.
    fs::create_dir(f.root.join("bob/d")).unwrap();
    let err = f.files.store("bob/d", &b"x"[..], 100).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    assert_eq!(tree(&f.root), ["bob/", "bob/d/", "bob/k"]);
}

#[tokio::test]
async fn racing_stores_of_one_name() {
    let f = fixture();
    let (a, b) = tokio::join!(
        f.files.store("bob/k", Lazy::new(300_000), 1 << 20),
        f.files.store("bob/k", &b"short"[..], 1 << 20),
    );
    assert!(a.is_ok() != b.is_ok(), "{a:?} {b:?}");
    let loser = a.as_ref().err().or(b.as_ref().err()).unwrap();
    assert!(matches!(loser, Error::Conflict { .. }), "{loser:?}");
    let content = fs::read(f.root.join("bob/k")).unwrap();
    assert!(content == b"short" || content.len() == 300_000);
    assert_eq!(tree(&f.root), ["bob/", "bob/k"]);
}

#[tokio::test]
async fn slow_five_mebibytes_in_small_chunks() {
    let f = fixture();
    let len = 5 << 20;
    let mut body = Lazy {
        slow: true,
        ..Lazy::new(len)
    };
    let stored = f.files.store("big/initrd", &mut body, len).await.unwrap();
    assert_eq!(stored.size, len);
    assert_eq!(stored.sha256, pattern_sha256(len));
    assert_eq!(fs::metadata(f.root.join("big/initrd")).unwrap().len(), len);
    // The body was read into a bounded buffer, never the whole file at once.
    assert!(body.largest_request <= CHUNK, "{}", body.largest_request);
    assert_eq!(tree(&f.root), ["big/", "big/initrd"]);
}

#[tokio::test]
async fn failing_body_leaves_nothing() {
    let f = fixture();
    let mut body = Lazy {
        fail_at: Some(200_000),
        ..Lazy::new(1 << 20)
    };
    let err = f
        .files
        .store("bob/k", &mut body, 1 << 20)
        .await
        .unwrap_err();
    assert_invalid(&err, "file");
    assert!(!is_too_large(&err));
    assert!(
        err.to_string().contains("connection reset by peer"),
        "{err}"
    );
    assert_eq!(body.pos, 200_000);
    assert_eq!(tree(&f.root), ["bob/"]);
}

#[tokio::test]
async fn dropped_upload_leaves_nothing() {
    let f = fixture();
    let stalled = Arc::new(Notify::new());
    let body = Lazy {
        stall_at: Some((100_000, stalled.clone())),
        ..Lazy::new(1 << 20)
    };
    tokio::select! {
        r = f.files.store("bob/k", body, 1 << 20) => panic!("finished: {r:?}"),
        () = stalled.notified() => {}
    }
    assert_eq!(tree(&f.root), ["bob/"]);
}

#[tokio::test]
async fn invalid_paths() {
    let f = fixture();
    for bad in [
        "../x",
        "/abs",
        "/tmp/x",
        "a/../../x",
        "",
        "a//b",
        "a/./b",
        "a/",
        "a\\b",
        "..",
    ] {
        let err = f.files.store(bad, &b"x"[..], 10).await.unwrap_err();
        assert_invalid(&err, "filename");
        assert_invalid(&f.files.path_of(bad).unwrap_err(), "filename");
        assert_invalid(&f.files.remove(bad).await.unwrap_err(), "filename");
    }
    let long = "x".repeat(300);
    let err = f.files.store(&long, &b"x"[..], 10).await.unwrap_err();
    assert_invalid(&err, "filename");
    assert!(err.to_string().contains("too long"), "{err}");
    assert_eq!(tree(&f.root), Vec::<String>::new());
    assert_eq!(tree(&f.outside), Vec::<String>::new());
}

#[tokio::test]
async fn through_a_file() {
    let f = fixture();
    f.files.store("bob/k", &b"x"[..], 10).await.unwrap();
    let err = f.files.store("bob/k/x", &b"x"[..], 10).await.unwrap_err();
    assert_invalid(&err, "filename");
    assert_eq!(f.files.path_of("bob/k/x").unwrap(), f.root.join("bob/k/x"));
    assert!(!f.files.remove("bob/k/x").await.unwrap());
}

#[tokio::test]
async fn symlinks_out_of_the_root() {
    let f = fixture();
    symlink(&f.outside, f.root.join("evil")).unwrap();
    symlink(f.outside.join("nowhere"), f.root.join("dead")).unwrap();
    for rel in ["evil/x", "evil/sub/x", "dead/x", "dead/sub/x"] {
        let err = f.files.store(rel, &b"x"[..], 10).await.unwrap_err();
        assert_invalid(&err, "filename");
        assert!(err.to_string().contains("outside"), "{err}");
        assert_invalid(&f.files.path_of(rel).unwrap_err(), "filename");
        assert_invalid(&f.files.remove(rel).await.unwrap_err(), "filename");
    }
    assert_invalid(&f.files.path_of("evil").unwrap_err(), "filename");
    assert_eq!(tree(&f.outside), Vec::<String>::new());
    // A link to a directory elsewhere under /tmp (the root's parent): refused even on a path
    // that would come back into the root.
    symlink(f.root.parent().unwrap(), f.root.join("up")).unwrap();
    let err = f
        .files
        .store("up/outside/x", &b"x"[..], 10)
        .await
        .unwrap_err();
    assert_invalid(&err, "filename");
    let err = f.files.store("up/root/x", &b"x"[..], 10).await.unwrap_err();
    assert_invalid(&err, "filename");
}

#[tokio::test]
async fn symlinks_within_the_root() {
    let f = fixture();
    fs::create_dir(f.root.join("real")).unwrap();
    symlink(f.root.join("real"), f.root.join("alias")).unwrap();
    f.files.store("alias/x", &b"x"[..], 10).await.unwrap();
    assert_eq!(fs::read(f.root.join("real/x")).unwrap(), b"x");
    assert_eq!(f.files.path_of("alias/x").unwrap(), f.root.join("alias/x"));
    assert!(f.files.remove("alias/x").await.unwrap());
    // The link itself is not a directory to prune; the real directory stays as well.
    assert!(f.root.join("alias").is_symlink());
    assert!(f.root.join("real").is_dir());
    // A link back to the root itself is inside the root.
    symlink(&f.root, f.root.join("self")).unwrap();
    f.files.store("self/y", &b"y"[..], 10).await.unwrap();
    assert!(f.files.remove("self/y").await.unwrap());
    assert!(f.root.is_dir() && f.root.join("self").is_symlink());
}

#[tokio::test]
async fn symlinked_file_out_of_the_root() {
    let f = fixture();
    let secret = f.outside.join("secret");
    fs::write(&secret, "secret").unwrap();
    fs::create_dir(f.root.join("bob")).unwrap();
    symlink(&secret, f.root.join("bob/link")).unwrap();
    let err = f.files.store("bob/link", &b"x"[..], 10).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    assert_eq!(fs::read(&secret).unwrap(), b"secret");
    assert_invalid(&f.files.path_of("bob/link").unwrap_err(), "filename");
    // Removing the link removes the link, not what it points to.
    assert!(f.files.remove("bob/link").await.unwrap());
    assert_eq!(fs::read(&secret).unwrap(), b"secret");
    assert_eq!(tree(&f.root), Vec::<String>::new());
}

#[tokio::test]
async fn remove_semantics() {
    let f = fixture();
    for rel in ["bob/a", "bob/b", "c", "x/y/z/f"] {
        f.files.store(rel, &b"data"[..], 10).await.unwrap();
    }
    assert!(f.files.remove("bob/a").await.unwrap());
    assert!(!f.root.join("bob/a").exists());
    assert!(!f.files.remove("bob/a").await.unwrap());
    assert_eq!(
        tree(&f.root),
        ["bob/", "bob/b", "c", "x/", "x/y/", "x/y/z/", "x/y/z/f"]
    );
    assert!(f.files.remove("bob/b").await.unwrap());
    assert!(f.files.remove("c").await.unwrap());
    assert!(f.files.remove("x/y/z/f").await.unwrap());
    assert_eq!(tree(&f.root), Vec::<String>::new());
    assert!(f.root.is_dir());
    assert!(!f.files.remove("nobody/x").await.unwrap());
    assert!(!f.files.remove("c").await.unwrap());
    // A directory is not a file to remove.
    fs::create_dir_all(f.root.join("d/e")).unwrap();
    assert_invalid(&f.files.remove("d/e").await.unwrap_err(), "filename");
    assert!(f.root.join("d/e").is_dir());
    // Directories that are not empty stay.
    fs::write(f.root.join("d/keep"), "k").unwrap();
    f.files.store("d/e/f", &b"x"[..], 10).await.unwrap();
    assert!(f.files.remove("d/e/f").await.unwrap());
    assert_eq!(tree(&f.root), ["d/", "d/keep"]);
}

#[tokio::test]
async fn missing_root() {
    let f = fixture();
    let files = ImageFiles::new(f.root.join("missing"));
    let err = files.store("bob/x", &b"x"[..], 10).await.unwrap_err();
    assert!(matches!(err, Error::Internal { .. }), "{err:?}");
    assert!(matches!(files.path_of("x"), Err(Error::Internal { .. })));
    assert!(matches!(
        files.remove("x").await,
        Err(Error::Internal { .. })
    ));
    fs::write(f.root.join("file"), "x").unwrap();
    let files = ImageFiles::new(f.root.join("file"));
    assert!(matches!(files.path_of("x"), Err(Error::Internal { .. })));
    assert!(!f.root.join("missing").exists());
}

#[test]
fn path_of_does_not_need_the_file() {
    let f = fixture();
    assert_eq!(f.files.path_of("a/b/c").unwrap(), f.root.join("a/b/c"));
    assert!(!f.root.join("a").exists());
}
