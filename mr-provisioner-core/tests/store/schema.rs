//! Schema agreement: the migrated database has exactly the tables and columns the sea-orm
//! entities declare (names, nullability, type family), and migrations are idempotent.

use std::collections::{BTreeMap, BTreeSet};

use mr_provisioner_core::store::Backend;
use mr_provisioner_core::store::sea::entity::*;
use mr_provisioner_core::store::sea::{Migrator, SeaStore};
use mr_provisioner_core::testing::{TestBackend, TestDb};
use sea_orm::sea_query::{ColumnType, StringLen};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IdenStatic, Iterable, Statement,
};
use sea_orm_migration::MigratorTrait;

/// The kind of value a column holds, as both sides can say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Integer,
    Text,
    Boolean,
    TimestampTz,
    Timestamp,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Col {
    nullable: bool,
    family: Family,
    /// Integer width in bits, where the backend tells it (PostgreSQL).
    bits: Option<u8>,
}

type Table = BTreeMap<String, Col>;

fn entity_family(t: &ColumnType) -> (Family, Option<u8>) {
    match t {
        ColumnType::TinyInteger | ColumnType::SmallInteger => (Family::Integer, Some(16)),
        ColumnType::Integer => (Family::Integer, Some(32)),
        ColumnType::BigInteger => (Family::Integer, Some(64)),
        ColumnType::String(StringLen::None | StringLen::Max | StringLen::N(_))
        | ColumnType::Char(_)
        | ColumnType::Text => (Family::Text, None),
        ColumnType::Boolean => (Family::Boolean, None),
        ColumnType::TimestampWithTimeZone => (Family::TimestampTz, None),
        ColumnType::DateTime | ColumnType::Timestamp => (Family::Timestamp, None),
        ColumnType::Json | ColumnType::JsonBinary => (Family::Json, None),
        other => panic!("no family for entity column type {other:?}"),
    }
}

fn entity_table<E: EntityTrait + Default>() -> (String, Table) {
    let name = E::default().table_name().to_string();
    let cols = <E::Column as Iterable>::iter()
        .map(|c| {
            let def = c.def();
            let (family, bits) = entity_family(def.get_column_type());
            let col = Col {
                nullable: def.is_null(),
                family,
                bits,
            };
            (c.as_str().to_string(), col)
        })
        .collect();
    (name, cols)
}

/// Every entity's table, by name.
fn entity_tables() -> BTreeMap<String, Table> {
    [
        entity_table::<api_tokens::Entity>(),
        entity_table::<archs::Entity>(),
        entity_table::<assignments::Entity>(),
        entity_table::<audit_log::Entity>(),
        entity_table::<bmcs::Entity>(),
        entity_table::<console_tokens::Entity>(),
        entity_table::<discovered_macs::Entity>(),
        entity_table::<images::Entity>(),
        entity_table::<interfaces::Entity>(),
        entity_table::<leases::Entity>(),
        entity_table::<machine_events::Entity>(),
        entity_table::<machines::Entity>(),
        entity_table::<networks::Entity>(),
        entity_table::<preseeds::Entity>(),
        entity_table::<subarchs::Entity>(),
        entity_table::<users::Entity>(),
    ]
    .into_iter()
    .collect()
}

/// A database type name in its family (SQLite's declared types as sea-query writes them,
/// PostgreSQL's `information_schema` names).
fn db_family(backend: DbBackend, declared: &str) -> (Family, Option<u8>) {
    let t = declared.to_ascii_lowercase();
    let family = if t.starts_with("timestamp") {
        if t.contains("with time zone")
            || t.contains("with_timezone")
            || t.contains("with_time_zone")
        {
            Family::TimestampTz
        } else {
            Family::Timestamp
        }
    } else if t.contains("json") {
        Family::Json
    } else if t.contains("bool") {
        Family::Boolean
    } else if t.contains("int") {
        Family::Integer
    } else if t.contains("char") || t.contains("text") || t.contains("clob") {
        Family::Text
    } else {
        panic!("no family for database type {declared:?}")
    };
    let bits = match (backend, t.as_str()) {
        (DbBackend::Postgres, "smallint") => Some(16),
        (DbBackend::Postgres, "integer") => Some(32),
        (DbBackend::Postgres, "bigint") => Some(64),
        _ => None,
    };
    (family, bits)
}

async fn strings(store: &SeaStore, sql: &str, column: &str) -> Vec<String> {
    let backend = store.connection().get_database_backend();
    store
        .connection()
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| r.try_get::<String>("", column).unwrap())
        .collect()
}

async fn db_tables(store: &SeaStore) -> BTreeSet<String> {
    let sql = match store.connection().get_database_backend() {
        DbBackend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        }
        _ => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        }
    };
    strings(store, sql, "name").await.into_iter().collect()
}

async fn db_table(store: &SeaStore, table: &str) -> Table {
    let backend = store.connection().get_database_backend();
    let (sql, values): (&str, Vec<sea_orm::Value>) = match backend {
        DbBackend::Sqlite => (
            r#"SELECT name, type AS data_type, "notnull" = 0 AS nullable, pk FROM pragma_table_info(?)"#,
            vec![table.into()],
        ),
        _ => (
            "SELECT column_name::text AS name, data_type::text AS data_type, \
             is_nullable = 'YES' AS nullable, 0 AS pk FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = $1",
            vec![table.into()],
        ),
    };
    let rows = store
        .connection()
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .unwrap_or_else(|e| panic!("columns of {table}: {e}"));
    rows.iter()
        .map(|r| {
            let name: String = r.try_get("", "name").unwrap();
            let declared: String = r.try_get("", "data_type").unwrap();
            let nullable: bool = r.try_get("", "nullable").unwrap();
            let pk: i32 = r.try_get("", "pk").unwrap();
            let (family, bits) = db_family(backend, &declared);
            // SQLite reports a non-NULL-declared primary key as nullable; it never is.
            let nullable = nullable && pk == 0;
            (
                name,
                Col {
                    nullable,
                    family,
                    bits,
                },
            )
        })
        .collect()
}

/// Asserts that the database's schema is the entities' schema.
async fn assert_schema_matches(db: &TestDb) {
    let store = db.sea();
    let entities = entity_tables();
    assert_eq!(entities.len(), 16);
    let mut want_tables: BTreeSet<String> = entities.keys().cloned().collect();
    want_tables.insert("seaql_migrations".into());
    assert_eq!(db_tables(store).await, want_tables, "{:?}", db.backend());
    let pg = db.backend() == TestBackend::Postgres;
    for (table, want) in &entities {
        let got = db_table(store, table).await;
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "columns of {table} on {:?}",
            db.backend()
        );
        for (name, want_col) in want {
            let got_col = &got[name];
            assert_eq!(
                got_col.nullable,
                want_col.nullable,
                "nullability of {table}.{name} on {:?}",
                db.backend()
            );
            assert_eq!(
                got_col.family,
                want_col.family,
                "type of {table}.{name} on {:?}",
                db.backend()
            );
            if pg {
                assert_eq!(
                    got_col.bits, want_col.bits,
                    "integer width of {table}.{name} on PostgreSQL"
                );
            }
        }
    }
}

/// Single-column unique indexes, as `table.column`.
async fn db_unique_columns(store: &SeaStore) -> BTreeSet<String> {
    let sql = match store.connection().get_database_backend() {
        DbBackend::Sqlite => {
            "SELECT m.name || '.' || min(c.name) AS col FROM sqlite_master m \
             JOIN pragma_index_list(m.name) i JOIN pragma_index_info(i.name) c \
             WHERE m.type = 'table' AND i.\"unique\" = 1 AND i.origin = 'c' \
             GROUP BY m.name, i.name HAVING count(*) = 1"
        }
        _ => {
            "SELECT t.relname || '.' || min(a.attname) AS col FROM pg_index x \
             JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(x.indkey) \
             WHERE n.nspname = 'public' AND x.indisunique AND NOT x.indisprimary \
             GROUP BY t.relname, x.indexrelid HAVING count(*) = 1"
        }
    };
    strings(store, sql, "col").await.into_iter().collect()
}

fn entity_unique_columns<E: EntityTrait + Default>(out: &mut BTreeSet<String>) {
    let table = E::default().table_name();
    for c in <E::Column as Iterable>::iter() {
        if c.def().is_unique() {
            out.insert(format!("{table}.{}", c.as_str()));
        }
    }
}

async fn assert_unique_columns(db: &TestDb) {
    let mut want = BTreeSet::new();
    entity_unique_columns::<api_tokens::Entity>(&mut want);
    entity_unique_columns::<archs::Entity>(&mut want);
    entity_unique_columns::<bmcs::Entity>(&mut want);
    entity_unique_columns::<console_tokens::Entity>(&mut want);
    entity_unique_columns::<discovered_macs::Entity>(&mut want);
    entity_unique_columns::<images::Entity>(&mut want);
    entity_unique_columns::<interfaces::Entity>(&mut want);
    entity_unique_columns::<leases::Entity>(&mut want);
    entity_unique_columns::<machines::Entity>(&mut want);
    entity_unique_columns::<networks::Entity>(&mut want);
    entity_unique_columns::<preseeds::Entity>(&mut want);
    entity_unique_columns::<users::Entity>(&mut want);
    let got = db_unique_columns(db.sea()).await;
    // Every column an entity calls unique has a unique index; the pools of a network are
    // unique in the database only (they cannot repeat anyway: networks do not overlap).
    let extra: BTreeSet<String> = got.difference(&want).cloned().collect();
    assert!(
        want.is_subset(&got),
        "missing unique indexes: {:?}",
        want.difference(&got)
    );
    assert_eq!(
        extra,
        ["networks.reserved_pool", "networks.static_pool"]
            .map(String::from)
            .into(),
        "{:?}",
        db.backend()
    );
}

fn migration_names() -> Vec<String> {
    Migrator::migrations()
        .iter()
        .map(|m| m.name().to_string())
        .collect()
}

async fn assert_all_applied(store: &SeaStore) {
    let status = store.migration_status().await.unwrap();
    assert_eq!(
        status.iter().map(|m| m.name.clone()).collect::<Vec<_>>(),
        migration_names()
    );
    assert!(status.iter().all(|m| m.applied), "{status:?}");
    assert!(store.pending_migrations().await.unwrap().is_empty());
}

async fn seaql_rows(store: &SeaStore) -> Vec<String> {
    strings(
        store,
        "SELECT version FROM seaql_migrations ORDER BY version",
        "version",
    )
    .await
}

/// The schema of a fresh test database is the entities' schema.
async fn schema_matches_entities(backend: TestBackend) {
    let Some(db) = TestDb::on(backend).await else {
        return;
    };
    let store = db.store();
    assert_eq!(
        store.backend(),
        match backend {
            TestBackend::Sqlite => Backend::Sqlite,
            TestBackend::Postgres => Backend::Postgres,
        }
    );
    store.ping().await.unwrap();
    assert_schema_matches(&db).await;
    assert_unique_columns(&db).await;
    db.finish().await;
}

/// Migrating a migrated database changes nothing; status reports every migration applied.
async fn migrate_twice_is_a_no_op(backend: TestBackend) {
    let Some(db) = TestDb::on(backend).await else {
        return;
    };
    let store = db.sea();
    assert_all_applied(store).await;
    assert_eq!(seaql_rows(store).await, migration_names());
    assert!(store.migrate().await.unwrap().is_empty());
    // Also straight through the migrator, bypassing the pending check.
    Migrator::up(store.connection(), None).await.unwrap();
    assert!(store.migrate().await.unwrap().is_empty());
    assert_all_applied(store).await;
    assert_eq!(seaql_rows(store).await, migration_names());
    assert_schema_matches(&db).await;
    db.finish().await;
}

/// Rolling every migration back empties the database; migrating again rebuilds it, once.
async fn migrate_down_and_up_again(backend: TestBackend) {
    let Some(db) = TestDb::on(backend).await else {
        return;
    };
    let store = db.sea();
    Migrator::reset(store.connection()).await.unwrap();
    assert!(
        db_tables(store).await.is_empty(),
        "{:?}",
        db_tables(store).await
    );
    assert_eq!(store.pending_migrations().await.unwrap(), migration_names());
    assert_eq!(store.migrate().await.unwrap(), migration_names());
    assert!(store.migrate().await.unwrap().is_empty());
    assert_all_applied(store).await;
    assert_schema_matches(&db).await;
    // The rebuilt database works.
    let s = db.store();
    let u = s
        .user_create(&mr_provisioner_core::model::user::NewUser {
            username: "after-reset".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(s.user_get(u.id).await.unwrap(), u);
    db.finish().await;
}

macro_rules! on_both {
    ($($name:ident => $body:ident;)*) => {$(
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $body(TestBackend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $body(TestBackend::Postgres).await
            }
        }
    )*};
}

on_both! {
    schema_matches => schema_matches_entities;
    migrate_twice => migrate_twice_is_a_no_op;
    migrate_reset => migrate_down_and_up_again;
}
