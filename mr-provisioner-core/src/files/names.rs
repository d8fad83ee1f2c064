//! Image file names as the original made them: Werkzeug 0.11's `secure_filename` and `<user>/<file>.<hex>`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

/// The longest result of [`secure_filename`], in bytes.
///
/// This cap is ours, not Werkzeug's: it keeps `<name>.<8 hex>` well under the usual 255-byte
/// limit of a file-name component.
pub const MAX_SECURE_FILENAME: usize = 200;

/// What `secure_filename` strips from both ends of its result.
const STRIP: [char; 2] = ['.', '_'];

/// Werkzeug 0.11's `secure_filename` on a POSIX host, plus a length cap of
/// [`MAX_SECURE_FILENAME`] bytes.
///
/// Clients see and parse the resulting names, so this reproduces the original step by step:
///
/// 1. NFKD-normalise and drop every non-ASCII character;
/// 2. replace every `/` (the POSIX path separator) with a space;
/// 3. split on whitespace (Python's `str.split()`, which also splits on the ASCII separators
///    `\x1c`..`\x1f`) and join the non-empty parts with `_`;
/// 4. delete every character outside `[A-Za-z0-9_.-]`;
/// 5. strip leading and trailing `.` and `_`.
///
/// Werkzeug prefixes Windows device names (`CON`, `NUL`, ...) with `_` only on Windows, so that
/// step is skipped. Finally, and unlike Werkzeug, the result is cut to
/// [`MAX_SECURE_FILENAME`] bytes and trailing `.` and `_` are stripped again, so the function
/// is idempotent. The result may be empty.
///
/// ```
/// use mr_provisioner_core::files::secure_filename;
///
/// assert_eq!(secure_filename("../../etc/pass wd"), "etc_pass_wd");
/// assert_eq!(secure_filename("Ünïcode näme.img"), "Unicode_name.img");
/// ```
pub fn secure_filename(name: &str) -> String {
    let ascii: String = name
        .nfkd()
        .filter(char::is_ascii)
        .map(|c| if c == '/' { ' ' } else { c })
        .collect();
    let joined = ascii
        .split(is_python_ascii_space)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    let kept: String = joined
        .chars()
        .filter(|&c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .collect();
    let trimmed = kept.trim_matches(STRIP);
    // Everything left is ASCII, so every byte offset is a character boundary.
    let capped = trimmed
        .get(..trimmed.len().min(MAX_SECURE_FILENAME))
        .unwrap_or(trimmed);
    capped.trim_end_matches(STRIP).to_owned()
}

/// Whether Python's `str.split()` splits an ASCII string at `c`: the C whitespace characters
/// and the information separators `\x1c`..`\x1f`. (Rust's `char::is_whitespace` lacks the
/// latter.)
fn is_python_ascii_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\x0b' | '\x0c' | '\r' | '\x1c'..='\x1f' | ' '
    )
}

/// Werkzeug's multipart parser (`_fix_ie_filename`) keeps only the last `\`-separated part of a
/// client file name that looks like an absolute Windows path (`C:\...` or `\\server\...`),
/// before the application sees it. Other names are left alone: `a/b\c` stays whole.
pub(crate) fn strip_windows_path(name: &str) -> &str {
    let mut chars = name.chars();
    let drive = chars.next().is_some() && chars.next() == Some(':') && chars.next() == Some('\\');
    if drive || name.starts_with("\\\\") {
        name.rsplit('\\').next().unwrap_or(name)
    } else {
        name
    }
}

/// `<secure(username)>/<secure(client file name)>.<hex>`, or `<secure(client file name)>.<hex>`
/// when the username secures to nothing. See [`super::ImageFiles::image_name`].
pub(crate) fn image_name(username: &str, client_filename: &str, random_hex8: &str) -> String {
    let dir = secure_filename(username);
    let file = secure_filename(strip_windows_path(client_filename));
    if dir.is_empty() {
        format!("{file}.{random_hex8}")
    } else {
        format!("{dir}/{file}.{random_hex8}")
    }
}

/// Eight random lower-case hex digits. See [`super::ImageFiles::random_suffix`].
pub(crate) fn random_suffix() -> String {
    let mut bytes = [0u8; 4];
    if let Err(e) = getrandom::fill(&mut bytes) {
        tracing::warn!(error = %e, "the system random source failed; using a time-based file suffix");
        bytes = fallback_bytes();
    }
    to_hex(&bytes)
}

/// Four bytes that differ between calls, for when the system random source fails: the suffix
/// only has to make a clash unlikely, and a clash is refused rather than overwritten.
fn fallback_bytes() -> [u8; 4] {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = Sha256::new();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.update(nanos.to_le_bytes());
    hasher.update(std::process::id().to_le_bytes());
    hasher.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let digest = hasher.finalize();
    let mut out = [0u8; 4];
    for (o, d) in out.iter_mut().zip(digest.iter()) {
        *o = *d;
    }
    out
}

/// Lower-case hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::image::check_relative_path;
    use proptest::prelude::*;

    #[test]
    fn observed_pairs() {
        for (input, want) in [
            ("vmlinuz-5.0", "vmlinuz-5.0"),
            ("../../etc/pass wd", "etc_pass_wd"),
            ("", ""),
            ("Ünïcode näme.img", "Unicode_name.img"),
            (".hidden", "hidden"),
            ("a/b\\c", "a_bc"),
        ] {
            assert_eq!(secure_filename(input), want, "{input:?}");
        }
    }

    /// Expected values produced by Werkzeug 0.11's algorithm under CPython.
    #[test]
    fn edge_cases() {
        for (input, want) in [
            ("...", ""),
            ("._._", ""),
            ("/", ""),
            ("../..", ""),
            ("日本語", ""),
            ("日本語.iso", "iso"),
            ("tab\there", "tab_here"),
            ("new\nline\r\n", "new_line"),
            ("  lead and trail  ", "lead_and_trail"),
            ("a\x1cb", "a_b"),
            ("a\x1fb", "a_b"),
            ("a\x0bb\x0cc", "a_b_c"),
            ("a\0b", "ab"),
            ("\u{fb01}le", "file"),
            ("Å²", "A2"),
            ("½.img", "12.img"),
            ("x__y", "x__y"),
            ("_x_", "x"),
            ("-x-", "-x-"),
            ("a  /  b", "a_b"),
            ("a///b", "a_b"),
            ("C:/x/y", "C_x_y"),
            ("C:\\Users\\bob\\vmlinuz", "CUsersbobvmlinuz"),
            ("my file (1).tar.gz", "my_file_1.tar.gz"),
            ("café.tar.gz", "cafe.tar.gz"),
            ("a\u{a0}b", "a_b"),
            ("a\u{2003}b", "a_b"),
            ("a\u{3000}b", "a_b"),
            ("a\u{85}b", "ab"),
            ("ｆｕｌｌ", "full"),
            ("a.b.", "a.b"),
            ("$(rm -rf).sh", "rm_-rf.sh"),
            ("\u{212b}ngstrom", "Angstrom"),
            ("x\u{301}y", "xy"),
            ("CON", "CON"),
        ] {
            assert_eq!(secure_filename(input), want, "{input:?}");
        }
    }

    #[test]
    fn long_names_are_capped() {
        let long = "a".repeat(1000);
        assert_eq!(secure_filename(&long), "a".repeat(MAX_SECURE_FILENAME));
        // A cut that ends on a dot or underscore is stripped again.
        let dotted = format!("{}._x", "b".repeat(MAX_SECURE_FILENAME - 1));
        assert_eq!(
            secure_filename(&dotted),
            "b".repeat(MAX_SECURE_FILENAME - 1)
        );
        // Characters that are removed do not count.
        let accented = format!("{}{}", "é".repeat(500), "c".repeat(10));
        assert_eq!(secure_filename(&accented), "e".repeat(MAX_SECURE_FILENAME));
    }

    #[test]
    fn windows_paths() {
        assert_eq!(strip_windows_path("C:\\Users\\bob\\vmlinuz"), "vmlinuz");
        assert_eq!(strip_windows_path("\\\\srv\\share\\initrd.gz"), "initrd.gz");
        assert_eq!(strip_windows_path("a/b\\c"), "a/b\\c");
        assert_eq!(strip_windows_path("C:/x"), "C:/x");
        assert_eq!(strip_windows_path("é:\\x"), "x");
        assert_eq!(strip_windows_path(""), "");
        assert_eq!(strip_windows_path("C:\\"), "");
    }

    #[test]
    fn image_names() {
        for (user, file, want) in [
            ("bob", "vmlinuz-5.0", "bob/vmlinuz-5.0.82c1545c"),
            ("bob", "../../etc/pass wd", "bob/etc_pass_wd.82c1545c"),
            ("bob", "", "bob/.82c1545c"),
            ("bob", "...", "bob/.82c1545c"),
            ("", "vmlinuz", "vmlinuz.82c1545c"),
            ("../..", "vmlinuz", "vmlinuz.82c1545c"),
            ("", "", ".82c1545c"),
            ("Jöhn Doe", "a/b\\c", "John_Doe/a_bc.82c1545c"),
            ("bob", "C:\\Users\\bob\\vmlinuz", "bob/vmlinuz.82c1545c"),
        ] {
            let name = image_name(user, file, "82c1545c");
            assert_eq!(name, want, "{user:?} {file:?}");
            check_relative_path("filename", &name).unwrap();
        }
    }

    #[test]
    fn random_suffixes() {
        let a = random_suffix();
        assert_eq!(a.len(), 8);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_ne!(a, random_suffix());
        assert_ne!(fallback_bytes(), fallback_bytes());
        assert_eq!(to_hex(&[0, 0xab, 0x0f]), "00ab0f");
    }

    proptest! {
        #[test]
        fn secure_names_are_safe(name in any::<String>()) {
            let s = secure_filename(&name);
            prop_assert!(s.len() <= MAX_SECURE_FILENAME);
            prop_assert!(s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')));
            prop_assert!(!s.starts_with(STRIP) && !s.ends_with(STRIP));
            prop_assert_eq!(secure_filename(&s), s.clone());
        }

        #[test]
        fn image_names_are_valid_paths(user in any::<String>(), file in any::<String>()) {
            let name = image_name(&user, &file, &random_suffix());
            prop_assert!(check_relative_path("filename", &name).is_ok(), "{:?}", name);
            prop_assert!(name.len() <= 2 * MAX_SECURE_FILENAME + 10);
        }
    }
}
