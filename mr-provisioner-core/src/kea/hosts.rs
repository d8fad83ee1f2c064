//! Our interfaces as global host reservations in Kea's PostgreSQL `hosts` table.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use sea_orm::sqlx::{self, Row, postgres::PgPool};
use serde_json::json;

use super::{BOOT_FILE_MAX, KeaHost, OPTION_MAX};
use crate::error::{Error, Result};
use crate::id::MachineId;
use crate::mac::MacAddr;

/// The user-context key that marks a reservation as ours.
pub const CONTEXT_KEY: &str = "mr-provisioner";
/// Kea's identifier type of a MAC (`hw-address`).
const HW_ADDRESS: i16 = 0;
/// The schema major version this code was written against (Kea 2.2 creates 13.0).
pub const SCHEMA_MAJOR: i32 = 13;
/// Kea's option scope of host reservations (`dhcp_option_scope`).
const HOST_SCOPE: i16 = 3;
/// The boot file name option, which carries the boot URL of UEFI HTTP boot clients.
const BOOT_FILE_OPTION: i16 = 67;
/// The advisory lock that serialises syncs by several of our servers on one Kea database.
const SYNC_LOCK: i64 = 0x006d_7270_5f6b_6561;

/// A pool of connections to a Kea PostgreSQL database, opened on first use: an unreachable
/// database is an error of each sync (reported in the status), never a failure to start.
pub fn pool(url: &str, timeout: Duration) -> Result<PgPool> {
    use sqlx::ConnectOptions;
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(Error::invalid(
            "kea",
            "a Kea database URL must be a PostgreSQL one (postgres://...)",
        ));
    }
    let options: sqlx::postgres::PgConnectOptions = url.parse().map_err(|e: sqlx::Error| {
        Error::invalid(
            "kea",
            format!("invalid PostgreSQL URL of a Kea database: {e}"),
        )
    })?;
    Ok(sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(timeout)
        .connect_lazy_with(options.disable_statement_logging()))
}

/// A database error of the Kea database, for the status and the log.
pub(crate) fn unavailable(what: &str) -> impl Fn(sqlx::Error) -> Error + '_ {
    move |e| Error::Unavailable {
        message: format!("Kea {what} database: {e}"),
        source: Some(Box::new(e)),
    }
}

/// What one [`KeaHosts::sync`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HostSync {
    /// Reservations added.
    pub added: usize,
    /// Reservations rewritten because the interface changed.
    pub updated: usize,
    /// Reservations of interfaces that are gone.
    pub removed: usize,
    /// Reservations already right.
    pub unchanged: usize,
    /// Interfaces not written, and why (a reservation of the admin's for the same MAC, a
    /// boot file too long for Kea).
    pub conflicts: Vec<String>,
}

/// Kea's host database.
#[derive(Debug, Clone)]
pub struct KeaHosts {
    pool: PgPool,
}

/// A row of `hosts` as read back.
struct Row4 {
    host_id: i32,
    /// Its user context marks it as ours.
    ours: bool,
    /// Ours and readable.
    host: Option<KeaHost>,
    /// The MAC, when the identifier is one.
    mac: Option<MacAddr>,
}

fn to_u32(a: Option<Ipv4Addr>) -> Option<i64> {
    a.map(|a| i64::from(u32::from(a)))
}

fn from_u32(v: Option<i64>) -> Option<Ipv4Addr> {
    v.and_then(|v| u32::try_from(v).ok()).map(Ipv4Addr::from)
}

impl KeaHosts {
    /// The host database behind `pool`.
    pub fn new(pool: PgPool) -> Self {
        KeaHosts { pool }
    }

    /// The schema version (`schema_version` table): an error when it is not Kea's or its
    /// major version is not [`SCHEMA_MAJOR`].
    pub async fn schema_version(&self) -> Result<(i32, i32)> {
        let row = sqlx::query("SELECT version, minor FROM schema_version LIMIT 1")
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable("host"))?;
        let version: (i32, i32) = (
            row.try_get("version").map_err(unavailable("host"))?,
            row.try_get("minor").map_err(unavailable("host"))?,
        );
        if version.0 != SCHEMA_MAJOR {
            return Err(Error::Unavailable {
                message: format!(
                    "the Kea host database has schema {}.{}, not {SCHEMA_MAJOR}.x (Kea 2.2's); \
                     run `kea-admin db-upgrade` or use a matching Kea",
                    version.0, version.1
                ),
                source: None,
            });
        }
        Ok(version)
    }

    async fn global_rows(&self, conn: &mut sqlx::PgConnection) -> Result<Vec<Row4>> {
        let rows = sqlx::query(
            "SELECT host_id, dhcp_identifier, ipv4_address, hostname, dhcp4_next_server, \
             dhcp4_boot_file_name, user_context, \
             (SELECT o.value FROM dhcp4_options o WHERE o.host_id = h.host_id \
              AND o.scope_id = $2 AND o.code = $3 ORDER BY o.option_id LIMIT 1) AS boot_url \
             FROM hosts h \
             WHERE dhcp_identifier_type = $1 AND dhcp4_subnet_id = 0 ORDER BY host_id",
        )
        .bind(HW_ADDRESS)
        .bind(HOST_SCOPE)
        .bind(BOOT_FILE_OPTION)
        .fetch_all(&mut *conn)
        .await
        .map_err(unavailable("host"))?;
        rows.iter()
            .map(|r| {
                let get_err = unavailable("host");
                let host_id: i32 = r.try_get("host_id").map_err(&get_err)?;
                let id: Vec<u8> = r.try_get("dhcp_identifier").map_err(&get_err)?;
                let mac = <[u8; 6]>::try_from(id.as_slice()).ok().map(MacAddr);
                let context: Option<String> = r.try_get("user_context").map_err(&get_err)?;
                let machine = context
                    .as_deref()
                    .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
                    .and_then(|c| c.get(CONTEXT_KEY)?.get("machine")?.as_i64());
                let host = match (machine, mac) {
                    (Some(machine), Some(mac)) => Some(KeaHost {
                        mac,
                        machine_id: MachineId(machine),
                        ipv4: from_u32(r.try_get("ipv4_address").map_err(&get_err)?),
                        hostname: r.try_get("hostname").map_err(&get_err)?,
                        next_server: from_u32(r.try_get("dhcp4_next_server").map_err(&get_err)?),
                        boot_file: r.try_get("dhcp4_boot_file_name").map_err(&get_err)?,
                        // Not UTF-8: not ours as written, so rewritten.
                        http_boot_url: r
                            .try_get::<Option<Vec<u8>>, _>("boot_url")
                            .map_err(&get_err)?
                            .map(|v| String::from_utf8(v).unwrap_or_default()),
                    }),
                    _ => None,
                };
                Ok(Row4 {
                    host_id,
                    ours: machine.is_some(),
                    host,
                    mac,
                })
            })
            .collect()
    }

    /// The reservations we wrote, in the order written.
    pub async fn ours(&self) -> Result<Vec<KeaHost>> {
        let mut conn = self.pool.acquire().await.map_err(unavailable("host"))?;
        Ok(self
            .global_rows(&mut conn)
            .await?
            .into_iter()
            .filter_map(|r| r.host)
            .collect())
    }

    /// Makes our reservations exactly `wanted`, in one transaction: rows of ours that
    /// differ or are no longer wanted are deleted, new and changed ones inserted (a changed
    /// row is rewritten rather than updated, so that two interfaces swapping addresses never
    /// meet halfway). The admin's own rows are left alone; a wanted MAC that has one is
    /// reported in [`HostSync::conflicts`] and not written. Syncs by several servers on one
    /// database take turns (an advisory lock held until commit).
    pub async fn sync(&self, wanted: &[KeaHost]) -> Result<HostSync> {
        let err = unavailable("host");
        let mut tx = self.pool.begin().await.map_err(&err)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(SYNC_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(&err)?;
        let rows = self.global_rows(&mut tx).await?;
        let mut report = HostSync::default();
        let mut ours: HashMap<MacAddr, (i32, KeaHost)> = HashMap::new();
        let mut foreign: HashMap<MacAddr, i32> = HashMap::new();
        let mut delete: Vec<i32> = Vec::new();
        for row in rows {
            match (row.ours, row.host, row.mac) {
                (true, Some(host), _) => {
                    if let Some((dup, _)) = ours.insert(host.mac, (row.host_id, host)) {
                        delete.push(dup);
                    }
                }
                // Ours and unreadable (an identifier that is not six bytes).
                (true, None, _) => delete.push(row.host_id),
                (false, _, Some(mac)) => {
                    foreign.insert(mac, row.host_id);
                }
                (false, _, None) => {}
            }
        }
        let mut insert: Vec<&KeaHost> = Vec::new();
        for host in wanted {
            if foreign.contains_key(&host.mac) {
                report.conflicts.push(format!(
                    "{}: Kea already has a global reservation for this MAC that mr-provisioner \
                     did not write; it is left as it is",
                    host.mac
                ));
                continue;
            }
            if host
                .boot_file
                .as_ref()
                .is_some_and(|f| f.chars().count() > BOOT_FILE_MAX)
            {
                report.conflicts.push(format!(
                    "{}: the boot file name is longer than Kea's {BOOT_FILE_MAX} characters",
                    host.mac
                ));
                continue;
            }
            if host
                .http_boot_url
                .as_ref()
                .is_some_and(|u| u.len() > OPTION_MAX)
            {
                report.conflicts.push(format!(
                    "{}: the boot URL is longer than a DHCP option's {OPTION_MAX} bytes",
                    host.mac
                ));
                continue;
            }
            match ours.remove(&host.mac) {
                Some((_, old)) if old == *host => report.unchanged += 1,
                Some((id, _)) => {
                    delete.push(id);
                    insert.push(host);
                    report.updated += 1;
                }
                None => {
                    insert.push(host);
                    report.added += 1;
                }
            }
        }
        report.removed = ours.len();
        delete.extend(ours.into_values().map(|(id, _)| id));
        if !delete.is_empty() {
            sqlx::query("DELETE FROM hosts WHERE host_id = ANY($1)")
                .bind(&delete)
                .execute(&mut *tx)
                .await
                .map_err(&err)?;
        }
        if !insert.is_empty() {
            let ids: Vec<Vec<u8>> = insert.iter().map(|h| h.mac.octets().to_vec()).collect();
            let addrs: Vec<Option<i64>> = insert.iter().map(|h| to_u32(h.ipv4)).collect();
            let names: Vec<Option<String>> = insert.iter().map(|h| h.hostname.clone()).collect();
            let servers: Vec<Option<i64>> = insert.iter().map(|h| to_u32(h.next_server)).collect();
            let files: Vec<Option<String>> = insert.iter().map(|h| h.boot_file.clone()).collect();
            let contexts: Vec<String> = insert
                .iter()
                .map(|h| json!({CONTEXT_KEY: {"machine": h.machine_id.0}}).to_string())
                .collect();
            let urls: Vec<Option<Vec<u8>>> = insert
                .iter()
                .map(|h| h.http_boot_url.as_ref().map(|u| u.as_bytes().to_vec()))
                .collect();
            // The reservations, then the boot URLs as their options (always sent, the raw
            // string with no formatted value, so that Kea reads it as it is), matched by
            // MAC (one reservation of ours per MAC).
            sqlx::query(
                "WITH t AS (SELECT * FROM UNNEST($2::bytea[], $3::int8[], $4::text[], \
                 $5::int8[], $6::text[], $7::text[], $8::bytea[]) \
                 AS t(id, addr, name, server, file, ctx, url)), \
                 inserted AS (INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, \
                 dhcp4_subnet_id, ipv4_address, hostname, dhcp4_next_server, \
                 dhcp4_boot_file_name, user_context) \
                 SELECT id, $1, 0, addr, name, server, file, ctx FROM t \
                 RETURNING host_id, dhcp_identifier) \
                 INSERT INTO dhcp4_options (code, value, formatted_value, space, persistent, \
                 host_id, scope_id) \
                 SELECT $9, t.url, NULL, 'dhcp4', true, inserted.host_id, $10 \
                 FROM inserted JOIN t ON t.id = inserted.dhcp_identifier \
                 WHERE t.url IS NOT NULL",
            )
            .bind(HW_ADDRESS)
            .bind(&ids)
            .bind(&addrs)
            .bind(&names)
            .bind(&servers)
            .bind(&files)
            .bind(&contexts)
            .bind(&urls)
            .bind(BOOT_FILE_OPTION)
            .bind(HOST_SCOPE)
            .execute(&mut *tx)
            .await
            .map_err(&err)?;
        }
        tx.commit().await.map_err(&err)?;
        Ok(report)
    }
}
