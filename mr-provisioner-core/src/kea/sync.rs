//! The task that keeps Kea's host reservations and our view of its leases in step.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tokio::sync::Notify;

use super::KeaHost;
use super::hosts::{self, HostSync, KeaHosts};
use super::leases::{KeaLeases, LeaseCursor};
use crate::discovery;
use crate::error::Result;
use crate::model::event::EventKind;
use crate::model::{Timestamp, now};
use crate::service::Provisioner;
use crate::store::sea::DatabaseLocation;

/// Where Kea's databases are and how often to look.
#[derive(Debug, Clone)]
pub struct KeaSettings {
    /// Kea's PostgreSQL host database (`hosts-database`), to write reservations into.
    pub hosts_url: Option<SecretString>,
    /// Kea's PostgreSQL lease database (`lease-database`), to read leases from.
    pub leases_url: Option<SecretString>,
    /// How often a pass runs when nothing reports a change.
    pub check_interval: Duration,
    /// How long to wait for a connection to either database.
    pub timeout: Duration,
    /// Write, for each netbooting machine, its boot URL for UEFI HTTP boot clients as a
    /// host-scoped option 67 ([`KeaHost::http_boot_url`]). Only for a Kea configured with
    /// the example's `flex_option` hook and `http-boot` class: without them, Kea would send
    /// the URL to PXE clients too.
    pub http_boot: bool,
}

impl Default for KeaSettings {
    fn default() -> Self {
        KeaSettings {
            hosts_url: None,
            leases_url: None,
            check_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
            http_boot: false,
        }
    }
}

impl KeaSettings {
    /// Whether either database is configured.
    pub fn enabled(&self) -> bool {
        self.hosts_url.is_some() || self.leases_url.is_some()
    }
}

/// What the last passes did, for the admin API and the log.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct KeaStatus {
    /// The host database (password hidden), when configured.
    pub hosts_database: Option<String>,
    /// The lease database (password hidden), when configured.
    pub leases_database: Option<String>,
    /// The host database's schema version, once read.
    pub schema: Option<String>,
    /// When the reservations were last found or made right.
    pub last_sync: Option<Timestamp>,
    /// When a pass last changed a reservation.
    pub last_change: Option<Timestamp>,
    /// Our reservations in Kea after the last sync.
    pub reservations: usize,
    /// What the last sync did.
    pub last_result: Option<HostSync>,
    /// When Kea's leases were last read.
    pub last_lease_scan: Option<Timestamp>,
    /// Leases read since start (new or renewed ones).
    pub leases_seen: u64,
    /// The error of the last pass, if it failed (cleared by the next that succeeds).
    pub error: Option<String>,
}

/// Keeps Kea's host reservations equal to our interfaces and reads Kea's leases: each
/// new or renewed lease of a known interface is recorded as its lease with a `DHCP_REQ`
/// event, and one of an unknown MAC as a discovered MAC (vendor and host name; Kea does
/// not keep the client's architecture).
pub struct KeaSync {
    settings: KeaSettings,
    hosts: Option<KeaHosts>,
    leases: Option<KeaLeases>,
    /// The lease scan's position; its lock also makes passes take turns.
    cursor: tokio::sync::Mutex<LeaseCursor>,
    status: Mutex<KeaStatus>,
    poke: Notify,
}

impl std::fmt::Debug for KeaSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeaSync")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

fn redacted(url: &SecretString) -> String {
    DatabaseLocation::Postgres(url.expose_secret().to_string()).redacted()
}

impl KeaSync {
    /// The task for `settings` (no connection is made until the first pass); an error
    /// for a URL that is not a PostgreSQL one.
    pub fn new(settings: KeaSettings) -> Result<Arc<KeaSync>> {
        let pool = |url: &SecretString| hosts::pool(url.expose_secret(), settings.timeout);
        let hosts = settings.hosts_url.as_ref().map(pool).transpose()?;
        let leases = settings.leases_url.as_ref().map(pool).transpose()?;
        let status = KeaStatus {
            hosts_database: settings.hosts_url.as_ref().map(redacted),
            leases_database: settings.leases_url.as_ref().map(redacted),
            ..KeaStatus::default()
        };
        Ok(Arc::new(KeaSync {
            hosts: hosts.map(KeaHosts::new),
            leases: leases.map(KeaLeases::new),
            settings,
            cursor: tokio::sync::Mutex::new(LeaseCursor::default()),
            status: Mutex::new(status),
            poke: Notify::new(),
        }))
    }

    /// Reports a change to machines, interfaces, subarchs, images or settings: the running
    /// task makes a pass at once rather than at the next check.
    pub fn poke(&self) {
        self.poke.notify_one();
    }

    /// What the last passes did.
    pub fn status(&self) -> KeaStatus {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn update(&self, f: impl FnOnce(&mut KeaStatus)) {
        f(&mut self.status.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// One pass now: reservations, then leases. Its error is also kept in the status.
    pub async fn sync_now(&self, p: &Provisioner) -> Result<KeaStatus> {
        let mut cursor = self.cursor.lock().await;
        let result = self.pass(p, &mut cursor).await;
        let before = self.status().error;
        match &result {
            Ok(()) => {
                if before.is_some() {
                    tracing::info!("Kea databases reachable again");
                }
                self.update(|s| s.error = None);
            }
            Err(e) => {
                let message = e.to_string();
                if before.as_deref() != Some(message.as_str()) {
                    tracing::warn!(error = %message, "Kea sync failed; retrying every check");
                }
                self.update(|s| s.error = Some(message));
            }
        }
        result.map(|()| self.status())
    }

    async fn pass(&self, p: &Provisioner, cursor: &mut LeaseCursor) -> Result<()> {
        if let Some(hosts) = &self.hosts {
            let (major, minor) = hosts.schema_version().await?;
            let wanted: Vec<KeaHost> = p
                .store
                .machine_boot_list()
                .await?
                .iter()
                .map(|(mac, target)| {
                    KeaHost::for_target(*mac, target, &p.settings, self.settings.http_boot)
                })
                .collect();
            let report = hosts.sync(&wanted).await?;
            let changed = report.added + report.updated + report.removed > 0;
            if changed {
                tracing::info!(
                    added = report.added,
                    updated = report.updated,
                    removed = report.removed,
                    "Kea host reservations updated"
                );
            }
            let old_conflicts = self
                .status()
                .last_result
                .map(|r| r.conflicts)
                .unwrap_or_default();
            for c in report
                .conflicts
                .iter()
                .filter(|c| !old_conflicts.contains(c))
            {
                tracing::warn!(conflict = %c, "Kea host reservation not written");
            }
            let at = now();
            self.update(|s| {
                s.schema = Some(format!("{major}.{minor}"));
                s.last_sync = Some(at);
                if changed {
                    s.last_change = Some(at);
                }
                s.reservations = report.added + report.updated + report.unchanged;
                s.last_result = Some(report);
            });
        }
        if let Some(leases) = &self.leases {
            let first = cursor.scans() == 0;
            let (found, next) = leases.scan(cursor).await?;
            for lease in &found {
                match p.store.interface_by_mac(lease.mac).await? {
                    Some(iface) => {
                        p.store
                            .lease_upsert(lease.mac, Some(lease.ipv4), lease.granted)
                            .await?;
                        // Leases granted before we started are not news.
                        // Dated when Kea granted it, not when this pass read it, so that
                        // it comes before the boot files the machine fetched right after.
                        if !first {
                            p.event_dated(
                                iface.machine_id,
                                EventKind::DhcpRequest,
                                json!({"discover": false, "ipv4": lease.ipv4, "source": "kea"}),
                                lease.granted,
                            )
                            .await;
                        }
                    }
                    None => {
                        let sighting =
                            discovery::sighting(lease.mac, lease.hostname.as_deref(), None);
                        p.store
                            .discovered_mac_upsert(lease.mac, &sighting, lease.granted)
                            .await?;
                    }
                }
            }
            // Only now: had recording failed, the next pass would read them again.
            *cursor = next;
            let n = found.len() as u64;
            self.update(|s| {
                s.last_lease_scan = Some(now());
                s.leases_seen += n;
            });
        }
        Ok(())
    }

    /// Runs passes until the task is dropped: one at once, one after each [`poke`]
    /// (changes arriving together make one pass), and one every check interval.
    ///
    /// [`poke`]: KeaSync::poke
    pub async fn run(self: Arc<Self>, p: Provisioner) {
        let mut tick =
            tokio::time::interval(self.settings.check_interval.max(Duration::from_millis(100)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = self.poke.notified() => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    tick.reset();
                }
            }
            // The error is in the status and the log.
            let _ = self.sync_now(&p).await;
        }
    }
}
