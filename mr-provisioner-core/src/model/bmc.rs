//! Baseboard management controllers: how to reach a machine's power and console.

use mr_provisioner_ipmi::{BmcKind, Privilege};
use secrecy::SecretString;

use crate::error::{Error, Result};
use crate::id::BmcId;
use crate::validate;

/// A BMC. The password is a [`SecretString`]: its `Debug` is redacted and it is never
/// serialised to a client.
#[derive(Debug, Clone)]
pub struct Bmc {
    /// Identity.
    pub id: BmcId,
    /// Unique name.
    pub name: String,
    /// Unique IP address or host name.
    pub address: String,
    /// Port, when not the protocol's default (623 for IPMI, 443 for Redfish).
    pub port: Option<u16>,
    /// Login name (empty: none).
    pub username: String,
    /// Login password.
    pub password: SecretString,
    /// Which driver talks to it.
    pub kind: BmcKind,
    /// IPMI session privilege level.
    pub privilege: Privilege,
    /// IPMI cipher suite (`-C`), when not ipmitool's default.
    pub cipher_suite: Option<u8>,
    /// IPMI retransmissions (`-R`), when not the configured default.
    pub retries: Option<u8>,
    /// Deadline of one BMC call in milliseconds, when not the configured default.
    pub timeout_ms: Option<u32>,
}

/// A BMC to create, or the full new state of one being updated.
#[derive(Debug, Clone)]
pub struct NewBmc {
    /// Unique name, 2..=256 characters.
    pub name: String,
    /// IP address or host name.
    pub address: String,
    /// Port.
    pub port: Option<u16>,
    /// Login name, at most 256 characters.
    pub username: String,
    /// Password, at most 256 characters.
    pub password: SecretString,
    /// Driver.
    pub kind: BmcKind,
    /// Privilege level.
    pub privilege: Privilege,
    /// Cipher suite, 0..=17.
    pub cipher_suite: Option<u8>,
    /// Retransmissions, 0..=20.
    pub retries: Option<u8>,
    /// Call deadline in milliseconds, 100..=600000.
    pub timeout_ms: Option<u32>,
}

impl NewBmc {
    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        use secrecy::ExposeSecret;
        validate::name("name", &self.name, 2, 256)?;
        validate::host("address", &self.address)?;
        validate::length("username", &self.username, 0, 256)?;
        validate::length("password", self.password.expose_secret(), 0, 256)?;
        if self.port == Some(0) {
            return Err(Error::invalid("port", "port must be between 1 and 65535"));
        }
        if matches!(self.cipher_suite, Some(c) if c > 17) {
            return Err(Error::invalid(
                "cipher_suite",
                "cipher_suite must be between 0 and 17",
            ));
        }
        if matches!(self.retries, Some(r) if r > 20) {
            return Err(Error::invalid(
                "retries",
                "retries must be between 0 and 20",
            ));
        }
        if matches!(self.timeout_ms, Some(t) if !(100..=600_000).contains(&t)) {
            return Err(Error::invalid(
                "timeout_ms",
                "timeout_ms must be between 100 and 600000",
            ));
        }
        Ok(())
    }
}

impl From<&Bmc> for NewBmc {
    fn from(b: &Bmc) -> Self {
        NewBmc {
            name: b.name.clone(),
            address: b.address.clone(),
            port: b.port,
            username: b.username.clone(),
            password: b.password.clone(),
            kind: b.kind,
            privilege: b.privilege,
            cipher_suite: b.cipher_suite,
            retries: b.retries,
            timeout_ms: b.timeout_ms,
        }
    }
}

/// Checks a machine's BMC info against its BMC's kind: a Moonshot cartridge number must be
/// an integer from 1 to 45 (the chassis has 45 cartridge slots; the bridge target
/// `0x80 + 2 * cartridge` must fit in a byte).
pub fn check_bmc_info(kind: BmcKind, info: &str) -> Result<()> {
    match kind {
        BmcKind::Moonshot => match info.parse::<u8>() {
            Ok(n) if (1..=45).contains(&n) => Ok(()),
            _ => Err(Error::invalid(
                "bmc_info",
                format!(
                    "a Moonshot BMC needs the cartridge number (1 to 45) as BMC info, got {info:?}"
                ),
            )),
        },
        _ => validate::length("bmc_info", info, 0, 256),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bmc() -> NewBmc {
        NewBmc {
            name: "bmc plain".into(),
            address: "10.0.0.98".into(),
            port: None,
            username: "admin".into(),
            password: "password".into(),
            kind: BmcKind::Plain,
            privilege: Privilege::Administrator,
            cipher_suite: Some(3),
            retries: None,
            timeout_ms: None,
        }
    }

    #[test]
    fn validation() {
        assert!(bmc().validate().is_ok());
        let cases: [fn(&mut NewBmc); 7] = [
            |b| b.name = "x".into(),
            |b| b.address = "not an address".into(),
            |b| b.port = Some(0),
            |b| b.cipher_suite = Some(18),
            |b| b.retries = Some(21),
            |b| b.timeout_ms = Some(5),
            |b| b.password = "p".repeat(257).into(),
        ];
        for (i, mutate) in cases.iter().enumerate() {
            let mut b = bmc();
            mutate(&mut b);
            assert!(b.validate().is_err(), "case {i}");
        }
    }

    #[test]
    fn debug_redacts_password() {
        let text = format!("{:?}", bmc());
        assert!(!text.contains("password\""), "{text}");
        assert!(!text.contains("\"password"), "{text}");
    }

    #[test]
    fn moonshot_cartridge() {
        assert!(check_bmc_info(BmcKind::Moonshot, "3").is_ok());
        for bad in ["0", "46", "", "x", "-1"] {
            assert!(check_bmc_info(BmcKind::Moonshot, bad).is_err(), "{bad}");
        }
        assert!(check_bmc_info(BmcKind::Plain, "").is_ok());
    }
}
