//! Images: kernels, initrds and bootloaders stored under the TFTP root.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::id::{ArchId, ImageId, UserId};
use crate::model::Timestamp;
use crate::validate;

/// What an image is. The names are the original's, case included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ImageKind {
    /// A kernel (`Kernel`).
    Kernel,
    /// An initial ramdisk (`Initrd`).
    Initrd,
    /// A network bootloader (`bootloader`).
    #[serde(rename = "bootloader")]
    Bootloader,
}

impl ImageKind {
    /// Every kind.
    pub const ALL: [ImageKind; 3] = [ImageKind::Kernel, ImageKind::Initrd, ImageKind::Bootloader];

    /// The stored and API name (`Kernel`, `Initrd`, `bootloader`).
    pub fn as_str(self) -> &'static str {
        match self {
            ImageKind::Kernel => "Kernel",
            ImageKind::Initrd => "Initrd",
            ImageKind::Bootloader => "bootloader",
        }
    }
}

impl fmt::Display for ImageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ImageKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        ImageKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "type",
                    format!("unknown image type {s:?}; expected Kernel, Initrd or bootloader"),
                )
            })
    }
}

/// An image file and its metadata.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Image {
    /// Identity.
    pub id: ImageId,
    /// Unique path relative to the TFTP root, e.g. `bob/vmlinuz-5.0.82c1545c`.
    pub filename: String,
    /// Free text; clients find images by description, type and arch.
    pub description: Option<String>,
    /// Kernel, initrd or bootloader.
    pub kind: ImageKind,
    /// Architecture.
    pub arch_id: ArchId,
    /// Owner; none for system images (such as a default bootloader).
    pub owner_id: Option<UserId>,
    /// Informational flag.
    pub known_good: bool,
    /// Visible to and usable by everyone.
    pub public: bool,
    /// Upload time.
    pub created_at: Timestamp,
    /// SHA-256 of the file, lower-case hex, when known.
    pub sha256: Option<String>,
    /// File size in bytes, when known.
    pub size: Option<i64>,
}

/// An image to create or the new state of one.
#[derive(Debug, Clone)]
pub struct NewImage {
    /// Path relative to the TFTP root.
    pub filename: String,
    /// Free text, at most 256 characters.
    pub description: Option<String>,
    /// Kind.
    pub kind: ImageKind,
    /// Architecture.
    pub arch_id: ArchId,
    /// Owner.
    pub owner_id: Option<UserId>,
    /// Informational flag.
    pub known_good: bool,
    /// Public flag.
    pub public: bool,
    /// SHA-256, lower-case hex.
    pub sha256: Option<String>,
    /// Size in bytes.
    pub size: Option<i64>,
}

/// Checks that `path` is a safe relative path: non-empty, `/`-separated, no empty, `.` or
/// `..` component, no backslash, no control characters, at most 1024 bytes.
pub fn check_relative_path(field: &str, path: &str) -> Result<()> {
    let bad = |why: &str| Error::invalid(field, format!("{field} {path:?} {why}"));
    if path.is_empty() || path.len() > 1024 {
        return Err(bad("must be 1 to 1024 bytes"));
    }
    if path.starts_with('/') {
        return Err(bad("must be relative"));
    }
    if path.contains('\\') || path.chars().any(char::is_control) {
        return Err(bad("contains a backslash or a control character"));
    }
    if path
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(bad("has an empty, `.` or `..` component"));
    }
    Ok(())
}

impl NewImage {
    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        check_relative_path("filename", &self.filename)?;
        if let Some(d) = &self.description {
            validate::one_line("description", d, 256)?;
        }
        if let Some(h) = &self.sha256
            && (h.len() != 64
                || !h
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        {
            return Err(Error::invalid(
                "sha256",
                "sha256 must be 64 lower-case hex digits",
            ));
        }
        if matches!(self.size, Some(s) if s < 0) {
            return Err(Error::invalid("size", "size must not be negative"));
        }
        Ok(())
    }
}

impl From<&Image> for NewImage {
    fn from(i: &Image) -> Self {
        NewImage {
            filename: i.filename.clone(),
            description: i.description.clone(),
            kind: i.kind,
            arch_id: i.arch_id,
            owner_id: i.owner_id,
            known_good: i.known_good,
            public: i.public,
            sha256: i.sha256.clone(),
            size: i.size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        for k in ImageKind::ALL {
            assert_eq!(k.as_str().parse::<ImageKind>().unwrap(), k);
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        }
        assert!("kernel".parse::<ImageKind>().is_err());
    }

    #[test]
    fn relative_paths() {
        for ok in ["a", "bob/vmlinuz-5.0.82c1545c", "a/b/c.efi", ".8cc3674e"] {
            assert!(check_relative_path("filename", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "..",
            "a//b",
            "a/./b",
            "a\\b",
            "a/",
            "x\0y",
        ] {
            assert!(check_relative_path("filename", bad).is_err(), "{bad:?}");
        }
    }
}
