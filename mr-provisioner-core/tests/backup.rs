//! `SeaStore::sqlite_backup`: the copy a SQLite upgrade keeps is a complete database.

use mr_provisioner_core::model::arch::NewArch;
use mr_provisioner_core::store::sea::{ConnectSettings, DatabaseLocation, connect};
use mr_provisioner_core::store::{ArchStore, UserStore};
use mr_provisioner_core::testing::TestDb;

#[tokio::test]
async fn the_copy_is_a_complete_database() {
    let db = TestDb::sqlite().await;
    let store = db.sea();
    store
        .arch_create(&NewArch {
            name: "arm64".into(),
            description: Some("kept".into()),
        })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("mr-provisioner.db.pre-upgrade-x");
    store.sqlite_backup(&copy).await.unwrap();
    // The original goes on changing; the copy does not.
    store
        .arch_create(&NewArch {
            name: "x86_64".into(),
            description: None,
        })
        .await
        .unwrap();
    let restored = connect(
        &DatabaseLocation::Sqlite(copy.clone()),
        &ConnectSettings::default(),
    )
    .await
    .unwrap();
    assert!(restored.pending_migrations().await.unwrap().is_empty());
    let archs = restored.arch_list().await.unwrap();
    assert_eq!(archs.len(), 1);
    assert_eq!(archs[0].description.as_deref(), Some("kept"));
    assert_eq!(restored.user_count().await.unwrap(), 0);
    // A second backup to the same path is refused rather than overwriting.
    assert!(store.sqlite_backup(&copy).await.is_err());
    db.finish().await;
}

#[tokio::test]
async fn postgres_has_no_file_copy() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    assert!(db.sea().sqlite_backup(&dir.path().join("x")).await.is_err());
    db.finish().await;
}
