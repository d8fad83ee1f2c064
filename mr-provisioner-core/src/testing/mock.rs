//! A mockall mock of the whole [`Store`], for error paths that a real database cannot be
//! made to produce on demand (an unavailable database, a failing write). Prefer the real
//! store on SQLite for everything else.
//!
//! Generated from the traits in `store/mod.rs`; a compile error here means a trait changed.
#![allow(missing_docs)]

use std::net::Ipv4Addr;

use async_trait::async_trait;

use crate::error::Result;
use crate::id::*;
use crate::mac::MacAddr;
use crate::model::Timestamp;
use crate::model::arch::{Arch, NewArch, NewSubarch, Subarch};
use crate::model::assignment::{Assignment, NewAssignment};
use crate::model::audit::{AuditEntry, NewAuditEntry};
use crate::model::bmc::{Bmc, NewBmc};
use crate::model::console_token::ConsoleToken;
use crate::model::discovered_mac::{DiscoveredMac, Sighting};
use crate::model::event::{MachineEvent, NewEvent};
use crate::model::image::{Image, NewImage};
use crate::model::interface::{Interface, NewInterface};
use crate::model::lease::Lease;
use crate::model::machine::{BootTarget, Machine, MachineBrief, MachineSummary, NewMachine};
use crate::model::network::{Network, NewNetwork};
use crate::model::preseed::{NewPreseed, Preseed};
use crate::model::token::{ApiToken, NewToken};
use crate::model::user::{NewUser, User, UserUpdate};
use crate::query::Filter;
use crate::store::*;

mockall::mock! {
    /// A mock [`Store`]: set expectations with `expect_<method>()`.
    pub Store {}

    #[async_trait]
    impl UserStore for Store {
        async fn user_create(&self, new: &NewUser) -> Result<User>;
        async fn user_get(&self, id: UserId) -> Result<User>;
        async fn user_by_name(&self, username: &str) -> Result<Option<User>>;
        async fn user_list(&self) -> Result<Vec<User>>;
        async fn user_count(&self) -> Result<u64>;
        async fn user_update(&self, id: UserId, update: &UserUpdate) -> Result<User>;
        async fn user_password_hash(&self, id: UserId) -> Result<Option<String>>;
        async fn user_set_password(&self, id: UserId, hash: &str) -> Result<()>;
        async fn user_delete(&self, id: UserId) -> Result<()>;
    }

    #[async_trait]
    impl TokenStore for Store {
        async fn token_create(&self, new: &NewToken) -> Result<ApiToken>;
        async fn token_get(&self, id: TokenId) -> Result<ApiToken>;
        async fn token_list(&self, user_id: UserId) -> Result<Vec<ApiToken>>;
        async fn token_authenticate(&self, hash: &str) -> Result<Option<(ApiToken, User)>>;
        async fn token_touch(&self, id: TokenId, at: Timestamp) -> Result<()>;
        async fn token_delete(&self, id: TokenId) -> Result<()>;
    }

    #[async_trait]
    impl BmcStore for Store {
        async fn bmc_create(&self, new: &NewBmc) -> Result<Bmc>;
        async fn bmc_get(&self, id: BmcId) -> Result<Bmc>;
        async fn bmc_by_name(&self, name: &str) -> Result<Option<Bmc>>;
        async fn bmc_list(&self) -> Result<Vec<Bmc>>;
        async fn bmc_update(&self, id: BmcId, new: &NewBmc) -> Result<Bmc>;
        async fn bmc_delete(&self, id: BmcId) -> Result<()>;
    }

    #[async_trait]
    impl ArchStore for Store {
        async fn arch_create(&self, new: &NewArch) -> Result<Arch>;
        async fn arch_get(&self, id: ArchId) -> Result<Arch>;
        async fn arch_by_name(&self, name: &str) -> Result<Option<Arch>>;
        async fn arch_list(&self) -> Result<Vec<Arch>>;
        async fn arch_update(&self, id: ArchId, new: &NewArch) -> Result<Arch>;
        async fn arch_delete(&self, id: ArchId) -> Result<()>;
        async fn subarch_create(&self, new: &NewSubarch) -> Result<Subarch>;
        async fn subarch_get(&self, id: SubarchId) -> Result<Subarch>;
        async fn subarch_by_name(&self, arch_id: ArchId, name: &str) -> Result<Option<Subarch>>;
        async fn subarch_list(&self, arch_id: Option<ArchId>) -> Result<Vec<Subarch>>;
        async fn subarch_update(&self, id: SubarchId, new: &NewSubarch) -> Result<Subarch>;
        async fn subarch_delete(&self, id: SubarchId) -> Result<()>;
    }

    #[async_trait]
    impl ImageStore for Store {
        async fn image_create(&self, new: &NewImage) -> Result<Image>;
        async fn image_get(&self, id: ImageId) -> Result<Image>;
        async fn image_by_filename(&self, filename: &str) -> Result<Option<Image>>;
        async fn image_list(&self, visibility: Visibility) -> Result<Vec<Image>>;
        async fn image_update(&self, id: ImageId, new: &NewImage) -> Result<Image>;
        async fn image_delete(&self, id: ImageId) -> Result<()>;
    }

    #[async_trait]
    impl PreseedStore for Store {
        async fn preseed_create(&self, new: &NewPreseed) -> Result<Preseed>;
        async fn preseed_get(&self, id: PreseedId) -> Result<Preseed>;
        async fn preseed_by_name(&self, name: &str) -> Result<Option<Preseed>>;
        async fn preseed_list(&self, visibility: Visibility) -> Result<Vec<Preseed>>;
        async fn preseed_update(&self, id: PreseedId, new: &NewPreseed) -> Result<Preseed>;
        async fn preseed_delete(&self, id: PreseedId) -> Result<()>;
    }

    #[async_trait]
    impl MachineStore for Store {
        async fn machine_create(&self, new: &NewMachine) -> Result<Machine>;
        async fn machine_get(&self, id: MachineId) -> Result<Machine>;
        async fn machine_by_name(&self, name: &str) -> Result<Option<Machine>>;
        async fn machine_list(&self, query: &MachineListQuery) -> Result<Vec<MachineSummary>>;
        async fn machine_list_brief(&self, query: &MachineListQuery) -> Result<Vec<MachineBrief>>;
        async fn machine_update(&self, id: MachineId, new: &NewMachine) -> Result<Machine>;
        async fn machine_delete(&self, id: MachineId) -> Result<()>;
        async fn machine_boot_by_mac(&self, mac: MacAddr) -> Result<Option<BootTarget>>;
        async fn machine_boot_list(&self) -> Result<Vec<(MacAddr, BootTarget)>>;
    }

    #[async_trait]
    impl AssignmentStore for Store {
        async fn assignment_create(&self, new: &NewAssignment) -> Result<Assignment>;
        async fn assignment_get(&self, id: AssignmentId) -> Result<Assignment>;
        async fn assignment_find( &self, machine_id: MachineId, user_id: UserId, ) -> Result<Option<Assignment>>;
        async fn assignment_list_for_machine(&self, machine_id: MachineId) -> Result<Vec<Assignment>>;
        async fn assignment_list_for_user(&self, user_id: UserId) -> Result<Vec<Assignment>>;
        async fn assignment_list_expired(&self, now: Timestamp) -> Result<Vec<Assignment>>;
        async fn assignment_update( &self, id: AssignmentId, reason: &str, end: Option<Timestamp>, ) -> Result<Assignment>;
        async fn assignment_delete(&self, id: AssignmentId) -> Result<()>;
        async fn assignment_reserve( &self, user_id: UserId, filter: Option<Filter>, reason: &str, end: Option<Timestamp>, ) -> Result<Option<(Assignment, MachineSummary)>>;
    }

    #[async_trait]
    impl InterfaceStore for Store {
        async fn interface_create(&self, new: &NewInterface) -> Result<Interface>;
        async fn interface_get(&self, id: InterfaceId) -> Result<Interface>;
        async fn interface_by_mac(&self, mac: MacAddr) -> Result<Option<Interface>>;
        async fn interface_list_for_machine(&self, machine_id: MachineId) -> Result<Vec<Interface>>;
        async fn interface_list_for_network(&self, network_id: NetworkId) -> Result<Vec<Interface>>;
        async fn interface_update(&self, id: InterfaceId, new: &NewInterface) -> Result<Interface>;
        async fn interface_delete(&self, id: InterfaceId) -> Result<()>;
    }

    #[async_trait]
    impl NetworkStore for Store {
        async fn network_create(&self, new: &NewNetwork) -> Result<Network>;
        async fn network_get(&self, id: NetworkId) -> Result<Network>;
        async fn network_by_name(&self, name: &str) -> Result<Option<Network>>;
        async fn network_list(&self) -> Result<Vec<Network>>;
        async fn network_update(&self, id: NetworkId, new: &NewNetwork) -> Result<Network>;
        async fn network_delete(&self, id: NetworkId) -> Result<()>;
    }

    #[async_trait]
    impl LeaseStore for Store {
        async fn lease_upsert( &self, mac: MacAddr, ipv4: Option<Ipv4Addr>, at: Timestamp, ) -> Result<Lease>;
        async fn lease_by_mac(&self, mac: MacAddr) -> Result<Option<Lease>>;
        async fn lease_list(&self) -> Result<Vec<Lease>>;
    }

    #[async_trait]
    impl DiscoveredMacStore for Store {
        async fn discovered_mac_upsert( &self, mac: MacAddr, sighting: &Sighting, at: Timestamp, ) -> Result<DiscoveredMac>;
        async fn discovered_mac_get(&self, id: DiscoveredMacId) -> Result<DiscoveredMac>;
        async fn discovered_mac_list(&self) -> Result<Vec<DiscoveredMac>>;
        async fn discovered_mac_delete(&self, id: DiscoveredMacId) -> Result<()>;
    }

    #[async_trait]
    impl EventStore for Store {
        async fn event_record(&self, new: &NewEvent) -> Result<MachineEvent>;
        async fn event_record_many(&self, new: &[NewEvent]) -> Result<()>;
        async fn event_list(&self, machine_id: MachineId, page: Page) -> Result<Vec<MachineEvent>>;
        async fn event_purge(&self, before: Timestamp) -> Result<u64>;
    }

    #[async_trait]
    impl ConsoleTokenStore for Store {
        async fn console_token_create( &self, machine_id: MachineId, user_id: UserId, hash: &str, expires_at: Timestamp, ) -> Result<ConsoleToken>;
        async fn console_token_consume( &self, hash: &str, now: Timestamp, ) -> Result<Option<ConsoleToken>>;
        async fn console_token_purge(&self, now: Timestamp) -> Result<u64>;
    }

    #[async_trait]
    impl AuditStore for Store {
        async fn audit_record(&self, new: &NewAuditEntry) -> Result<AuditEntry>;
        async fn audit_list(&self, page: Page) -> Result<Vec<AuditEntry>>;
    }

    #[async_trait]
    impl Store for Store {
        fn backend(&self) -> Backend;
        async fn ping(&self) -> Result<()>;
        async fn begin(&self) -> Result<Box<dyn StoreTx>>;
    }
}
