//! TFTP packets (RFC 1350, options RFC 2347): a parser that borrows from the datagram and
//! never panics, and encoders.

use std::fmt;

/// Opcodes.
pub(crate) const RRQ: u16 = 1;
pub(crate) const WRQ: u16 = 2;
pub(crate) const DATA: u16 = 3;
pub(crate) const ACK: u16 = 4;
pub(crate) const ERROR: u16 = 5;
pub(crate) const OACK: u16 = 6;

/// Error codes (RFC 1350, RFC 2347).
pub(crate) mod code {
    pub(crate) const NOT_DEFINED: u16 = 0;
    pub(crate) const FILE_NOT_FOUND: u16 = 1;
    pub(crate) const ACCESS_VIOLATION: u16 = 2;
    pub(crate) const ILLEGAL_OPERATION: u16 = 4;
    pub(crate) const UNKNOWN_TID: u16 = 5;
    pub(crate) const OPTION_REFUSED: u16 = 8;
}

/// The largest block size RFC 2348 allows.
pub(crate) const MAX_BLKSIZE: u16 = 65464;
/// The smallest block size RFC 2348 allows.
pub(crate) const MIN_BLKSIZE: u16 = 8;
/// The block size without options.
pub(crate) const DEFAULT_BLKSIZE: u16 = 512;

/// A parsed packet, borrowing from the datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Packet<'a> {
    /// Read request.
    Rrq(Request<'a>),
    /// Write request.
    Wrq(Request<'a>),
    /// A data block.
    Data { block: u16, data: &'a [u8] },
    /// Acknowledgement of a block.
    Ack(u16),
    /// An error; the message without its NUL.
    Error { code: u16, message: &'a [u8] },
    /// Option acknowledgement.
    Oack(OptionList<'a>),
}

/// A read or write request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request<'a> {
    /// The file name, as sent (without its NUL).
    pub(crate) filename: &'a [u8],
    /// The mode, as sent.
    pub(crate) mode: &'a [u8],
    /// The options that follow.
    pub(crate) options: OptionList<'a>,
}

/// Options as `name NUL value NUL` pairs. Iterating drops an incomplete trailing pair
/// (a name or value without its NUL, or a name without a value).
#[derive(Clone, Copy)]
pub(crate) struct OptionList<'a>(&'a [u8]);

impl<'a> OptionList<'a> {
    /// The pairs, in order.
    pub(crate) fn iter(&self) -> OptionIter<'a> {
        OptionIter(self.0)
    }
}

impl PartialEq for OptionList<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for OptionList<'_> {}

impl fmt::Debug for OptionList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            }))
            .finish()
    }
}

/// Iterator over [`OptionList`] pairs.
pub(crate) struct OptionIter<'a>(&'a [u8]);

impl<'a> Iterator for OptionIter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let (name, rest) = split_nul(self.0)?;
        let Some((value, rest)) = split_nul(rest) else {
            self.0 = &[];
            return None;
        };
        self.0 = rest;
        Some((name, value))
    }
}

/// `(before the first NUL, after it)`, or `None` without a NUL.
fn split_nul(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = b.iter().position(|&c| c == 0)?;
    Some((&b[..i], &b[i + 1..]))
}

/// Why a datagram is not a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParseError {
    /// Shorter than its opcode and fixed fields.
    #[error("packet too short")]
    TooShort,
    /// An opcode TFTP does not define.
    #[error("unknown opcode {0}")]
    UnknownOpcode(u16),
    /// A request field without its terminating NUL.
    #[error("request {0} is not NUL-terminated")]
    Unterminated(&'static str),
}

/// Parses a datagram.
pub(crate) fn parse(b: &[u8]) -> Result<Packet<'_>, ParseError> {
    if b.len() < 2 {
        return Err(ParseError::TooShort);
    }
    let op = u16::from_be_bytes([b[0], b[1]]);
    let body = &b[2..];
    match op {
        RRQ | WRQ => {
            let (filename, rest) = split_nul(body).ok_or(ParseError::Unterminated("file name"))?;
            let (mode, rest) = split_nul(rest).ok_or(ParseError::Unterminated("mode"))?;
            let request = Request {
                filename,
                mode,
                options: OptionList(rest),
            };
            Ok(if op == RRQ {
                Packet::Rrq(request)
            } else {
                Packet::Wrq(request)
            })
        }
        DATA | ACK | ERROR => {
            if body.len() < 2 {
                return Err(ParseError::TooShort);
            }
            let n = u16::from_be_bytes([body[0], body[1]]);
            let rest = &body[2..];
            Ok(match op {
                DATA => Packet::Data {
                    block: n,
                    data: rest,
                },
                ACK => Packet::Ack(n),
                _ => Packet::Error {
                    code: n,
                    message: split_nul(rest).map_or(rest, |(m, _)| m),
                },
            })
        }
        OACK => Ok(Packet::Oack(OptionList(body))),
        other => Err(ParseError::UnknownOpcode(other)),
    }
}

/// The 4-byte header of DATA block `block`.
pub(crate) fn data_header(block: u16) -> [u8; 4] {
    let [a, b] = DATA.to_be_bytes();
    let [c, d] = block.to_be_bytes();
    [a, b, c, d]
}

/// An ERROR packet.
pub(crate) fn error(code: u16, message: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(5 + message.len());
    v.extend_from_slice(&ERROR.to_be_bytes());
    v.extend_from_slice(&code.to_be_bytes());
    // A message is text up to a NUL: drop any NUL inside it.
    v.extend(message.bytes().filter(|&c| c != 0));
    v.push(0);
    v
}

/// An OACK packet with these pairs.
pub(crate) fn oack<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<u8> {
    let mut v = OACK.to_be_bytes().to_vec();
    for (name, value) in pairs {
        push_cstr(&mut v, name.as_bytes());
        push_cstr(&mut v, value.as_bytes());
    }
    v
}

fn push_cstr(v: &mut Vec<u8>, s: &[u8]) {
    v.extend_from_slice(s);
    v.push(0);
}

impl Packet<'_> {
    /// Encodes the packet (fields with NULs inside do not round-trip).
    #[cfg(test)]
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        let options = |v: &mut Vec<u8>, o: &OptionList<'_>| {
            for (n, val) in o.iter() {
                push_cstr(v, n);
                push_cstr(v, val);
            }
        };
        match self {
            Packet::Rrq(r) | Packet::Wrq(r) => {
                let op = if matches!(self, Packet::Rrq(_)) {
                    RRQ
                } else {
                    WRQ
                };
                v.extend_from_slice(&op.to_be_bytes());
                push_cstr(&mut v, r.filename);
                push_cstr(&mut v, r.mode);
                options(&mut v, &r.options);
            }
            Packet::Data { block, data } => {
                v.extend_from_slice(&data_header(*block));
                v.extend_from_slice(data);
            }
            Packet::Ack(block) => {
                v.extend_from_slice(&ACK.to_be_bytes());
                v.extend_from_slice(&block.to_be_bytes());
            }
            Packet::Error { code, message } => {
                v.extend_from_slice(&ERROR.to_be_bytes());
                v.extend_from_slice(&code.to_be_bytes());
                push_cstr(&mut v, message);
            }
            Packet::Oack(o) => {
                v.extend_from_slice(&OACK.to_be_bytes());
                options(&mut v, o);
            }
        }
        v
    }
}

/// A decimal option value: ASCII digits only, saturating at `u64::MAX` (so a huge value is
/// huge, not an error); `None` for anything else.
pub(crate) fn decimal(b: &[u8]) -> Option<u64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u64, |acc, &d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rrq(body: &[u8]) -> Vec<u8> {
        let mut v = RRQ.to_be_bytes().to_vec();
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn parses_requests() {
        let b = rrq(b"pxelinux.0\0octet\0tsize\x000\0blksize\x001468\0");
        let Packet::Rrq(r) = parse(&b).unwrap() else {
            panic!()
        };
        assert_eq!(r.filename, b"pxelinux.0");
        assert_eq!(r.mode, b"octet");
        let opts: Vec<_> = r.options.iter().collect();
        assert_eq!(
            opts,
            vec![(&b"tsize"[..], &b"0"[..]), (&b"blksize"[..], &b"1468"[..])]
        );
        let mut w = b.clone();
        w[1] = 2;
        assert!(matches!(parse(&w), Ok(Packet::Wrq(_))));
    }

    #[test]
    fn missing_nuls() {
        assert_eq!(
            parse(&rrq(b"file")),
            Err(ParseError::Unterminated("file name"))
        );
        assert_eq!(
            parse(&rrq(b"file\0octet")),
            Err(ParseError::Unterminated("mode"))
        );
        // An incomplete trailing option is dropped; the complete ones stay.
        for tail in [&b"blksize"[..], b"blksize\0", b"blksize\x001024"] {
            let mut body = b"f\0octet\0tsize\x000\0".to_vec();
            body.extend_from_slice(tail);
            let b = rrq(&body);
            let Packet::Rrq(r) = parse(&b).unwrap() else {
                panic!()
            };
            let opts: Vec<_> = r.options.iter().collect();
            assert_eq!(opts, vec![(&b"tsize"[..], &b"0"[..])], "{tail:?}");
        }
        // An empty file name is still a request (refused later as a name).
        let b = rrq(b"\0octet\0");
        let Packet::Rrq(r) = parse(&b).unwrap() else {
            panic!()
        };
        assert_eq!(r.filename, b"");
    }

    #[test]
    fn short_and_unknown() {
        assert_eq!(parse(&[]), Err(ParseError::TooShort));
        assert_eq!(parse(&[0]), Err(ParseError::TooShort));
        assert_eq!(parse(&[0, 4, 0]), Err(ParseError::TooShort));
        assert_eq!(parse(&[0, 3]), Err(ParseError::TooShort));
        assert_eq!(parse(&[0, 7, 0, 0]), Err(ParseError::UnknownOpcode(7)));
        assert_eq!(parse(&[0, 0]), Err(ParseError::UnknownOpcode(0)));
        assert_eq!(parse(&[0, 4, 1, 2, 9, 9]), Ok(Packet::Ack(0x0102)));
        assert_eq!(
            parse(&[0, 5, 0, 8, b'n', b'o']),
            Ok(Packet::Error {
                code: 8,
                message: b"no"
            })
        );
        assert_eq!(
            parse(&[0, 3, 255, 255]),
            Ok(Packet::Data {
                block: 65535,
                data: b""
            })
        );
    }

    #[test]
    fn encoders() {
        assert_eq!(data_header(0x1234), [0, 3, 0x12, 0x34]);
        assert_eq!(error(2, "a\0b"), b"\0\x05\0\x02ab\0");
        assert_eq!(
            oack([("blksize", "1428"), ("tsize", "7")]),
            b"\0\x06blksize\x001428\0tsize\x007\0"
        );
        let b = oack([("windowsize", "16")]);
        let Packet::Oack(o) = parse(&b).unwrap() else {
            panic!()
        };
        assert_eq!(o.iter().next(), Some((&b"windowsize"[..], &b"16"[..])));
    }

    #[test]
    fn decimals() {
        assert_eq!(decimal(b"0"), Some(0));
        assert_eq!(decimal(b"1468"), Some(1468));
        assert_eq!(decimal(b"00512"), Some(512));
        assert_eq!(decimal(b"99999999999999999999999999"), Some(u64::MAX));
        for bad in [
            &b""[..],
            b"-1",
            b"+1",
            b" 1",
            b"1 ",
            b"0x10",
            b"1e3",
            b"\xff",
        ] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
    }

    fn cstr() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(1u8..=255, 0..40)
    }

    /// Kind, two byte strings, option pairs, a number.
    type Parts = (u8, Vec<u8>, Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>, u16);

    fn packet() -> impl Strategy<Value = Parts> {
        (
            0u8..6,
            cstr(),
            cstr(),
            proptest::collection::vec((cstr(), cstr()), 0..6),
            any::<u16>(),
        )
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(p) = parse(&b) {
                // Whatever parsed can be looked at in full.
                if let Packet::Rrq(r) | Packet::Wrq(r) = &p {
                    let _ = r.options.iter().count();
                }
                let _ = format!("{p:?}");
            }
        }

        #[test]
        fn arbitrary_requests_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut b = rrq(b"f\0octet\0");
            b.extend_from_slice(&tail);
            let Ok(Packet::Rrq(r)) = parse(&b) else { panic!("must parse") };
            for (n, v) in r.options.iter() {
                prop_assert!(!n.contains(&0) && !v.contains(&0));
            }
        }

        #[test]
        fn encode_parse_round_trip((kind, a, b, opts, n) in packet()) {
            let mut raw = Vec::new();
            for (k, v) in &opts {
                push_cstr(&mut raw, k);
                push_cstr(&mut raw, v);
            }
            let list = OptionList(&raw);
            let p = match kind {
                0 => Packet::Rrq(Request { filename: &a, mode: &b, options: list }),
                1 => Packet::Wrq(Request { filename: &a, mode: &b, options: list }),
                2 => Packet::Data { block: n, data: &a },
                3 => Packet::Ack(n),
                4 => Packet::Error { code: n, message: &a },
                _ => Packet::Oack(list),
            };
            let encoded = p.encode();
            prop_assert_eq!(parse(&encoded), Ok(p.clone()));
            if let Packet::Rrq(r) | Packet::Wrq(r) = &p {
                let got: Vec<(Vec<u8>, Vec<u8>)> =
                    r.options.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
                prop_assert_eq!(got, opts);
            }
        }
    }
}
