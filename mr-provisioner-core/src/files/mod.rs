//! Image files under the TFTP root: safe names, streamed atomic uploads that never overwrite, and removal.
//!
//! Every path is relative to the root, checked with
//! [`check_relative_path`], and resolved so that no
//! symbolic link inside the root can lead outside it. An upload is streamed to a temporary
//! file in its final directory while its SHA-256 is computed, synced, and then hard-linked to
//! its final name, which publishes it atomically and fails instead of overwriting.
//!
//! The operations assume that only this process writes under the root; they do not defend
//! against another writer swapping directories for links between a check and its use.

mod names;
#[cfg(test)]
mod tests;

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

pub use names::{MAX_SECURE_FILENAME, secure_filename};

use crate::error::{Error, Result};
use crate::model::image::check_relative_path;

/// The request field that paths are validated as.
const FIELD: &str = "filename";
/// The field of the too-large error; see [`is_too_large`].
const TOO_LARGE_FIELD: &str = "file";
/// The message prefix of the too-large error; see [`is_too_large`].
const TOO_LARGE_PREFIX: &str = "upload larger than";
/// How much of an upload is held in memory at once.
const CHUNK: usize = 64 * 1024;
/// The mode of directories created under the root.
const DIR_MODE: u32 = 0o755;
/// The mode of a stored file, readable by a TFTP daemon running as another user.
const FILE_MODE: u32 = 0o644;
/// The mode of a temporary upload, unreadable by others until it is complete.
const TEMP_MODE: u32 = 0o600;
/// How often [`ImageFiles::store`] starts over when its directory is removed under it by a
/// concurrent [`ImageFiles::remove`].
const ATTEMPTS: usize = 3;

/// A file written by [`ImageFiles::store`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// The path relative to the root, as given to `store`.
    pub relative: String,
    /// SHA-256 of the content, 64 lower-case hex digits.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// The image files under one TFTP root.
///
/// The root must exist (the server creates it at start-up); nothing here creates it.
#[derive(Debug, Clone)]
pub struct ImageFiles {
    root: PathBuf,
}

/// Whether `err` is the error [`ImageFiles::store`] returns for an upload over its limit, which
/// HTTP maps to 413. It is an [`Error::InvalidRequest`] on the field `file` whose message
/// begins with `upload larger than`.
pub fn is_too_large(err: &Error) -> bool {
    matches!(
        err,
        Error::InvalidRequest { field: Some(field), message }
            if field == TOO_LARGE_FIELD && message.starts_with(TOO_LARGE_PREFIX)
    )
}

impl ImageFiles {
    /// Image files under `root` (the TFTP root).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ImageFiles { root: root.into() }
    }

    /// The root, as given to [`ImageFiles::new`].
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path, relative to the root, under which the original stored an upload:
    /// `<secure(username)>/<secure(client file name)>.<random_hex8>`.
    ///
    /// `secure` is [`secure_filename`]. Like Werkzeug's multipart parser, an absolute Windows
    /// client path (`C:\...`, `\\server\...`) is first cut to its last `\`-separated part;
    /// other names are secured whole (`../../etc/pass wd` gives `etc_pass_wd`). When the
    /// username secures to nothing, the file goes directly in the root (`<file>.<hex>`); when
    /// the file name does, the name is `<dir>/.<hex>`, as observed in the original.
    ///
    /// `random_hex8` should come from [`ImageFiles::random_suffix`]. The result always passes
    /// [`check_relative_path`] for such a suffix.
    ///
    /// ```
    /// use mr_provisioner_core::files::ImageFiles;
    ///
    /// assert_eq!(
    ///     ImageFiles::image_name("bob", "vmlinuz-5.0", "82c1545c"),
    ///     "bob/vmlinuz-5.0.82c1545c"
    /// );
    /// assert_eq!(ImageFiles::image_name("bob", "", "8cc3674e"), "bob/.8cc3674e");
    /// ```
    pub fn image_name(username: &str, client_filename: &str, random_hex8: &str) -> String {
        names::image_name(username, client_filename, random_hex8)
    }

    /// Eight random lower-case hex digits for [`ImageFiles::image_name`], from the system
    /// random source. Should that ever fail, the digits are derived from the time, the process
    /// id and a counter instead (a warning is logged): they only need to make a clash unlikely,
    /// and [`ImageFiles::store`] refuses a clash rather than overwriting.
    pub fn random_suffix() -> String {
        names::random_suffix()
    }

    /// `root.join(relative)` (absolute if the root is), after checking that `relative` is a
    /// valid relative path whose existing part, symbolic links included, resolves inside the
    /// root. The file need not exist.
    ///
    /// This makes a few blocking file-system calls.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] (field `filename`) for an invalid path or one that leads
    /// outside the root; [`Error::Internal`] if the root is unusable or the file system fails.
    pub fn path_of(&self, relative: &str) -> Result<PathBuf> {
        check_relative_path(FIELD, relative)?;
        let root = canonical_root(&self.root)?;
        let mut current = root.clone();
        for component in relative.split('/') {
            let next = current.join(component);
            match fs::symlink_metadata(&next) {
                Ok(_) => current = inside_root(&root, &next, relative)?,
                Err(e) if is_absent(&e) => break,
                Err(e) => return Err(fs_error("inspecting", &next, relative, e)),
            }
        }
        Ok(self.root.join(relative))
    }

    /// Streams `body` to the file `relative` under the root and returns its SHA-256 and size.
    ///
    /// Parent directories are created as needed (mode 0755). The body goes, 64 KiB at a time,
    /// to a temporary `.upload-<random>.part` file (mode 0600) in the final directory; once
    /// complete it is synced, made mode 0644 and hard-linked to its final name, so the file
    /// appears whole or not at all and an existing file is never overwritten. The temporary
    /// file is removed in every case, also when this future is dropped half-way.
    ///
    /// At most `limit + 1` bytes are read from `body`: a body of exactly `limit` bytes is
    /// stored, a longer one is refused.
    ///
    /// # Errors
    ///
    /// * [`Error::InvalidRequest`] (field `filename`): an invalid path, one that leads outside
    ///   the root (through a symbolic link too), through a non-directory, or too long for the
    ///   file system;
    /// * [`Error::Conflict`]: a file (or anything else) already has that name;
    /// * [`Error::InvalidRequest`] (field `file`): the body is over `limit` (see
    ///   [`is_too_large`]) or could not be read;
    /// * [`Error::Unavailable`]: the file system is full;
    /// * [`Error::Internal`]: the root is unusable or another file-system failure.
    pub async fn store<R: AsyncRead + Unpin>(
        &self,
        relative: &str,
        mut body: R,
        limit: u64,
    ) -> Result<StoredFile> {
        check_relative_path(FIELD, relative)?;
        let (dir, name) = split(relative);
        let mut attempt = 0;
        let (dir_path, temp, file) = loop {
            attempt += 1;
            let root = self.root.clone();
            let dir = dir.map(str::to_owned);
            let name = name.to_owned();
            let rel = relative.to_owned();
            let prepared =
                blocking(move || prepare_dir(&root, dir.as_deref(), &name, &rel)).await?;
            let Some(dir_path) = prepared else {
                if attempt < ATTEMPTS {
                    continue;
                }
                return Err(vanished(relative));
            };
            match create_temp(&dir_path).await {
                Ok((temp, file)) => break (dir_path, temp, file),
                Err(e) if is_absent(&e) && attempt < ATTEMPTS => {}
                Err(e) => return Err(fs_error("creating a file in", &dir_path, relative, e)),
            }
        };
        let (sha256, size) = copy_hashed(&mut body, file, limit, &temp, relative).await?;
        let final_path = dir_path.join(name);
        let rel = relative.to_owned();
        blocking(move || publish(temp, &final_path, &rel)).await?;
        Ok(StoredFile {
            relative: relative.to_owned(),
            sha256,
            size,
        })
    }

    /// Deletes the file `relative` under the root; `false` if there was none. Directories
    /// left empty by that are removed too, up to but never including the root. A symbolic
    /// link is removed itself, never what it points to.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] (field `filename`) for an invalid path, one whose directory
    /// leads outside the root, or one that names a directory; [`Error::Internal`] if the root
    /// is unusable or the file system fails.
    pub async fn remove(&self, relative: &str) -> Result<bool> {
        check_relative_path(FIELD, relative)?;
        let root = self.root.clone();
        let rel = relative.to_owned();
        blocking(move || remove_file(&root, &rel)).await
    }
}

/// The error for a body over `limit`.
fn too_large(limit: u64) -> Error {
    Error::invalid(TOO_LARGE_FIELD, format!("{TOO_LARGE_PREFIX} {limit} bytes"))
}

/// The error for a path that leads outside the root.
fn escapes(relative: &str) -> Error {
    Error::invalid(
        FIELD,
        format!("{FIELD} {relative:?} leads outside the TFTP root"),
    )
}

/// The error for an existing final file.
fn exists(relative: &str) -> Error {
    Error::conflict(format!("the file {relative:?} already exists"))
}

/// The error when the directory of an upload keeps disappearing.
fn vanished(relative: &str) -> Error {
    Error::conflict(format!(
        "the directory of {relative:?} was removed during the upload; try again"
    ))
}

/// Maps a file-system error while doing `what` to `path` for the upload `relative`.
fn fs_error(what: &str, path: &Path, relative: &str, e: io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::InvalidFilename => Error::invalid(
            FIELD,
            format!("{FIELD} {relative:?} is too long for the file system"),
        ),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Error::Unavailable {
            message: "no space left to store the file".to_owned(),
            source: Some(Box::new(e)),
        },
        _ => Error::internal(format!("{what} {}", path.display()), e),
    }
}

/// Whether `e` means that a path (or one of its directories) does not exist.
fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// Splits a checked relative path into its directory (if any) and file name.
fn split(relative: &str) -> (Option<&str>, &str) {
    match relative.rsplit_once('/') {
        Some((dir, name)) => (Some(dir), name),
        None => (None, relative),
    }
}

/// Runs blocking file-system work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::internal("a file-system task failed", e))?
}

/// The canonical root, which must be an existing directory.
fn canonical_root(root: &Path) -> Result<PathBuf> {
    let unusable = |e: io::Error| {
        Error::internal(format!("the TFTP root {} is not usable", root.display()), e)
    };
    let canonical = fs::canonicalize(root).map_err(unusable)?;
    if !canonical.is_dir() {
        return Err(unusable(io::Error::from(io::ErrorKind::NotADirectory)));
    }
    Ok(canonical)
}

/// The canonical form of the existing `path`, which must lie inside the canonical `root`. A
/// dangling symbolic link counts as leading outside.
fn inside_root(root: &Path, path: &Path, relative: &str) -> Result<PathBuf> {
    match fs::canonicalize(path) {
        Ok(canonical) if canonical.starts_with(root) => Ok(canonical),
        Ok(_) => Err(escapes(relative)),
        Err(e) if is_absent(&e) => Err(escapes(relative)),
        Err(e) => Err(fs_error("resolving", path, relative, e)),
    }
}

/// Creates (as needed) and checks the directory `dir` under `root` for the file `name`, and
/// returns its canonical path; `None` if a directory disappeared meanwhile (retry).
///
/// Each component is checked before anything is created under it, so nothing is ever created
/// outside the root. Also refuses early when `name` already exists there.
fn prepare_dir(
    root: &Path,
    dir: Option<&str>,
    name: &str,
    relative: &str,
) -> Result<Option<PathBuf>> {
    let root = canonical_root(root)?;
    let mut current = root.clone();
    for component in dir.into_iter().flat_map(|d| d.split('/')) {
        let next = current.join(component);
        match fs::symlink_metadata(&next) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => create_dir(&next, relative)?,
            Err(e) => return Err(fs_error("inspecting", &next, relative, e)),
        }
        current = match fs::canonicalize(&next) {
            Ok(canonical) if canonical.starts_with(&root) => canonical,
            Ok(_) => return Err(escapes(relative)),
            // A dangling link, or a directory removed since it was created or seen.
            Err(e) if is_absent(&e) => match fs::symlink_metadata(&next) {
                Ok(meta) if meta.file_type().is_symlink() => return Err(escapes(relative)),
                _ => return Ok(None),
            },
            Err(e) => return Err(fs_error("resolving", &next, relative, e)),
        };
        if !current.is_dir() {
            return Err(Error::invalid(
                FIELD,
                format!("{FIELD} {relative:?} goes through something that is not a directory"),
            ));
        }
    }
    let target = current.join(name);
    match fs::symlink_metadata(&target) {
        Ok(_) => Err(exists(relative)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Some(current)),
        Err(e) => Err(fs_error("inspecting", &target, relative, e)),
    }
}

/// Creates the directory `path` with mode 0755 (whatever the umask); one that appeared
/// meanwhile is fine.
fn create_dir(path: &Path, relative: &str) -> Result<()> {
    match fs::DirBuilder::new().mode(DIR_MODE).create(path) {
        Ok(()) => fs::set_permissions(path, fs::Permissions::from_mode(DIR_MODE))
            .map_err(|e| fs_error("setting the mode of", path, relative, e)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(fs_error("creating the directory", path, relative, e)),
    }
}

/// A temporary file that is removed when dropped, unless it was published.
#[derive(Debug)]
struct TempFile {
    path: PathBuf,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_file(&self.path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove a temporary upload");
        }
    }
}

/// Creates a fresh `.upload-<random>.part` file (mode 0600) in `dir`.
async fn create_temp(dir: &Path) -> io::Result<(TempFile, tokio::fs::File)> {
    let mut tries = 0;
    loop {
        tries += 1;
        let path = dir.join(format!(
            ".upload-{}{}.part",
            names::random_suffix(),
            names::random_suffix()
        ));
        let opened = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(TEMP_MODE)
            .open(&path)
            .await;
        match opened {
            Ok(file) => return Ok((TempFile { path }, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 8 => {}
            Err(e) => return Err(e),
        }
    }
}

/// Copies `body` to `file` (the temporary `temp`), at most 64 KiB in memory at a time and at
/// most `limit + 1` bytes read, then syncs it; returns the SHA-256 (lower-case hex) and size.
async fn copy_hashed<R: AsyncRead + Unpin>(
    body: &mut R,
    mut file: tokio::fs::File,
    limit: u64,
    temp: &TempFile,
    relative: &str,
) -> Result<(String, u64)> {
    let write_error = |e| fs_error("writing", &temp.path, relative, e);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut size: u64 = 0;
    let mut done = false;
    while !done {
        // Fill the buffer from however small the body's chunks are, then write it at once.
        let mut filled = 0;
        while filled < buf.len() {
            // One byte past the limit tells a body of exactly `limit` bytes from a longer one.
            let allowed = limit.saturating_sub(size).saturating_add(1);
            let room = buf.len() - filled;
            let take = usize::try_from(allowed).map_or(room, |allowed| allowed.min(room));
            let n = match body.read(&mut buf[filled..filled + take]).await {
                Ok(0) => {
                    done = true;
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::invalid(
                        TOO_LARGE_FIELD,
                        format!("the upload could not be read: {e}"),
                    ));
                }
            };
            filled += n;
            size += n as u64;
            if size > limit {
                return Err(too_large(limit));
            }
        }
        if filled > 0 {
            let chunk = &buf[..filled];
            hasher.update(chunk);
            file.write_all(chunk).await.map_err(write_error)?;
        }
    }
    file.flush().await.map_err(write_error)?;
    file.sync_all().await.map_err(write_error)?;
    file.set_permissions(fs::Permissions::from_mode(FILE_MODE))
        .await
        .map_err(write_error)?;
    Ok((names::to_hex(&hasher.finalize()), size))
}

/// Publishes the complete `temp` as `final_path` without ever overwriting: a hard link fails
/// if the name exists. The temporary name is then removed.
fn publish(temp: TempFile, final_path: &Path, relative: &str) -> Result<()> {
    match fs::hard_link(&temp.path, final_path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(exists(relative)),
        Err(e) => return Err(fs_error("linking", final_path, relative, e)),
    }
    // The file is in place; dropping `temp` removes the temporary name.
    drop(temp);
    if let Some(dir) = final_path.parent() {
        sync_dir(dir);
    }
    Ok(())
}

/// Syncs a directory so that a new or removed entry survives a crash. Best effort: the
/// change itself has already happened.
fn sync_dir(dir: &Path) {
    if let Err(e) = fs::File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot sync a directory");
    }
}

/// The blocking body of [`ImageFiles::remove`].
fn remove_file(root: &Path, relative: &str) -> Result<bool> {
    let root = canonical_root(root)?;
    let (dir, name) = split(relative);
    let mut current = root.clone();
    for component in dir.into_iter().flat_map(|d| d.split('/')) {
        let next = current.join(component);
        match fs::symlink_metadata(&next) {
            Ok(_) => current = inside_root(&root, &next, relative)?,
            Err(e) if is_absent(&e) => return Ok(false),
            Err(e) => return Err(fs_error("inspecting", &next, relative, e)),
        }
    }
    let target = current.join(name);
    match fs::symlink_metadata(&target) {
        Ok(meta) if meta.is_dir() => {
            return Err(Error::invalid(
                FIELD,
                format!("{FIELD} {relative:?} is a directory"),
            ));
        }
        Ok(_) => {}
        Err(e) if is_absent(&e) => return Ok(false),
        Err(e) => return Err(fs_error("inspecting", &target, relative, e)),
    }
    match fs::remove_file(&target) {
        Ok(()) => {}
        Err(e) if is_absent(&e) => return Ok(false),
        Err(e) => return Err(fs_error("removing", &target, relative, e)),
    }
    sync_dir(&current);
    prune_empty_dirs(&root, dir);
    Ok(true)
}

/// Removes `dir` (relative to the canonical `root`) and then its ancestors while they are
/// empty directories, never the root itself. Stops quietly at the first one that stays.
fn prune_empty_dirs(root: &Path, dir: Option<&str>) {
    let mut dir = dir;
    while let Some(d) = dir {
        let path = root.join(d);
        // `remove_dir` does not follow a final symbolic link, but stay clear of the root
        // however it is reached.
        match fs::canonicalize(&path) {
            Ok(canonical) if canonical.starts_with(root) && canonical != root => {}
            _ => return,
        }
        match fs::remove_dir(&path) {
            Ok(()) => {}
            Err(e) => {
                if !matches!(
                    e.kind(),
                    io::ErrorKind::DirectoryNotEmpty
                        | io::ErrorKind::NotFound
                        | io::ErrorKind::NotADirectory
                ) {
                    tracing::warn!(dir = %path.display(), error = %e, "cannot remove an empty directory");
                }
                return;
            }
        }
        dir = d.rsplit_once('/').map(|(parent, _)| parent);
    }
}
