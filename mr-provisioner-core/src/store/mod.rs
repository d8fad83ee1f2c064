//! Persistence: small per-aggregate async traits composed into one [`Store`].
//!
//! Methods are named resource first (`machine_get`, `image_delete`). Lookups by id return
//! [`Error::NotFound`](crate::Error::NotFound) when nothing matches; lookups by another key
//! return `Option`. Writes validate their input (see [`crate::model`]) and map database
//! constraint violations to [`Error::AlreadyExists`](crate::Error::AlreadyExists) and
//! [`Error::Conflict`](crate::Error::Conflict), never to database text.
//!
//! The one implementation is [`sea::SeaStore`], on sea-orm for SQLite and PostgreSQL.

pub mod sea;

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

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (embedded, the default).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Which images or installer configs a listing returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Everything (an administrator's `show_all`).
    All,
    /// Only those owned by the user (the API default, admins included).
    OwnedBy(UserId),
    /// Those the user may see: public ones and their own.
    VisibleTo(UserId),
}

/// Which machines a listing returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MachineListQuery {
    /// Only machines this user is assigned to.
    pub assigned_to: Option<UserId>,
    /// Only machines with no assignment at all.
    pub only_free: bool,
    /// The query-language filter.
    pub filter: Option<Filter>,
    /// At most this many (ordered by id).
    pub limit: Option<u64>,
}

/// A page of a newest-first listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Only entries with an id below this one (the last id of the previous page).
    pub before: Option<i64>,
    /// At most this many.
    pub limit: u64,
}

/// Users and their password hashes.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user.
    async fn user_create(&self, new: &NewUser) -> Result<User>;
    /// The user with this id.
    async fn user_get(&self, id: UserId) -> Result<User>;
    /// The user with this name.
    async fn user_by_name(&self, username: &str) -> Result<Option<User>>;
    /// All users, by id.
    async fn user_list(&self) -> Result<Vec<User>>;
    /// How many users exist.
    async fn user_count(&self) -> Result<u64>;
    /// Changes a user.
    async fn user_update(&self, id: UserId, update: &UserUpdate) -> Result<User>;
    /// The stored password hash, if the user has one.
    async fn user_password_hash(&self, id: UserId) -> Result<Option<String>>;
    /// Replaces the password hash.
    async fn user_set_password(&self, id: UserId, hash: &str) -> Result<()>;
    /// Deletes a user with their API and console tokens. Conflict while they own images or
    /// installer configs or hold assignments.
    async fn user_delete(&self, id: UserId) -> Result<()>;
}

/// API tokens.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a token.
    async fn token_create(&self, new: &NewToken) -> Result<ApiToken>;
    /// The token with this id.
    async fn token_get(&self, id: TokenId) -> Result<ApiToken>;
    /// A user's tokens, by id.
    async fn token_list(&self, user_id: UserId) -> Result<Vec<ApiToken>>;
    /// The token with this hash and its user.
    async fn token_authenticate(&self, hash: &str) -> Result<Option<(ApiToken, User)>>;
    /// Records a use of the token.
    async fn token_touch(&self, id: TokenId, at: Timestamp) -> Result<()>;
    /// Deletes (revokes) a token.
    async fn token_delete(&self, id: TokenId) -> Result<()>;
}

/// BMCs.
#[async_trait]
pub trait BmcStore: Send + Sync {
    /// Creates a BMC.
    async fn bmc_create(&self, new: &NewBmc) -> Result<Bmc>;
    /// The BMC with this id.
    async fn bmc_get(&self, id: BmcId) -> Result<Bmc>;
    /// The BMC with this name.
    async fn bmc_by_name(&self, name: &str) -> Result<Option<Bmc>>;
    /// All BMCs, by id.
    async fn bmc_list(&self) -> Result<Vec<Bmc>>;
    /// Replaces a BMC's fields (re-checking its machines' BMC info against a new kind).
    async fn bmc_update(&self, id: BmcId, new: &NewBmc) -> Result<Bmc>;
    /// Deletes a BMC. Conflict while a machine uses it.
    async fn bmc_delete(&self, id: BmcId) -> Result<()>;
}

/// Architectures and sub-architectures.
#[async_trait]
pub trait ArchStore: Send + Sync {
    /// Creates an architecture.
    async fn arch_create(&self, new: &NewArch) -> Result<Arch>;
    /// The architecture with this id.
    async fn arch_get(&self, id: ArchId) -> Result<Arch>;
    /// The architecture with this name.
    async fn arch_by_name(&self, name: &str) -> Result<Option<Arch>>;
    /// All architectures, by id.
    async fn arch_list(&self) -> Result<Vec<Arch>>;
    /// Replaces an architecture's fields.
    async fn arch_update(&self, id: ArchId, new: &NewArch) -> Result<Arch>;
    /// Deletes an architecture and its subarchs. Conflict while machines or images use it.
    async fn arch_delete(&self, id: ArchId) -> Result<()>;
    /// Creates a subarch (its bootloader must be a bootloader image of the same arch).
    async fn subarch_create(&self, new: &NewSubarch) -> Result<Subarch>;
    /// The subarch with this id.
    async fn subarch_get(&self, id: SubarchId) -> Result<Subarch>;
    /// The subarch with this name in this architecture.
    async fn subarch_by_name(&self, arch_id: ArchId, name: &str) -> Result<Option<Subarch>>;
    /// Subarchs, of one architecture or all, by id.
    async fn subarch_list(&self, arch_id: Option<ArchId>) -> Result<Vec<Subarch>>;
    /// Replaces a subarch's fields.
    async fn subarch_update(&self, id: SubarchId, new: &NewSubarch) -> Result<Subarch>;
    /// Deletes a subarch. Conflict while machines use it.
    async fn subarch_delete(&self, id: SubarchId) -> Result<()>;
}

/// Images.
#[async_trait]
pub trait ImageStore: Send + Sync {
    /// Records an image.
    async fn image_create(&self, new: &NewImage) -> Result<Image>;
    /// The image with this id.
    async fn image_get(&self, id: ImageId) -> Result<Image>;
    /// The image with this file name.
    async fn image_by_filename(&self, filename: &str) -> Result<Option<Image>>;
    /// Images, by id.
    async fn image_list(&self, visibility: Visibility) -> Result<Vec<Image>>;
    /// Replaces an image's metadata.
    async fn image_update(&self, id: ImageId, new: &NewImage) -> Result<Image>;
    /// Deletes an image's record. Conflict while a machine or subarch uses it.
    async fn image_delete(&self, id: ImageId) -> Result<()>;
}

/// Installer configs.
#[async_trait]
pub trait PreseedStore: Send + Sync {
    /// Creates an installer config.
    async fn preseed_create(&self, new: &NewPreseed) -> Result<Preseed>;
    /// The config with this id.
    async fn preseed_get(&self, id: PreseedId) -> Result<Preseed>;
    /// The config with this name.
    async fn preseed_by_name(&self, name: &str) -> Result<Option<Preseed>>;
    /// Configs, by id.
    async fn preseed_list(&self, visibility: Visibility) -> Result<Vec<Preseed>>;
    /// Replaces a config.
    async fn preseed_update(&self, id: PreseedId, new: &NewPreseed) -> Result<Preseed>;
    /// Deletes a config. Conflict while a machine uses it.
    async fn preseed_delete(&self, id: PreseedId) -> Result<()>;
}

/// Machines.
#[async_trait]
pub trait MachineStore: Send + Sync {
    /// Creates a machine.
    async fn machine_create(&self, new: &NewMachine) -> Result<Machine>;
    /// The machine with this id.
    async fn machine_get(&self, id: MachineId) -> Result<Machine>;
    /// The machine with this name.
    async fn machine_by_name(&self, name: &str) -> Result<Option<Machine>>;
    /// Machines with their arch and subarch names, by id.
    async fn machine_list(&self, query: &MachineListQuery) -> Result<Vec<MachineSummary>>;
    /// The same machines as [`machine_list`](Self::machine_list), only the fields the API's
    /// listing shows, fetched in one piece (much faster for thousands of machines).
    async fn machine_list_brief(&self, query: &MachineListQuery) -> Result<Vec<MachineBrief>>;
    /// Replaces a machine's fields.
    async fn machine_update(&self, id: MachineId, new: &NewMachine) -> Result<Machine>;
    /// Deletes a machine with its interfaces, assignments, events and console tokens.
    async fn machine_delete(&self, id: MachineId) -> Result<()>;
    /// The machine with an interface of this MAC and what booting it needs, in one query
    /// (the network-boot hot path).
    async fn machine_boot_by_mac(&self, mac: MacAddr) -> Result<Option<BootTarget>>;
    /// The same for every interface, in interface order, in one query (the DHCP server's
    /// host reservations are made from it).
    async fn machine_boot_list(&self) -> Result<Vec<(MacAddr, BootTarget)>>;
}

/// Assignments (reservations).
#[async_trait]
pub trait AssignmentStore: Send + Sync {
    /// Assigns a machine to a user. AlreadyExists if that user already has it.
    async fn assignment_create(&self, new: &NewAssignment) -> Result<Assignment>;
    /// The assignment with this id.
    async fn assignment_get(&self, id: AssignmentId) -> Result<Assignment>;
    /// The assignment of this machine to this user.
    async fn assignment_find(
        &self,
        machine_id: MachineId,
        user_id: UserId,
    ) -> Result<Option<Assignment>>;
    /// A machine's assignments, by id.
    async fn assignment_list_for_machine(&self, machine_id: MachineId) -> Result<Vec<Assignment>>;
    /// A user's assignments, by id.
    async fn assignment_list_for_user(&self, user_id: UserId) -> Result<Vec<Assignment>>;
    /// Assignments whose end is at or before `now`.
    async fn assignment_list_expired(&self, now: Timestamp) -> Result<Vec<Assignment>>;
    /// Changes the reason and end.
    async fn assignment_update(
        &self,
        id: AssignmentId,
        reason: &str,
        end: Option<Timestamp>,
    ) -> Result<Assignment>;
    /// Ends an assignment.
    async fn assignment_delete(&self, id: AssignmentId) -> Result<()>;
    /// Assigns the first free machine (lowest id) that matches `filter` to `user_id`,
    /// atomically: concurrent reservations never get the same machine. `None` when no free
    /// machine matches.
    async fn assignment_reserve(
        &self,
        user_id: UserId,
        filter: Option<Filter>,
        reason: &str,
        end: Option<Timestamp>,
    ) -> Result<Option<(Assignment, MachineSummary)>>;
}

/// Interfaces.
#[async_trait]
pub trait InterfaceStore: Send + Sync {
    /// Creates an interface (and forgets the MAC as a discovered one).
    async fn interface_create(&self, new: &NewInterface) -> Result<Interface>;
    /// The interface with this id.
    async fn interface_get(&self, id: InterfaceId) -> Result<Interface>;
    /// The interface with this MAC.
    async fn interface_by_mac(&self, mac: MacAddr) -> Result<Option<Interface>>;
    /// A machine's interfaces, by id.
    async fn interface_list_for_machine(&self, machine_id: MachineId) -> Result<Vec<Interface>>;
    /// The interfaces on a network, by id.
    async fn interface_list_for_network(&self, network_id: NetworkId) -> Result<Vec<Interface>>;
    /// Replaces an interface's fields.
    async fn interface_update(&self, id: InterfaceId, new: &NewInterface) -> Result<Interface>;
    /// Deletes an interface.
    async fn interface_delete(&self, id: InterfaceId) -> Result<()>;
}

/// Networks.
#[async_trait]
pub trait NetworkStore: Send + Sync {
    /// Creates a network. Conflict if it overlaps another.
    async fn network_create(&self, new: &NewNetwork) -> Result<Network>;
    /// The network with this id.
    async fn network_get(&self, id: NetworkId) -> Result<Network>;
    /// The network with this name.
    async fn network_by_name(&self, name: &str) -> Result<Option<Network>>;
    /// All networks, by id.
    async fn network_list(&self) -> Result<Vec<Network>>;
    /// Replaces a network. Conflict if it would overlap another or leave an interface's
    /// address outside its pool.
    async fn network_update(&self, id: NetworkId, new: &NewNetwork) -> Result<Network>;
    /// Deletes a network; its interfaces lose their network and addresses.
    async fn network_delete(&self, id: NetworkId) -> Result<()>;
}

/// DHCP leases.
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Records the latest lease of a MAC.
    async fn lease_upsert(
        &self,
        mac: MacAddr,
        ipv4: Option<Ipv4Addr>,
        at: Timestamp,
    ) -> Result<Lease>;
    /// The lease of a MAC.
    async fn lease_by_mac(&self, mac: MacAddr) -> Result<Option<Lease>>;
    /// All leases, by id.
    async fn lease_list(&self) -> Result<Vec<Lease>>;
}

/// MACs seen by DHCP that belong to no interface.
#[async_trait]
pub trait DiscoveredMacStore: Send + Sync {
    /// Records a sighting (fields of the sighting that are `None` keep their old value).
    async fn discovered_mac_upsert(
        &self,
        mac: MacAddr,
        sighting: &Sighting,
        at: Timestamp,
    ) -> Result<DiscoveredMac>;
    /// The record with this id.
    async fn discovered_mac_get(&self, id: DiscoveredMacId) -> Result<DiscoveredMac>;
    /// All records, most recently seen first.
    async fn discovered_mac_list(&self) -> Result<Vec<DiscoveredMac>>;
    /// Forgets a record.
    async fn discovered_mac_delete(&self, id: DiscoveredMacId) -> Result<()>;
}

/// Machine events.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Records an event, dated now.
    async fn event_record(&self, new: &NewEvent) -> Result<MachineEvent>;
    /// Records several events, dated now, in one transaction (all or none).
    async fn event_record_many(&self, new: &[NewEvent]) -> Result<()>;
    /// A machine's events, newest first.
    async fn event_list(&self, machine_id: MachineId, page: Page) -> Result<Vec<MachineEvent>>;
    /// Deletes events dated before `before`; returns how many.
    async fn event_purge(&self, before: Timestamp) -> Result<u64>;
}

/// Console tokens.
#[async_trait]
pub trait ConsoleTokenStore: Send + Sync {
    /// Stores a token by the hash of its secret.
    async fn console_token_create(
        &self,
        machine_id: MachineId,
        user_id: UserId,
        hash: &str,
        expires_at: Timestamp,
    ) -> Result<ConsoleToken>;
    /// Takes the token with this hash if it has not expired: it works once.
    async fn console_token_consume(
        &self,
        hash: &str,
        now: Timestamp,
    ) -> Result<Option<ConsoleToken>>;
    /// Deletes expired tokens; returns how many.
    async fn console_token_purge(&self, now: Timestamp) -> Result<u64>;
}

/// The audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Writes a record, dated now.
    async fn audit_record(&self, new: &NewAuditEntry) -> Result<AuditEntry>;
    /// Records, newest first.
    async fn audit_list(&self, page: Page) -> Result<Vec<AuditEntry>>;
}

/// Everything the domain persists, plus transactions.
#[async_trait]
pub trait Store:
    UserStore
    + TokenStore
    + BmcStore
    + ArchStore
    + ImageStore
    + PreseedStore
    + MachineStore
    + AssignmentStore
    + InterfaceStore
    + NetworkStore
    + LeaseStore
    + DiscoveredMacStore
    + EventStore
    + ConsoleTokenStore
    + AuditStore
{
    /// The database underneath.
    fn backend(&self) -> Backend;
    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;
    /// Starts a write transaction: everything done through the returned store is committed
    /// together or not at all. Inside a transaction this opens a nested one (a savepoint).
    async fn begin(&self) -> Result<Box<dyn StoreTx>>;
}

/// A store inside a transaction. Dropping it without `commit` rolls back.
#[async_trait]
pub trait StoreTx: Store {
    /// Makes the changes permanent.
    async fn commit(self: Box<Self>) -> Result<()>;
    /// Discards the changes.
    async fn rollback(self: Box<Self>) -> Result<()>;
}
