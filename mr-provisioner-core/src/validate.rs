//! Small validation helpers shared by the model's constructors.

use crate::error::{Error, Result};

/// Checks that `value` has between `min` and `max` characters (Unicode scalar values,
/// inclusive, as the original counted).
pub(crate) fn length(field: &str, value: &str, min: usize, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n < min || n > max {
        let message = if min == 0 {
            format!("{field} must be at most {max} characters")
        } else {
            format!("{field} must be between {min} and {max} characters")
        };
        return Err(Error::invalid(field, message));
    }
    Ok(())
}

/// A name: `min..=max` characters, no control characters, no leading or trailing whitespace.
pub(crate) fn name(field: &str, value: &str, min: usize, max: usize) -> Result<()> {
    length(field, value, min, max)?;
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    if value.trim() != value {
        return Err(Error::invalid(
            field,
            format!("{field} must not start or end with whitespace"),
        ));
    }
    Ok(())
}

/// Free text that ends up on one line (a reason, a description): no control characters
/// other than tab.
pub(crate) fn one_line(field: &str, value: &str, max: usize) -> Result<()> {
    length(field, value, 0, max)?;
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(Error::invalid(
            field,
            format!("{field} must be a single line without control characters"),
        ));
    }
    Ok(())
}

/// A host name or IP address (RFC 1123 labels of letters, digits and hyphens).
pub(crate) fn host(field: &str, value: &str) -> Result<()> {
    if value.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let bad = || {
        Error::invalid(
            field,
            format!("{field} must be an IPv4 or IPv6 address or a host name, got {value:?}"),
        )
    };
    if value.is_empty() || value.len() > 253 {
        return Err(bad());
    }
    for label in value.trim_end_matches('.').split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(bad());
        }
    }
    // A dotted string of digits that did not parse as an address is a typo, not a name.
    if value
        .split('.')
        .all(|l| l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters() {
        assert!(length("name", "ab", 2, 3).is_ok());
        assert!(length("name", "äö", 2, 2).is_ok());
        assert!(length("name", "a", 2, 3).is_err());
        assert!(length("name", "abcd", 2, 3).is_err());
        let e = length("reason", "abcd", 0, 3).unwrap_err();
        assert_eq!(e.to_string(), "reason must be at most 3 characters");
    }

    #[test]
    fn names_and_lines() {
        assert!(name("name", "m1.lab_x", 2, 256).is_ok());
        assert!(name("name", " m1", 2, 256).is_err());
        assert!(name("name", "m\n1", 2, 256).is_err());
        assert!(one_line("reason", "testing\tthings", 140).is_ok());
        assert!(one_line("reason", "a\nb", 140).is_err());
    }

    #[test]
    fn hosts() {
        for ok in [
            "10.0.0.1",
            "::1",
            "fe80::1",
            "bmc-1.lab",
            "BMC1",
            "bmc.example.org.",
        ] {
            assert!(host("address", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "10.0.0.256",
            "1.2.3",
            "-bmc",
            "bmc_1",
            "a..b",
            "bmc 1",
            "h/x",
        ] {
            assert!(host("address", bad).is_err(), "{bad}");
        }
    }
}
