//! Kea's leases, read from its PostgreSQL `lease4` table in the order they were granted.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use chrono::TimeDelta;
use sea_orm::sqlx::{self, Row, postgres::PgPool};

use super::hosts::unavailable;
use crate::error::Result;
use crate::mac::MacAddr;
use crate::model::{Timestamp, to_micros};

/// A lease as Kea keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeaLease {
    /// The client's MAC.
    pub mac: MacAddr,
    /// The leased address.
    pub ipv4: Ipv4Addr,
    /// The host name Kea recorded (the client's option 12 or 81, or the reservation's).
    pub hostname: Option<String>,
    /// When the client last got or renewed it (Kea's `cltt`: expiry minus lifetime).
    pub granted: Timestamp,
    /// When it expires.
    pub expire: Timestamp,
}

/// How far back each scan looks again, beyond the newest lease of the one before: leases
/// granted in the same second as that one but written after it are not missed. Those seen
/// already are skipped by their address and grant time.
const OVERLAP: TimeDelta = TimeDelta::seconds(2);

/// The most leases one scan reads (a lab grants far fewer within two seconds); the rest
/// come with the next scan.
pub const SCAN_LIMIT: i64 = 10_000;

/// Where scans of `lease4` got to.
#[derive(Debug, Clone, Default)]
pub struct LeaseCursor {
    /// The grant time of the newest lease seen (until one is seen, each scan reads every
    /// lease still valid: Kea's clock, not ours, dates the leases).
    since: Option<Timestamp>,
    /// The leases within [`OVERLAP`] of `since` already returned.
    seen: HashSet<(u32, i64)>,
    scans: u64,
}

impl LeaseCursor {
    /// How many scans have run with this cursor (the first returns every lease still
    /// valid, not only new ones).
    pub fn scans(&self) -> u64 {
        self.scans
    }
}

/// Kea's lease database.
#[derive(Debug, Clone)]
pub struct KeaLeases {
    pool: PgPool,
}

impl KeaLeases {
    /// The lease database behind `pool`.
    pub fn new(pool: PgPool) -> Self {
        KeaLeases { pool }
    }

    /// The leases granted or renewed since the last scan with `cursor`, oldest first (on
    /// the first scan, every lease that has not expired), and the cursor to use once they
    /// have been dealt with (keep the old one if dealing with them failed: the next scan
    /// returns them again). Declined and reclaimed leases (`state` other than 0) and
    /// leases without a MAC are left out.
    pub async fn scan(&self, cursor: &LeaseCursor) -> Result<(Vec<KeaLease>, LeaseCursor)> {
        let err = unavailable("lease");
        let from = cursor.since.map(|t| t - OVERLAP);
        let rows = sqlx::query(
            "SELECT address, hwaddr, hostname, expire, \
             expire - valid_lifetime * interval '1 second' AS cltt FROM lease4 \
             WHERE state = 0 AND hwaddr IS NOT NULL AND valid_lifetime IS NOT NULL \
             AND CASE WHEN $1::timestamptz IS NULL THEN expire > now() \
                 ELSE expire - valid_lifetime * interval '1 second' >= $1 END \
             ORDER BY cltt, address LIMIT $2",
        )
        .bind(from)
        .bind(SCAN_LIMIT)
        .fetch_all(&self.pool)
        .await
        .map_err(&err)?;
        let mut leases = Vec::with_capacity(rows.len());
        let mut newest = cursor.since;
        let mut seen_now = HashSet::new();
        for r in &rows {
            let address: i64 = r.try_get("address").map_err(&err)?;
            let hwaddr: Vec<u8> = r.try_get("hwaddr").map_err(&err)?;
            let granted: Timestamp = r.try_get("cltt").map_err(&err)?;
            let (Ok(address), Ok(octets)) = (
                u32::try_from(address),
                <[u8; 6]>::try_from(hwaddr.as_slice()),
            ) else {
                continue; // not an Ethernet client
            };
            let key = (address, granted.timestamp_micros());
            seen_now.insert(key);
            newest = newest.max(Some(granted));
            if cursor.seen.contains(&key) {
                continue;
            }
            leases.push(KeaLease {
                mac: MacAddr(octets),
                ipv4: Ipv4Addr::from(address),
                hostname: r.try_get("hostname").map_err(&err)?,
                granted: to_micros(granted),
                expire: to_micros(r.try_get("expire").map_err(&err)?),
            });
        }
        // Remember what the next scan will read again: the leases within the overlap.
        let keep_from = newest.map(|t| (t - OVERLAP).timestamp_micros());
        let mut next = cursor.clone();
        next.seen.extend(seen_now);
        next.seen
            .retain(|(_, t)| keep_from.is_none_or(|from| *t >= from));
        next.since = newest;
        next.scans += 1;
        Ok((leases, next))
    }
}
