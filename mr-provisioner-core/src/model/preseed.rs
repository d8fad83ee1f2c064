//! Installer configs ("preseeds"): preseed, kickstart or autoyast templates, rendered per
//! machine.

pub use mr_provisioner_netboot::InstallerKind;

use crate::error::Result;
use crate::id::{PreseedId, UserId};
use crate::model::Timestamp;
use crate::validate;

/// Largest template accepted (2 MiB, as the original).
pub const MAX_CONTENT_BYTES: usize = 2 * 1024 * 1024;

/// An installer config template.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Preseed {
    /// Identity.
    pub id: PreseedId,
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Which installer it is for.
    pub kind: InstallerKind,
    /// Template source (minijinja syntax).
    pub content: Option<String>,
    /// Owner; none for configs imported without one.
    pub owner_id: Option<UserId>,
    /// Informational flag.
    pub known_good: bool,
    /// Visible to and usable by everyone.
    pub public: bool,
    /// Creation time.
    pub created_at: Timestamp,
}

/// An installer config to create or the new state of one.
#[derive(Debug, Clone)]
pub struct NewPreseed {
    /// Unique name, 2..=256 characters.
    pub name: String,
    /// Free text, at most 256 characters.
    pub description: Option<String>,
    /// Installer kind.
    pub kind: InstallerKind,
    /// Template source, at most 2 MiB.
    pub content: Option<String>,
    /// Owner.
    pub owner_id: Option<UserId>,
    /// Informational flag.
    pub known_good: bool,
    /// Public flag.
    pub public: bool,
}

impl NewPreseed {
    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        validate::name("name", &self.name, 2, 256)?;
        if let Some(d) = &self.description {
            validate::one_line("description", d, 256)?;
        }
        if let Some(c) = &self.content
            && c.len() > MAX_CONTENT_BYTES
        {
            return Err(crate::Error::invalid(
                "content",
                format!("content must be at most {MAX_CONTENT_BYTES} bytes"),
            ));
        }
        Ok(())
    }
}

impl From<&Preseed> for NewPreseed {
    fn from(p: &Preseed) -> Self {
        NewPreseed {
            name: p.name.clone(),
            description: p.description.clone(),
            kind: p.kind,
            content: p.content.clone(),
            owner_id: p.owner_id,
            known_good: p.known_good,
            public: p.public,
        }
    }
}
