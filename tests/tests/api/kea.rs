//! The stock-Kea integration through the API: its status and sync endpoints, and a change
//! made through the API reaching Kea's host database at once (the check interval is set
//! to an hour here, so only the report of the change can have caused it).

use std::time::{Duration, Instant};

use mr_provisioner_core::model::interface::NewInterface;
use mr_provisioner_core::model::machine::NewMachine;
use mr_provisioner_core::testing::{KeaTestDb, TestBackend};
use mr_provisioner_tests::{TestServer, fixtures, server_test};
use serde_json::json;

use crate::world::v1;

server_test!(kea_endpoints_when_kea_is_not_configured, |s| {
    let (_, admin) = s.user_with_token("root", true).await;
    let (_, user) = s.user_with_token("alice", false).await;
    let r = s.get_as(&v1("/dhcp/kea"), &admin).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["enabled"], false);
    assert_eq!(r.json["hosts_database"], serde_json::Value::Null);
    let r = s.post(&v1("/dhcp/kea/sync"), &admin, &json!({})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("not configured"), "{}", r.text);
    for r in [
        s.get_as(&v1("/dhcp/kea"), &user).await,
        s.post(&v1("/dhcp/kea/sync"), &user, &json!({})).await,
    ] {
        assert_eq!(r.status, 403, "{}", r.text);
    }
});

/// Our reservations in Kea's database: (MAC hex, address, boot file).
async fn reservations(kea: &KeaTestDb) -> Vec<Vec<Option<String>>> {
    kea.rows(
        "SELECT encode(dhcp_identifier, 'hex'), host('0.0.0.0'::inet + ipv4_address), \
         dhcp4_boot_file_name::text FROM hosts WHERE user_context LIKE '%mr-provisioner%' \
         ORDER BY 1",
    )
    .await
}

/// Polls `check` for up to 10 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what}: not within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn api_changes_reach_kea_at_once(backend: TestBackend) {
    let Some(kea) = KeaTestDb::create().await else {
        return;
    };
    let url = kea.url().to_string();
    let Some(s) = TestServer::start_with(backend, |c| {
        c.kea.hosts_database_url = Some(url.clone().into());
        c.kea.leases_database_url = Some(url.clone().into());
        c.kea.check_interval_secs = 3600;
        c.dhcp.next_server = "10.9.0.1".into();
    })
    .await
    else {
        return;
    };
    let (_, admin) = s.user_with_token("root", true).await;
    let st = s.store.as_ref();
    let arch = fixtures::arch(st, "x86_64").await;
    let loader = fixtures::image(
        st,
        arch.id,
        "admin/pxelinux.0",
        mr_provisioner_core::model::image::ImageKind::Bootloader,
    )
    .await;
    let bios = fixtures::efi_subarch(st, arch.id, "bios", Some(loader.id)).await;
    // Written behind the server's back: not in Kea until something reports a change.
    let m = st
        .machine_create(&NewMachine {
            subarch_id: Some(bios.id),
            ..NewMachine::named("node-1", arch.id)
        })
        .await
        .unwrap();
    st.interface_create(&NewInterface::bare(
        m.id,
        "52:54:00:aa:00:01".parse().unwrap(),
    ))
    .await
    .unwrap();
    // The first pass (at start) has run once the status shows a sync.
    eventually("the first pass", || async {
        !s.get_as(&v1("/dhcp/kea"), &admin).await.json["last_sync"].is_null()
    })
    .await;
    // One API change: netboot on. The reservation follows with the boot file.
    let r = s
        .put(
            &v1(format!("/machine/{}", m.id)),
            &admin,
            &json!({"netboot_enabled": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    eventually("the reservation after the API change", || async {
        reservations(&kea).await
            == [vec![
                Some("525400aa0001".to_string()),
                None,
                Some("admin/pxelinux.0".to_string()),
            ]]
    })
    .await;
    let status = s.get_as(&v1("/dhcp/kea"), &admin).await;
    assert_eq!(status.json["enabled"], true);
    assert_eq!(status.json["reservations"], 1);
    assert_eq!(status.json["schema"], "13.0");
    assert_eq!(status.json["error"], serde_json::Value::Null);
    assert!(
        status.json["hosts_database"]
            .as_str()
            .unwrap()
            .contains(kea.name())
    );
    // A sync on demand answers the same state.
    let r = s.post(&v1("/dhcp/kea/sync"), &admin, &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["last_result"]["unchanged"], 1);
    // Deleting the machine through the API removes its reservation.
    let r = s.delete(&v1(format!("/machine/{}", m.id)), &admin).await;
    assert!(r.status < 300, "{}", r.text);
    eventually("the reservation removed", || async {
        reservations(&kea).await.is_empty()
    })
    .await;
    s.finish().await;
    kea.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_changes_reach_kea_at_once_sqlite() {
    api_changes_reach_kea_at_once(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_changes_reach_kea_at_once_postgres() {
    api_changes_reach_kea_at_once(TestBackend::Postgres).await;
}
