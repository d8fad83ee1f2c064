//! Turning database errors into domain errors: constraint violations become typed errors
//! naming the field; database text never reaches a client.

use sea_orm::sqlx::error::ErrorKind;
use sea_orm::{DbErr, RuntimeErr};

use crate::error::Error;

/// Unique constraints by name: (constraint, kind of thing, field).
const UNIQUE: &[(&str, &str, &str)] = &[
    ("users_username_key", "user", "username"),
    ("api_tokens_token_hash_key", "token", "value"),
    ("bmcs_name_key", "BMC", "name"),
    ("bmcs_address_port_key", "BMC", "address and port"),
    ("archs_name_key", "arch", "name"),
    ("subarchs_arch_id_name_key", "subarch", "name in this arch"),
    ("images_filename_key", "image", "filename"),
    ("preseeds_name_key", "preseed", "name"),
    ("machines_name_key", "machine", "name"),
    (
        "assignments_machine_id_user_id_key",
        "assignment",
        "machine and user",
    ),
    ("networks_name_key", "network", "name"),
    ("networks_subnet_key", "network", "subnet"),
    ("networks_reserved_pool_key", "network", "reserved pool"),
    ("networks_static_pool_key", "network", "static pool"),
    ("interfaces_mac_key", "interface", "MAC"),
    (
        "interfaces_network_id_static_ipv4_key",
        "interface",
        "static IPv4 address on this network",
    ),
    (
        "interfaces_network_id_reserved_ipv4_key",
        "interface",
        "reserved IPv4 address on this network",
    ),
    ("leases_mac_key", "lease", "MAC"),
    ("discovered_macs_mac_key", "discovered MAC", "MAC"),
    ("console_tokens_token_hash_key", "console token", "value"),
];

/// What a store operation was doing, so that a foreign-key violation can be explained.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    /// Writing a row of `kind` (a violation means a referenced row is missing).
    Write(&'static str),
    /// Deleting a row of `kind` (a violation means something still uses it).
    Delete(&'static str),
    /// Anything else.
    Other,
}

/// The constraint name SQLite's message implies: `UNIQUE constraint failed: t.a, t.b`
/// becomes `t_a_b_key`, which is how the migrations name them.
fn sqlite_unique_name(message: &str) -> Option<String> {
    let cols = message.strip_prefix("UNIQUE constraint failed: ")?;
    let mut table = None;
    let mut names = Vec::new();
    for part in cols.split(", ") {
        let (t, c) = part.split_once('.')?;
        table.get_or_insert(t);
        names.push(c);
    }
    Some(format!("{}_{}_key", table?, names.join("_")))
}

/// Maps a database error to a domain error.
pub(crate) fn map(err: DbErr, op: Op) -> Error {
    if let DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) = &err
        && let sea_orm::sqlx::Error::Database(db) = e.as_ref()
    {
        // SQLite reports ON DELETE RESTRICT as SQLITE_CONSTRAINT_TRIGGER (1811), which sqlx
        // does not classify as a foreign-key violation.
        let kind = match db.kind() {
            ErrorKind::Other if db.message() == "FOREIGN KEY constraint failed" => {
                ErrorKind::ForeignKeyViolation
            }
            kind => kind,
        };
        match kind {
            ErrorKind::UniqueViolation => {
                let name = db
                    .constraint()
                    .map(str::to_string)
                    .or_else(|| sqlite_unique_name(db.message()));
                if let Some((_, kind, field)) = name
                    .as_deref()
                    .and_then(|n| UNIQUE.iter().find(|(c, _, _)| *c == n))
                {
                    return Error::AlreadyExists { kind, field };
                }
                return Error::conflict("a record with these values already exists");
            }
            ErrorKind::ForeignKeyViolation => {
                return match op {
                    Op::Delete(kind) => {
                        Error::conflict(format!("{kind} is still in use and cannot be deleted"))
                    }
                    Op::Write(kind) => Error::bad_request(format!(
                        "{kind} refers to something that does not exist"
                    )),
                    Op::Other => Error::conflict("a referenced record is missing or in use"),
                };
            }
            ErrorKind::NotNullViolation | ErrorKind::CheckViolation => {
                return Error::bad_request("a required value is missing or invalid");
            }
            _ => {}
        }
    }
    match err {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => Error::Unavailable {
            message: "the database is unavailable".into(),
            source: Some(Box::new(err)),
        },
        other => Error::internal("database operation failed", other),
    }
}

/// Shorthand for `map(err, Op::Other)`.
pub(crate) fn other(err: DbErr) -> Error {
    map(err, Op::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_names() {
        assert_eq!(
            sqlite_unique_name("UNIQUE constraint failed: users.username").as_deref(),
            Some("users_username_key")
        );
        assert_eq!(
            sqlite_unique_name(
                "UNIQUE constraint failed: interfaces.network_id, interfaces.static_ipv4"
            )
            .as_deref(),
            Some("interfaces_network_id_static_ipv4_key")
        );
        assert_eq!(sqlite_unique_name("NOT NULL constraint failed: x.y"), None);
    }

    #[test]
    fn every_unique_name_is_distinct() {
        let mut names: Vec<_> = UNIQUE.iter().map(|(n, _, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), UNIQUE.len());
    }
}
