//! The initial schema: every aggregate of the original's data model, with constraints named
//! `<table>_<columns>_key` (unique) and `<table>_<column>_fkey` (foreign keys) so that
//! violations can be reported by field.
#![allow(elided_lifetimes_in_paths)] // the trait's signatures elide them

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// See the module documentation.
pub(super) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000001_initial"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    Email,
    Admin,
    SshKey,
    PasswordHash,
    CreatedAt,
}
#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    TokenHash,
    Hint,
    Description,
    CreatedAt,
    LastUsedAt,
}
#[derive(DeriveIden)]
enum Bmcs {
    Table,
    Id,
    Name,
    Address,
    Port,
    Username,
    Password,
    Kind,
    Privilege,
    CipherSuite,
    Retries,
    TimeoutMs,
}
#[derive(DeriveIden)]
enum Archs {
    Table,
    Id,
    Name,
    Description,
}
#[derive(DeriveIden)]
enum Subarchs {
    Table,
    Id,
    ArchId,
    Name,
    Description,
    BootloaderId,
    Efiboot,
}
#[derive(DeriveIden)]
enum Images {
    Table,
    Id,
    Filename,
    Description,
    Kind,
    ArchId,
    OwnerId,
    KnownGood,
    Public,
    CreatedAt,
    Sha256,
    Size,
}
#[derive(DeriveIden)]
enum Preseeds {
    Table,
    Id,
    Name,
    Description,
    Kind,
    Content,
    OwnerId,
    KnownGood,
    Public,
    CreatedAt,
}
#[derive(DeriveIden)]
enum Machines {
    Table,
    Id,
    Name,
    ArchId,
    SubarchId,
    BmcId,
    BmcInfo,
    KernelId,
    InitrdId,
    PreseedId,
    KernelOpts,
    NetbootEnabled,
    State,
    CreatedAt,
}
#[derive(DeriveIden)]
enum Assignments {
    Table,
    Id,
    MachineId,
    UserId,
    Reason,
    StartAt,
    EndAt,
}
#[derive(DeriveIden)]
enum Networks {
    Table,
    Id,
    Name,
    Subnet,
    ReservedPool,
    StaticPool,
}
#[derive(DeriveIden)]
enum Interfaces {
    Table,
    Id,
    MachineId,
    Mac,
    Identifier,
    NetworkId,
    StaticIpv4,
    ReservedIpv4,
}
#[derive(DeriveIden)]
enum Leases {
    Table,
    Id,
    Mac,
    Ipv4,
    LastSeen,
}
#[derive(DeriveIden)]
enum DiscoveredMacs {
    Table,
    Id,
    Mac,
    Vendor,
    Hostname,
    ArchCode,
    Arch,
    FirstSeen,
    LastSeen,
}
#[derive(DeriveIden)]
enum MachineEvents {
    Table,
    Id,
    MachineId,
    UserId,
    Username,
    Date,
    Kind,
    Info,
}
#[derive(DeriveIden)]
enum ConsoleTokens {
    Table,
    Id,
    TokenHash,
    MachineId,
    UserId,
    CreatedAt,
    ExpiresAt,
}
#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    ActorId,
    Actor,
    Action,
    TargetKind,
    TargetId,
    Detail,
}

/// A foreign key named `<table>_<column>_fkey`.
fn fk(
    table: impl IntoIden + 'static,
    table_name: &str,
    column: impl IntoIden + 'static,
    column_name: &str,
    to: impl IntoIden + 'static,
    to_id: impl IntoIden + 'static,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("{table_name}_{column_name}_fkey"))
        .from(table, column)
        .to(to, to_id)
        .on_delete(on_delete)
        .on_update(ForeignKeyAction::Cascade)
        .take()
}

/// A unique index named `<table>_<columns>_key`.
fn unique(
    table: impl IntoIden + 'static,
    name: &str,
    columns: Vec<DynIden>,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table).unique();
    for c in columns {
        index.col(c);
    }
    index.take()
}

/// A plain index.
fn index(
    table: impl IntoIden + 'static,
    name: &str,
    columns: Vec<DynIden>,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for c in columns {
        index.col(c);
    }
    index.take()
}

fn id<T: IntoIden>(c: T) -> DynIden {
    c.into_iden()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, Restrict, SetNull};

        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(big_pk_auto(Users::Id))
                .col(string(Users::Username))
                .col(string_null(Users::Email))
                .col(boolean(Users::Admin).default(false))
                .col(text(Users::SshKey).default(""))
                .col(string_null(Users::PasswordHash))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .take(),
        )
        .await?;
        m.create_index(unique(
            Users::Table,
            "users_username_key",
            vec![id(Users::Username)],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ApiTokens::Table)
                .col(big_pk_auto(ApiTokens::Id))
                .col(big_integer(ApiTokens::UserId))
                .col(string(ApiTokens::TokenHash))
                .col(string(ApiTokens::Hint))
                .col(string(ApiTokens::Description).default(""))
                .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                .col(timestamp_with_time_zone_null(ApiTokens::LastUsedAt))
                .foreign_key(&mut fk(
                    ApiTokens::Table,
                    "api_tokens",
                    ApiTokens::UserId,
                    "user_id",
                    Users::Table,
                    Users::Id,
                    Cascade,
                ))
                .take(),
        )
        .await?;
        m.create_index(unique(
            ApiTokens::Table,
            "api_tokens_token_hash_key",
            vec![id(ApiTokens::TokenHash)],
        ))
        .await?;
        m.create_index(index(
            ApiTokens::Table,
            "api_tokens_user_id_idx",
            vec![id(ApiTokens::UserId)],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Bmcs::Table)
                .col(big_pk_auto(Bmcs::Id))
                .col(string(Bmcs::Name))
                .col(string(Bmcs::Address))
                .col(integer(Bmcs::Port).default(0))
                .col(string(Bmcs::Username).default(""))
                .col(string(Bmcs::Password).default(""))
                .col(string(Bmcs::Kind))
                .col(string(Bmcs::Privilege))
                .col(integer_null(Bmcs::CipherSuite))
                .col(integer_null(Bmcs::Retries))
                .col(integer_null(Bmcs::TimeoutMs))
                .take(),
        )
        .await?;
        m.create_index(unique(Bmcs::Table, "bmcs_name_key", vec![id(Bmcs::Name)]))
            .await?;
        m.create_index(unique(
            Bmcs::Table,
            "bmcs_address_port_key",
            vec![id(Bmcs::Address), id(Bmcs::Port)],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Archs::Table)
                .col(big_pk_auto(Archs::Id))
                .col(string(Archs::Name))
                .col(string_null(Archs::Description))
                .take(),
        )
        .await?;
        m.create_index(unique(
            Archs::Table,
            "archs_name_key",
            vec![id(Archs::Name)],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Images::Table)
                .col(big_pk_auto(Images::Id))
                .col(string(Images::Filename))
                .col(string_null(Images::Description))
                .col(string(Images::Kind))
                .col(big_integer(Images::ArchId))
                .col(big_integer_null(Images::OwnerId))
                .col(boolean(Images::KnownGood).default(false))
                .col(boolean(Images::Public).default(false))
                .col(timestamp_with_time_zone(Images::CreatedAt))
                .col(string_null(Images::Sha256))
                .col(big_integer_null(Images::Size))
                .foreign_key(&mut fk(
                    Images::Table,
                    "images",
                    Images::ArchId,
                    "arch_id",
                    Archs::Table,
                    Archs::Id,
                    Restrict,
                ))
                .foreign_key(&mut fk(
                    Images::Table,
                    "images",
                    Images::OwnerId,
                    "owner_id",
                    Users::Table,
                    Users::Id,
                    Restrict,
                ))
                .take(),
        )
        .await?;
        m.create_index(unique(
            Images::Table,
            "images_filename_key",
            vec![id(Images::Filename)],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Subarchs::Table)
                .col(big_pk_auto(Subarchs::Id))
                .col(big_integer(Subarchs::ArchId))
                .col(string(Subarchs::Name))
                .col(string_null(Subarchs::Description))
                .col(big_integer_null(Subarchs::BootloaderId))
                .col(boolean(Subarchs::Efiboot).default(false))
                .foreign_key(&mut fk(
                    Subarchs::Table,
                    "subarchs",
                    Subarchs::ArchId,
                    "arch_id",
                    Archs::Table,
                    Archs::Id,
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    Subarchs::Table,
                    "subarchs",
                    Subarchs::BootloaderId,
                    "bootloader_id",
                    Images::Table,
                    Images::Id,
                    Restrict,
                ))
                .take(),
        )
        .await?;
        m.create_index(unique(
            Subarchs::Table,
            "subarchs_arch_id_name_key",
            vec![id(Subarchs::ArchId), id(Subarchs::Name)],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Preseeds::Table)
                .col(big_pk_auto(Preseeds::Id))
                .col(string(Preseeds::Name))
                .col(string_null(Preseeds::Description))
                .col(string(Preseeds::Kind))
                .col(text_null(Preseeds::Content))
                .col(big_integer_null(Preseeds::OwnerId))
                .col(boolean(Preseeds::KnownGood).default(false))
                .col(boolean(Preseeds::Public).default(false))
                .col(timestamp_with_time_zone(Preseeds::CreatedAt))
                .foreign_key(&mut fk(
                    Preseeds::Table,
                    "preseeds",
                    Preseeds::OwnerId,
                    "owner_id",
                    Users::Table,
                    Users::Id,
                    Restrict,
                ))
                .take(),
        )
        .await?;
        m.create_index(unique(
            Preseeds::Table,
            "preseeds_name_key",
            vec![id(Preseeds::Name)],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Machines::Table)
                .col(big_pk_auto(Machines::Id))
                .col(string(Machines::Name))
                .col(big_integer(Machines::ArchId))
                .col(big_integer_null(Machines::SubarchId))
                .col(big_integer_null(Machines::BmcId))
                .col(string(Machines::BmcInfo).default(""))
                .col(big_integer_null(Machines::KernelId))
                .col(big_integer_null(Machines::InitrdId))
                .col(big_integer_null(Machines::PreseedId))
                .col(string(Machines::KernelOpts).default(""))
                .col(boolean(Machines::NetbootEnabled).default(false))
                .col(string(Machines::State).default("unknown"))
                .col(timestamp_with_time_zone(Machines::CreatedAt))
                .foreign_key(&mut fk(
                    Machines::Table,
                    "machines",
                    Machines::ArchId,
                    "arch_id",
                    Archs::Table,
                    Archs::Id,
                    Restrict,
                ))
                .foreign_key(&mut fk(
                    Machines::Table,
                    "machines",
                    Machines::SubarchId,
                    "subarch_id",
                    Subarchs::Table,
                    Subarchs::Id,
                    Restrict,
                ))
                .foreign_key(&mut fk(
                    Machines::Table,
                    "machines",
                    Machines::BmcId,
                    "bmc_id",
                    Bmcs::Table,
                    Bmcs::Id,
                    Restrict,
                ))
                .foreign_key(&mut fk(
                    Machines::Table,
                    "machines",
                    Machines::KernelId,
                    "kernel_id",
                    Images::Table,
                    Images::Id,
                    Restrict,
                ))
                .foreign_key(&mut fk(
                    Machines::Table,
                    "machines",
                    Machines::InitrdId,
                    "initrd_id",
                    Images::Table,
                    Images::Id,
                    Restrict,
                ))
                .foreign_key(&mut fk(
                    Machines::Table,
                    "machines",
                    Machines::PreseedId,
                    "preseed_id",
                    Preseeds::Table,
                    Preseeds::Id,
                    Restrict,
                ))
                .take(),
        )
        .await?;
        m.create_index(unique(
            Machines::Table,
            "machines_name_key",
            vec![id(Machines::Name)],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Assignments::Table)
                .col(big_pk_auto(Assignments::Id))
                .col(big_integer(Assignments::MachineId))
                .col(big_integer(Assignments::UserId))
                .col(text(Assignments::Reason).default(""))
                .col(timestamp_with_time_zone(Assignments::StartAt))
                .col(timestamp_with_time_zone_null(Assignments::EndAt))
                .foreign_key(&mut fk(
                    Assignments::Table,
                    "assignments",
                    Assignments::MachineId,
                    "machine_id",
                    Machines::Table,
                    Machines::Id,
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    Assignments::Table,
                    "assignments",
                    Assignments::UserId,
                    "user_id",
                    Users::Table,
                    Users::Id,
                    Restrict,
                ))
                .take(),
        )
        .await?;
        m.create_index(unique(
            Assignments::Table,
            "assignments_machine_id_user_id_key",
            vec![id(Assignments::MachineId), id(Assignments::UserId)],
        ))
        .await?;
        m.create_index(index(
            Assignments::Table,
            "assignments_user_id_idx",
            vec![id(Assignments::UserId)],
        ))
        .await?;
        m.create_index(index(
            Assignments::Table,
            "assignments_end_at_idx",
            vec![id(Assignments::EndAt)],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Networks::Table)
                .col(big_pk_auto(Networks::Id))
                .col(string(Networks::Name))
                .col(string(Networks::Subnet))
                .col(string_null(Networks::ReservedPool))
                .col(string_null(Networks::StaticPool))
                .take(),
        )
        .await?;
        m.create_index(unique(
            Networks::Table,
            "networks_name_key",
            vec![id(Networks::Name)],
        ))
        .await?;
        m.create_index(unique(
            Networks::Table,
            "networks_subnet_key",
            vec![id(Networks::Subnet)],
        ))
        .await?;
        m.create_index(unique(
            Networks::Table,
            "networks_reserved_pool_key",
            vec![id(Networks::ReservedPool)],
        ))
        .await?;
        m.create_index(unique(
            Networks::Table,
            "networks_static_pool_key",
            vec![id(Networks::StaticPool)],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Interfaces::Table)
                .col(big_pk_auto(Interfaces::Id))
                .col(big_integer(Interfaces::MachineId))
                .col(string(Interfaces::Mac))
                .col(string_null(Interfaces::Identifier))
                .col(big_integer_null(Interfaces::NetworkId))
                .col(string_null(Interfaces::StaticIpv4))
                .col(string_null(Interfaces::ReservedIpv4))
                .foreign_key(&mut fk(
                    Interfaces::Table,
                    "interfaces",
                    Interfaces::MachineId,
                    "machine_id",
                    Machines::Table,
                    Machines::Id,
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    Interfaces::Table,
                    "interfaces",
                    Interfaces::NetworkId,
                    "network_id",
                    Networks::Table,
                    Networks::Id,
                    SetNull,
                ))
                .take(),
        )
        .await?;
        m.create_index(unique(
            Interfaces::Table,
            "interfaces_mac_key",
            vec![id(Interfaces::Mac)],
        ))
        .await?;
        m.create_index(unique(
            Interfaces::Table,
            "interfaces_network_id_static_ipv4_key",
            vec![id(Interfaces::NetworkId), id(Interfaces::StaticIpv4)],
        ))
        .await?;
        m.create_index(unique(
            Interfaces::Table,
            "interfaces_network_id_reserved_ipv4_key",
            vec![id(Interfaces::NetworkId), id(Interfaces::ReservedIpv4)],
        ))
        .await?;
        m.create_index(index(
            Interfaces::Table,
            "interfaces_machine_id_idx",
            vec![id(Interfaces::MachineId)],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Leases::Table)
                .col(big_pk_auto(Leases::Id))
                .col(string(Leases::Mac))
                .col(string_null(Leases::Ipv4))
                .col(timestamp_with_time_zone(Leases::LastSeen))
                .take(),
        )
        .await?;
        m.create_index(unique(
            Leases::Table,
            "leases_mac_key",
            vec![id(Leases::Mac)],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(DiscoveredMacs::Table)
                .col(big_pk_auto(DiscoveredMacs::Id))
                .col(string(DiscoveredMacs::Mac))
                .col(string_null(DiscoveredMacs::Vendor))
                .col(string_null(DiscoveredMacs::Hostname))
                .col(integer_null(DiscoveredMacs::ArchCode))
                .col(string_null(DiscoveredMacs::Arch))
                .col(timestamp_with_time_zone(DiscoveredMacs::FirstSeen))
                .col(timestamp_with_time_zone(DiscoveredMacs::LastSeen))
                .take(),
        )
        .await?;
        m.create_index(unique(
            DiscoveredMacs::Table,
            "discovered_macs_mac_key",
            vec![id(DiscoveredMacs::Mac)],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(MachineEvents::Table)
                .col(big_pk_auto(MachineEvents::Id))
                .col(big_integer(MachineEvents::MachineId))
                .col(big_integer_null(MachineEvents::UserId))
                .col(string_null(MachineEvents::Username))
                .col(timestamp_with_time_zone(MachineEvents::Date))
                .col(integer(MachineEvents::Kind))
                .col(json_binary(MachineEvents::Info))
                .foreign_key(&mut fk(
                    MachineEvents::Table,
                    "machine_events",
                    MachineEvents::MachineId,
                    "machine_id",
                    Machines::Table,
                    Machines::Id,
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    MachineEvents::Table,
                    "machine_events",
                    MachineEvents::UserId,
                    "user_id",
                    Users::Table,
                    Users::Id,
                    SetNull,
                ))
                .take(),
        )
        .await?;
        // Listing is per machine, newest first; purging is by date (the original scanned
        // the whole table after every insert).
        m.create_index(index(
            MachineEvents::Table,
            "machine_events_machine_id_id_idx",
            vec![id(MachineEvents::MachineId), id(MachineEvents::Id)],
        ))
        .await?;
        m.create_index(index(
            MachineEvents::Table,
            "machine_events_date_idx",
            vec![id(MachineEvents::Date)],
        ))
        .await?;
        m.create_index(index(
            MachineEvents::Table,
            "machine_events_user_id_idx",
            vec![id(MachineEvents::UserId)],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ConsoleTokens::Table)
                .col(big_pk_auto(ConsoleTokens::Id))
                .col(string(ConsoleTokens::TokenHash))
                .col(big_integer(ConsoleTokens::MachineId))
                .col(big_integer(ConsoleTokens::UserId))
                .col(timestamp_with_time_zone(ConsoleTokens::CreatedAt))
                .col(timestamp_with_time_zone(ConsoleTokens::ExpiresAt))
                .foreign_key(&mut fk(
                    ConsoleTokens::Table,
                    "console_tokens",
                    ConsoleTokens::MachineId,
                    "machine_id",
                    Machines::Table,
                    Machines::Id,
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    ConsoleTokens::Table,
                    "console_tokens",
                    ConsoleTokens::UserId,
                    "user_id",
                    Users::Table,
                    Users::Id,
                    Cascade,
                ))
                .take(),
        )
        .await?;
        m.create_index(unique(
            ConsoleTokens::Table,
            "console_tokens_token_hash_key",
            vec![id(ConsoleTokens::TokenHash)],
        ))
        .await?;
        m.create_index(index(
            ConsoleTokens::Table,
            "console_tokens_expires_at_idx",
            vec![id(ConsoleTokens::ExpiresAt)],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .col(big_pk_auto(AuditLog::Id))
                .col(timestamp_with_time_zone(AuditLog::At))
                .col(big_integer_null(AuditLog::ActorId))
                .col(string(AuditLog::Actor))
                .col(string(AuditLog::Action))
                .col(string(AuditLog::TargetKind))
                .col(big_integer_null(AuditLog::TargetId))
                .col(json_binary(AuditLog::Detail))
                .foreign_key(&mut fk(
                    AuditLog::Table,
                    "audit_log",
                    AuditLog::ActorId,
                    "actor_id",
                    Users::Table,
                    Users::Id,
                    SetNull,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            AuditLog::Table,
            "audit_log_at_idx",
            vec![id(AuditLog::At)],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            ConsoleTokens::Table.into_iden(),
            MachineEvents::Table.into_iden(),
            DiscoveredMacs::Table.into_iden(),
            Leases::Table.into_iden(),
            Interfaces::Table.into_iden(),
            Networks::Table.into_iden(),
            Assignments::Table.into_iden(),
            Machines::Table.into_iden(),
            Preseeds::Table.into_iden(),
            Subarchs::Table.into_iden(),
            Images::Table.into_iden(),
            Archs::Table.into_iden(),
            Bmcs::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}
