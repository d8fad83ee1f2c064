//! Installer configs: listing what a caller may see, creating (anyone), changing and
//! deleting (owner or admin).

use mr_provisioner_netboot::InstallerKind;

use super::images::visibility;
use super::{Caller, Provisioner};
use crate::error::Result;
use crate::id::PreseedId;
use crate::model::preseed::{NewPreseed, Preseed};
use crate::policy::Action;

/// A change to an installer config, or the fields of a new one. `None` leaves a field.
#[derive(Debug, Clone, Default)]
pub struct PreseedChange {
    /// Name.
    pub name: Option<String>,
    /// Installer kind.
    pub kind: Option<InstallerKind>,
    /// Description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// Template text (`Some(None)` clears it).
    pub content: Option<Option<String>>,
    /// Informational flag.
    pub known_good: Option<bool>,
    /// Public flag.
    pub public: Option<bool>,
}

impl Provisioner {
    /// Installer configs the caller owns, or with `show_all` all they may see.
    pub async fn preseeds(&self, caller: &Caller, show_all: bool) -> Result<Vec<Preseed>> {
        self.store.preseed_list(visibility(caller, show_all)).await
    }

    /// One installer config, if the caller may see it.
    pub async fn preseed(&self, caller: &Caller, id: PreseedId) -> Result<Preseed> {
        let p = self.store.preseed_get(id).await?;
        caller.check(
            Action::ViewOwned {
                owner: p.owner_id == Some(caller.user.id),
                public: p.public,
            },
            "Forbidden",
        )?;
        Ok(p)
    }

    /// Creates an installer config owned by the caller. `name` and `kind` are required (the
    /// handler checks); absent content is empty text.
    pub async fn create_preseed(&self, caller: &Caller, change: PreseedChange) -> Result<Preseed> {
        caller.check(Action::CreateOwned, "Forbidden")?;
        let new = NewPreseed {
            name: change.name.unwrap_or_default(),
            description: change.description.flatten(),
            kind: change.kind.unwrap_or(InstallerKind::Preseed),
            content: change.content.unwrap_or(Some(String::new())),
            owner_id: Some(caller.user.id),
            known_good: change.known_good.unwrap_or(false),
            public: change.public.unwrap_or(false),
        };
        self.store.preseed_create(&new).await
    }

    async fn owned_preseed(&self, caller: &Caller, id: PreseedId) -> Result<Preseed> {
        let p = self.store.preseed_get(id).await?;
        caller.check(
            Action::ModifyOwned {
                owner: p.owner_id == Some(caller.user.id),
            },
            "Forbidden",
        )?;
        Ok(p)
    }

    /// Changes an installer config (owner or admin).
    pub async fn update_preseed(
        &self,
        caller: &Caller,
        id: PreseedId,
        change: PreseedChange,
    ) -> Result<Preseed> {
        let p = self.owned_preseed(caller, id).await?;
        let mut new = NewPreseed::from(&p);
        if let Some(n) = change.name {
            new.name = n;
        }
        if let Some(k) = change.kind {
            new.kind = k;
        }
        if let Some(d) = change.description {
            new.description = d;
        }
        if let Some(c) = change.content {
            new.content = c;
        }
        if let Some(k) = change.known_good {
            new.known_good = k;
        }
        if let Some(p) = change.public {
            new.public = p;
        }
        self.store.preseed_update(id, &new).await
    }

    /// Deletes an installer config (owner or admin). Conflict while a machine uses it.
    pub async fn delete_preseed(&self, caller: &Caller, id: PreseedId) -> Result<()> {
        self.owned_preseed(caller, id).await?;
        self.store.preseed_delete(id).await
    }
}
