//! The typed choices that select a BMC driver and its privilege level.

use std::fmt;
use std::str::FromStr;

/// Which driver talks to a BMC. Chosen by this enum, never by a free string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BmcKind {
    /// IPMI 2.0 over LAN (`ipmitool -I lanplus`).
    Plain,
    /// HP Moonshot chassis: IPMI with double bridging to the cartridge named by the machine's
    /// BMC info (the cartridge number).
    Moonshot,
    /// The DMTF Redfish REST API.
    Redfish,
    /// The in-process simulator, for tests, demos and embedders.
    Sim,
}

/// A string that names no known value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}; expected one of: {expected}")]
pub struct ParseKindError {
    /// What was being parsed.
    pub what: &'static str,
    /// The rejected input.
    pub value: String,
    /// The accepted values, comma-separated.
    pub expected: &'static str,
}

impl BmcKind {
    /// Every kind, in a stable order.
    pub const ALL: [BmcKind; 4] = [
        BmcKind::Plain,
        BmcKind::Moonshot,
        BmcKind::Redfish,
        BmcKind::Sim,
    ];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            BmcKind::Plain => "plain",
            BmcKind::Moonshot => "moonshot",
            BmcKind::Redfish => "redfish",
            BmcKind::Sim => "sim",
        }
    }
}

impl fmt::Display for BmcKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BmcKind {
    type Err = ParseKindError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BmcKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ParseKindError {
                what: "BMC type",
                value: s.to_string(),
                expected: "plain, moonshot, redfish, sim",
            })
    }
}

/// The IPMI privilege level a session asks for (`ipmitool -L`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Privilege {
    /// CALLBACK.
    Callback,
    /// USER.
    User,
    /// OPERATOR: enough for power and boot-device control on most BMCs.
    Operator,
    /// ADMINISTRATOR: what the original always stored (as `admin`).
    #[default]
    #[serde(alias = "admin")]
    Administrator,
}

impl Privilege {
    /// Every level, lowest first.
    pub const ALL: [Privilege; 4] = [
        Privilege::Callback,
        Privilege::User,
        Privilege::Operator,
        Privilege::Administrator,
    ];

    /// The stored and displayed name (lower case).
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::Callback => "callback",
            Privilege::User => "user",
            Privilege::Operator => "operator",
            Privilege::Administrator => "administrator",
        }
    }

    /// The name ipmitool's `-L` expects.
    pub fn ipmitool_name(self) -> &'static str {
        match self {
            Privilege::Callback => "CALLBACK",
            Privilege::User => "USER",
            Privilege::Operator => "OPERATOR",
            Privilege::Administrator => "ADMINISTRATOR",
        }
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Privilege {
    type Err = ParseKindError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        if lower == "admin" {
            return Ok(Privilege::Administrator);
        }
        Privilege::ALL
            .into_iter()
            .find(|p| p.as_str() == lower)
            .ok_or_else(|| ParseKindError {
                what: "IPMI privilege level",
                value: s.to_string(),
                expected: "callback, user, operator, administrator (or admin)",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in BmcKind::ALL {
            assert_eq!(kind.as_str().parse::<BmcKind>().unwrap(), kind);
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        let err = "ilo".parse::<BmcKind>().unwrap_err();
        assert!(err.to_string().contains("\"ilo\""));
        assert!(err.to_string().contains("plain, moonshot"));
    }

    #[test]
    fn privileges() {
        for p in Privilege::ALL {
            assert_eq!(p.as_str().parse::<Privilege>().unwrap(), p);
            assert_eq!(p.ipmitool_name().parse::<Privilege>().unwrap(), p);
        }
        assert_eq!(
            serde_json::from_str::<Privilege>("\"admin\"").unwrap(),
            Privilege::Administrator
        );
        assert!("root".parse::<Privilege>().is_err());
    }
}
