//! Ethernet MAC addresses, normalised as the original (PostgreSQL `macaddr`) did.

use std::fmt;
use std::str::FromStr;

/// A 48-bit MAC address. Displays as lower-case `aa:bb:cc:dd:ee:ff`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(pub [u8; 6]);

/// A string that is not a MAC address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid MAC address {0:?}: expected six hex octets such as aa:bb:cc:dd:ee:ff")]
pub struct MacParseError(pub String);

impl MacAddr {
    /// The six octets.
    pub fn octets(self) -> [u8; 6] {
        self.0
    }

    /// The first three octets (the OUI) as upper-case hex without separators, e.g. `525400`.
    pub fn oui_hex(self) -> String {
        format!("{:02X}{:02X}{:02X}", self.0[0], self.0[1], self.0[2])
    }

    /// The form pxelinux and GRUB put in per-MAC file names: `aa-bb-cc-dd-ee-ff`.
    pub fn dashed(self) -> String {
        self.to_string().replace(':', "-")
    }
}

impl FromStr for MacAddr {
    type Err = MacParseError;

    /// Accepts the forms PostgreSQL's `macaddr` accepts: `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff`,
    /// `aabb.ccdd.eeff`, `aabbcc:ddeeff`, `aabbcc-ddeeff`, `aabb-ccdd-eeff`, `aabbccddeeff`,
    /// in any letter case, with surrounding whitespace ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || MacParseError(s.to_string());
        let trimmed = s.trim();
        // Group sizes (in hex digits) of each accepted layout, with its separator.
        let layouts: &[(&[usize], Option<char>)] = &[
            (&[2, 2, 2, 2, 2, 2], Some(':')),
            (&[2, 2, 2, 2, 2, 2], Some('-')),
            (&[4, 4, 4], Some('.')),
            (&[4, 4, 4], Some('-')),
            (&[6, 6], Some(':')),
            (&[6, 6], Some('-')),
            (&[12], None),
        ];
        for (groups, sep) in layouts {
            let parts: Vec<&str> = match sep {
                Some(c) => trimmed.split(*c).collect(),
                None => vec![trimmed],
            };
            if parts.len() != groups.len()
                || parts.iter().zip(groups.iter()).any(|(p, n)| p.len() != *n)
            {
                continue;
            }
            let hex: String = parts.concat();
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err());
            }
            let mut out = [0u8; 6];
            for (i, byte) in out.iter_mut().enumerate() {
                *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| err())?;
            }
            return Ok(MacAddr(out));
        }
        Err(err())
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            o[0], o[1], o[2], o[3], o[4], o[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MacAddr({self})")
    }
}

impl serde::Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms_normalise() {
        for input in [
            "00:11:22:AA:bb:cc",
            "00-11-22-aa-bb-cc",
            "0011.22aa.bbcc",
            "0011-22aa-bbcc",
            "001122:aabbcc",
            "001122-aabbcc",
            "001122AABBCC",
            "  00:11:22:aa:bb:cc\n",
        ] {
            let mac: MacAddr = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(mac.to_string(), "00:11:22:aa:bb:cc", "{input}");
        }
    }

    #[test]
    fn rejected_forms() {
        for input in [
            "",
            "00:11:22:aa:bb",
            "00:11:22:aa:bb:cc:dd",
            "00:11:22:aa:bb:cg",
            "0:11:22:aa:bb:cc0",
            "00:11-22:aa:bb:cc",
            "001122aabbc",
            "+0:11:22:aa:bb:cc",
            "é0:11:22:aa:bb:cc",
        ] {
            assert!(input.parse::<MacAddr>().is_err(), "{input:?} accepted");
        }
    }

    #[test]
    fn helpers() {
        let mac: MacAddr = "52:54:00:12:34:56".parse().unwrap();
        assert_eq!(mac.oui_hex(), "525400");
        assert_eq!(mac.dashed(), "52-54-00-12-34-56");
        assert_eq!(
            serde_json::to_string(&mac).unwrap(),
            "\"52:54:00:12:34:56\""
        );
    }
}
