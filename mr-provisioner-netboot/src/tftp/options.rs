//! Option negotiation: blksize (RFC 2348), tsize and timeout (RFC 2349), windowsize
//! (RFC 7440).

use std::time::Duration;

use super::packet::{self, DEFAULT_BLKSIZE, MAX_BLKSIZE, MIN_BLKSIZE, OptionList};

/// The largest window used whatever the configuration says: block numbers are 16 bits,
/// and an ACK must name one block of the window unambiguously.
pub(crate) const WINDOW_CAP: u16 = 32768;

/// The limits a server sets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_block_size: u16,
    pub(crate) max_window_size: u16,
    pub(crate) timeout: Duration,
}

/// What was agreed for one transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Negotiated {
    pub(crate) blksize: u16,
    pub(crate) windowsize: u16,
    pub(crate) timeout: Duration,
    /// The options acknowledged, in the client's order, lowercase; empty: send no OACK.
    pub(crate) acknowledged: Vec<(&'static str, String)>,
}

impl Negotiated {
    /// The OACK packet, or `None` when no option was acknowledged.
    pub(crate) fn oack(&self) -> Option<Vec<u8>> {
        (!self.acknowledged.is_empty()).then(|| {
            packet::oack(
                self.acknowledged
                    .iter()
                    .map(|(name, value)| (*name, value.as_str())),
            )
        })
    }
}

/// Negotiates `options`. `tsize` is the size to announce, or `None` if it is not known
/// (netascii), in which case a tsize option is not acknowledged; nor is it for a size of
/// 0, which curl refuses.
///
/// Names are case-insensitive; the first occurrence of a name counts and later ones are
/// ignored; unknown options and invalid values are ignored (not acknowledged):
/// blksize below 8 or not a number, timeout outside 1..=255, windowsize 0. A blksize
/// or windowsize above the server's limit is lowered to it.
pub(crate) fn negotiate(
    options: OptionList<'_>,
    limits: &Limits,
    tsize: Option<u64>,
) -> Negotiated {
    let max_block = limits.max_block_size.clamp(MIN_BLKSIZE, MAX_BLKSIZE);
    let max_window = limits.max_window_size.clamp(1, WINDOW_CAP);
    let mut n = Negotiated {
        blksize: DEFAULT_BLKSIZE,
        windowsize: 1,
        timeout: limits.timeout,
        acknowledged: Vec::new(),
    };
    let mut seen = [false; 4];
    for (name, value) in options.iter() {
        let (index, key) = if name.eq_ignore_ascii_case(b"blksize") {
            (0, "blksize")
        } else if name.eq_ignore_ascii_case(b"tsize") {
            (1, "tsize")
        } else if name.eq_ignore_ascii_case(b"timeout") {
            (2, "timeout")
        } else if name.eq_ignore_ascii_case(b"windowsize") {
            (3, "windowsize")
        } else {
            continue;
        };
        if std::mem::replace(&mut seen[index], true) {
            continue;
        }
        let value = packet::decimal(value);
        let agreed = match index {
            0 => value.filter(|&v| v >= u64::from(MIN_BLKSIZE)).map(|v| {
                n.blksize = v.min(u64::from(max_block)) as u16;
                n.blksize.to_string()
            }),
            // RFC 2349: a read request carries 0; any value is answered with the size.
            // An empty file's size is not announced: curl (7.88) takes "tsize 0" in an
            // OACK for an error and gives up.
            1 => tsize.filter(|&size| size > 0).map(|size| size.to_string()),
            2 => value.filter(|v| (1..=255).contains(v)).map(|v| {
                n.timeout = Duration::from_secs(v);
                v.to_string()
            }),
            _ => value.filter(|&v| v >= 1).map(|v| {
                n.windowsize = v.min(u64::from(max_window)) as u16;
                n.windowsize.to_string()
            }),
        };
        if let Some(value) = agreed {
            n.acknowledged.push((key, value));
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tftp::packet::{Packet, parse};

    const LIMITS: Limits = Limits {
        max_block_size: 1468,
        max_window_size: 16,
        timeout: Duration::from_secs(1),
    };

    fn neg(opts: &[(&str, &str)], tsize: Option<u64>) -> Negotiated {
        let mut raw = vec![0, 1];
        raw.extend_from_slice(b"f\0octet\0");
        for (k, v) in opts {
            raw.extend_from_slice(k.as_bytes());
            raw.push(0);
            raw.extend_from_slice(v.as_bytes());
            raw.push(0);
        }
        let Packet::Rrq(r) = parse(&raw).unwrap() else {
            panic!()
        };
        negotiate(r.options, &LIMITS, tsize)
    }

    fn acked(n: &Negotiated) -> Vec<(&str, &str)> {
        n.acknowledged
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect()
    }

    #[test]
    fn no_options_no_oack() {
        let n = neg(&[], Some(10));
        assert_eq!(n.blksize, 512);
        assert_eq!(n.windowsize, 1);
        assert_eq!(n.timeout, Duration::from_secs(1));
        assert!(n.oack().is_none());
        // Only unknown options: no OACK either.
        assert!(
            neg(&[("multicast", ""), ("rollover", "0")], Some(1))
                .oack()
                .is_none()
        );
    }

    #[test]
    fn all_options() {
        let n = neg(
            &[
                ("tsize", "0"),
                ("blksize", "1024"),
                ("timeout", "3"),
                ("windowsize", "8"),
            ],
            Some(123_456),
        );
        assert_eq!(
            acked(&n),
            [
                ("tsize", "123456"),
                ("blksize", "1024"),
                ("timeout", "3"),
                ("windowsize", "8")
            ]
        );
        assert_eq!((n.blksize, n.windowsize), (1024, 8));
        assert_eq!(n.timeout, Duration::from_secs(3));
        let oack = n.oack().unwrap();
        assert_eq!(
            oack,
            b"\0\x06tsize\x00123456\0blksize\x001024\0timeout\x003\0windowsize\x008\0"
        );
    }

    #[test]
    fn case_insensitive_names_lowercase_answers() {
        let n = neg(
            &[("BLKSIZE", "1024"), ("TSize", "0"), ("WindowSize", "2")],
            Some(5),
        );
        assert_eq!(
            acked(&n),
            [("blksize", "1024"), ("tsize", "5"), ("windowsize", "2")]
        );
    }

    #[test]
    fn clamping_and_limits() {
        let n = neg(&[("blksize", "65464"), ("windowsize", "65535")], None);
        assert_eq!(acked(&n), [("blksize", "1468"), ("windowsize", "16")]);
        let n = neg(&[("blksize", "99999999999999999999999")], None);
        assert_eq!(acked(&n), [("blksize", "1468")]);
        let n = neg(&[("blksize", "8")], None);
        assert_eq!(n.blksize, 8);
        for bad in ["7", "0", "", "-512", "abc", "1k"] {
            let n = neg(&[("blksize", bad)], None);
            assert!(n.acknowledged.is_empty(), "{bad}");
            assert_eq!(n.blksize, 512);
        }
        for bad in ["0", "256", "99999999999999999999", "x"] {
            assert!(
                neg(&[("timeout", bad)], None).acknowledged.is_empty(),
                "{bad}"
            );
        }
        assert_eq!(
            acked(&neg(&[("timeout", "255")], None)),
            [("timeout", "255")]
        );
        assert!(neg(&[("windowsize", "0")], None).acknowledged.is_empty());
        let n = neg(&[("windowsize", "99999999999999999999")], None);
        assert_eq!(n.windowsize, 16);
    }

    #[test]
    fn duplicates_first_wins() {
        let n = neg(
            &[("blksize", "1024"), ("blksize", "600"), ("BLKSIZE", "800")],
            None,
        );
        assert_eq!(acked(&n), [("blksize", "1024")]);
        assert_eq!(n.blksize, 1024);
        // A first occurrence with a bad value still uses up the name.
        let n = neg(&[("blksize", "1"), ("blksize", "600")], None);
        assert!(n.acknowledged.is_empty());
    }

    #[test]
    fn tsize_unknown_not_acknowledged() {
        let n = neg(&[("tsize", "0"), ("blksize", "1024")], None);
        assert_eq!(acked(&n), [("blksize", "1024")]);
        // Any value in a read request is answered with the size.
        assert_eq!(acked(&neg(&[("tsize", "junk")], Some(7))), [("tsize", "7")]);
        // An empty file's size is not announced (curl refuses "tsize 0").
        assert!(neg(&[("tsize", "0")], Some(0)).acknowledged.is_empty());
    }

    #[test]
    fn server_limits_are_sane_whatever_configured() {
        let limits = Limits {
            max_block_size: 0,
            max_window_size: 0,
            timeout: Duration::from_secs(1),
        };
        let raw = b"\0\x01f\0octet\0blksize\x001000\0windowsize\x0010\0";
        let Packet::Rrq(r) = parse(raw).unwrap() else {
            panic!()
        };
        let n = negotiate(r.options, &limits, None);
        assert_eq!((n.blksize, n.windowsize), (8, 1));
    }
}
