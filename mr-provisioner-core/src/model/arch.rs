//! Architectures and sub-architectures (for example `arm64` / `efi`). A subarch names the
//! bootloader its machines get over DHCP and whether boot-device changes need the EFI flag.

use crate::error::Result;
use crate::id::{ArchId, ImageId, SubarchId};
use crate::validate;

/// A CPU architecture.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Arch {
    /// Identity.
    pub id: ArchId,
    /// Unique name, e.g. `arm64`.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
}

/// An architecture to create or the new state of one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewArch {
    /// Unique name, 2..=256 characters.
    pub name: String,
    /// Free text, at most 256 characters.
    pub description: Option<String>,
}

impl NewArch {
    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        validate::name("name", &self.name, 2, 256)?;
        if let Some(d) = &self.description {
            validate::one_line("description", d, 256)?;
        }
        Ok(())
    }
}

/// A sub-architecture of one architecture (firmware flavour: `efi`, `bios`, ...).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Subarch {
    /// Identity.
    pub id: SubarchId,
    /// The architecture it belongs to.
    pub arch_id: ArchId,
    /// Name, unique within its architecture.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// The bootloader image handed out by DHCP (an image of type bootloader and the same arch).
    pub bootloader_id: Option<ImageId>,
    /// Whether `chassis bootdev` commands get `options=efiboot`.
    pub efiboot: bool,
}

/// A subarch to create or the new state of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubarch {
    /// The architecture.
    pub arch_id: ArchId,
    /// Name, 2..=256 characters, unique within the architecture.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Bootloader image.
    pub bootloader_id: Option<ImageId>,
    /// EFI boot flag.
    pub efiboot: bool,
}

impl NewSubarch {
    /// Checks every field (the bootloader's type and arch are checked by the store, which
    /// can see the image).
    pub fn validate(&self) -> Result<()> {
        validate::name("name", &self.name, 2, 256)?;
        if let Some(d) = &self.description {
            validate::one_line("description", d, 256)?;
        }
        Ok(())
    }
}

impl From<&Subarch> for NewSubarch {
    fn from(s: &Subarch) -> Self {
        NewSubarch {
            arch_id: s.arch_id,
            name: s.name.clone(),
            description: s.description.clone(),
            bootloader_id: s.bootloader_id,
            efiboot: s.efiboot,
        }
    }
}
