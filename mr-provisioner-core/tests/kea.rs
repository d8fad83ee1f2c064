//! The Kea integration against Kea's real PostgreSQL schema (made by `kea-admin db-init
//! pgsql`): host reservations written, changed and removed as our interfaces change, the
//! admin's own rows left alone, and Kea's leases read back as leases, events and
//! discovered MACs. Our own store runs on both backends.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use mr_provisioner_core::files::ImageFiles;
use mr_provisioner_core::id::MachineId;
use mr_provisioner_core::kea::hosts::{HostSync, KeaHosts};
use mr_provisioner_core::kea::leases::{KeaLeases, LeaseCursor};
use mr_provisioner_core::kea::{KeaHost, KeaSettings, KeaSync};
use mr_provisioner_core::mac::MacAddr;
use mr_provisioner_core::model::arch::{NewArch, NewSubarch};
use mr_provisioner_core::model::event::EventKind;
use mr_provisioner_core::model::image::{ImageKind, NewImage};
use mr_provisioner_core::model::interface::NewInterface;
use mr_provisioner_core::model::machine::NewMachine;
use mr_provisioner_core::model::network::NewNetwork;
use mr_provisioner_core::service::{DefaultConnector, Provisioner, Settings};
use mr_provisioner_core::store::{Page, Store};
use mr_provisioner_core::testing::{KeaTestDb, TestBackend, TestDb};
use secrecy::SecretString;

fn mac(s: &str) -> MacAddr {
    s.parse().unwrap()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn pool(db: &KeaTestDb) -> sea_orm::sqlx::PgPool {
    mr_provisioner_core::kea::hosts::pool(db.url(), Duration::from_secs(5)).unwrap()
}

/// Two machines: `node-1` netbooting with a bootloader, reserved 10.77.0.50 on
/// ...:01; `node-2` not netbooting, reserved .51 on ...:02.
async fn lab(store: &Arc<dyn Store>) -> (Provisioner, MachineId, MachineId) {
    let arch = store
        .arch_create(&NewArch {
            name: "x86_64".into(),
            description: None,
        })
        .await
        .unwrap();
    let loader = store
        .image_create(&NewImage {
            filename: "admin/pxelinux.0".into(),
            description: None,
            kind: ImageKind::Bootloader,
            arch_id: arch.id,
            owner_id: None,
            known_good: false,
            public: true,
            sha256: None,
            size: None,
        })
        .await
        .unwrap();
    let bios = store
        .subarch_create(&NewSubarch {
            arch_id: arch.id,
            name: "bios".into(),
            description: None,
            bootloader_id: Some(loader.id),
            efiboot: false,
        })
        .await
        .unwrap();
    let net = store
        .network_create(&NewNetwork {
            name: "lab".into(),
            subnet: "10.77.0.0/24".parse().unwrap(),
            reserved_pool: Some("10.77.0.32/27".parse().unwrap()),
            static_pool: Some("10.77.0.64/27".parse().unwrap()),
        })
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (i, netboot) in [(1u8, true), (2, false)] {
        let m = store
            .machine_create(&NewMachine {
                subarch_id: Some(bios.id),
                netboot_enabled: netboot,
                ..NewMachine::named(format!("node-{i}"), arch.id)
            })
            .await
            .unwrap();
        store
            .interface_create(&NewInterface {
                network_id: Some(net.id),
                reserved_ipv4: Some(Ipv4Addr::new(10, 77, 0, 49 + i)),
                ..NewInterface::bare(m.id, mac(&format!("52:54:00:00:00:0{i}")))
            })
            .await
            .unwrap();
        ids.push(m.id);
    }
    let settings = Settings {
        next_server: "10.77.0.1".into(),
        ..Settings::default()
    };
    let p = Provisioner::new(
        store.clone(),
        Arc::new(DefaultConnector::new()),
        ImageFiles::new(std::env::temp_dir()),
        settings,
    );
    (p, ids[0], ids[1])
}

fn wanted(
    p: &Provisioner,
    list: &[(MacAddr, mr_provisioner_core::model::machine::BootTarget)],
) -> Vec<KeaHost> {
    list.iter()
        .map(|(m, t)| KeaHost::for_target(*m, t, &p.settings, false))
        .collect()
}

/// The `hosts` rows as Kea reads them.
async fn kea_rows(
    db: &KeaTestDb,
) -> Vec<(
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
)> {
    use sea_orm::sqlx::Row;
    let pool = pool(db);
    let rows = sea_orm::sqlx::query(
        "SELECT encode(dhcp_identifier, 'hex') AS id, dhcp4_subnet_id, \
         host(('0.0.0.0'::inet + ipv4_address)) AS ip, hostname, \
         host(('0.0.0.0'::inet + dhcp4_next_server)) AS ns, dhcp4_boot_file_name \
         FROM hosts WHERE dhcp_identifier_type = 0 ORDER BY 1, 2",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    rows.iter()
        .map(|r| {
            (
                r.get("id"),
                r.get("dhcp4_subnet_id"),
                r.get("ip"),
                r.get("hostname"),
                r.get("ns"),
                r.get("dhcp4_boot_file_name"),
            )
        })
        .collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

async fn reservations_follow_the_interfaces(backend: TestBackend) {
    let Some(kea) = KeaTestDb::create().await else {
        return;
    };
    let Some(db) = TestDb::on(backend).await else {
        return;
    };
    let store = db.store();
    let (p, node1, node2) = lab(&store).await;
    let hosts = KeaHosts::new(pool(&kea));
    assert_eq!(hosts.schema_version().await.unwrap().0, 13);

    let list = store.machine_boot_list().await.unwrap();
    let report = hosts.sync(&wanted(&p, &list)).await.unwrap();
    assert_eq!(
        report,
        HostSync {
            added: 2,
            ..HostSync::default()
        }
    );
    // What Kea reads: global (subnet 0) hw-address reservations.
    assert_eq!(
        kea_rows(&kea).await,
        [
            (
                "525400000001".into(),
                0,
                s("10.77.0.50"),
                s("node-1"),
                s("10.77.0.1"),
                s("admin/pxelinux.0")
            ),
            (
                "525400000002".into(),
                0,
                s("10.77.0.51"),
                s("node-2"),
                None,
                None
            ),
        ]
    );
    // Nothing changed: nothing written.
    let again = hosts.sync(&wanted(&p, &list)).await.unwrap();
    assert_eq!(
        (again.unchanged, again.added + again.updated + again.removed),
        (2, 0)
    );

    // The admin's own reservations: one for an unrelated MAC, one for node-2's MAC.
    kea.execute(
        "INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname) VALUES \
         (decode('aabbccddee01', 'hex'), 0, 0, ('10.77.0.9'::inet - '0.0.0.0'::inet), 'printer'), \
         (decode('525400000002', 'hex'), 0, 1, NULL, 'in-subnet-1')",
    )
    .await;

    // Swap the two addresses, turn node-2's netboot on, rename node-1.
    let ifaces1 = store.interface_list_for_machine(node1).await.unwrap();
    let ifaces2 = store.interface_list_for_machine(node2).await.unwrap();
    let with =
        |i: &mr_provisioner_core::model::interface::Interface, a: Option<&str>| NewInterface {
            reserved_ipv4: a.map(ip),
            network_id: i.network_id,
            ..NewInterface::bare(i.machine_id, i.mac)
        };
    store
        .interface_update(ifaces1[0].id, &with(&ifaces1[0], None))
        .await
        .unwrap();
    store
        .interface_update(ifaces2[0].id, &with(&ifaces2[0], Some("10.77.0.50")))
        .await
        .unwrap();
    store
        .interface_update(ifaces1[0].id, &with(&ifaces1[0], Some("10.77.0.51")))
        .await
        .unwrap();
    let mut m2 = store.machine_get(node2).await.unwrap();
    m2.netboot_enabled = true;
    store.machine_update(node2, &to_new(&m2)).await.unwrap();
    let mut m1 = store.machine_get(node1).await.unwrap();
    m1.name = "Node_One".into();
    store.machine_update(node1, &to_new(&m1)).await.unwrap();

    let list = store.machine_boot_list().await.unwrap();
    let report = hosts.sync(&wanted(&p, &list)).await.unwrap();
    assert_eq!((report.updated, report.added, report.removed), (2, 0, 0));
    assert_eq!(
        kea_rows(&kea).await,
        [
            (
                "525400000001".into(),
                0,
                s("10.77.0.51"),
                s("node-one"),
                s("10.77.0.1"),
                s("admin/pxelinux.0")
            ),
            (
                "525400000002".into(),
                0,
                s("10.77.0.50"),
                s("node-2"),
                s("10.77.0.1"),
                s("admin/pxelinux.0")
            ),
            ("525400000002".into(), 1, None, s("in-subnet-1"), None, None),
            (
                "aabbccddee01".into(),
                0,
                s("10.77.0.9"),
                s("printer"),
                None,
                None
            ),
        ]
    );

    // A global reservation of the admin's for a MAC of ours: reported, never overwritten.
    kea.execute(
        "DELETE FROM hosts WHERE dhcp_identifier = decode('525400000002', 'hex') AND dhcp4_subnet_id = 0; \
         INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, hostname) VALUES \
         (decode('525400000002', 'hex'), 0, 0, 'admins')",
    )
    .await;
    let report = hosts
        .sync(&wanted(&p, &store.machine_boot_list().await.unwrap()))
        .await
        .unwrap();
    assert_eq!(report.conflicts.len(), 1, "{report:?}");
    assert!(
        report.conflicts[0].starts_with("52:54:00:00:00:02"),
        "{report:?}"
    );
    assert!(kea_rows(&kea).await.contains(&(
        "525400000002".into(),
        0,
        None,
        s("admins"),
        None,
        None
    )));

    // A machine deleted: its reservation goes; the admin's rows stay.
    store.machine_delete(node1).await.unwrap();
    let report = hosts
        .sync(&wanted(&p, &store.machine_boot_list().await.unwrap()))
        .await
        .unwrap();
    assert_eq!(report.removed, 1);
    let ids: Vec<String> = kea_rows(&kea).await.into_iter().map(|r| r.0).collect();
    assert_eq!(ids, ["525400000002", "525400000002", "aabbccddee01"]);
    assert!(hosts.ours().await.unwrap().is_empty());
    db.finish().await;
    kea.drop().await;
}

fn to_new(m: &mr_provisioner_core::model::machine::Machine) -> NewMachine {
    NewMachine {
        subarch_id: m.subarch_id,
        bmc_id: m.bmc_id,
        bmc_info: m.bmc_info.clone(),
        kernel_id: m.kernel_id,
        initrd_id: m.initrd_id,
        preseed_id: m.preseed_id,
        kernel_opts: m.kernel_opts.clone(),
        netboot_enabled: m.netboot_enabled,
        ..NewMachine::named(m.name.clone(), m.arch_id)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_follow_the_interfaces_sqlite() {
    reservations_follow_the_interfaces(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_follow_the_interfaces_postgres() {
    reservations_follow_the_interfaces(TestBackend::Postgres).await;
}

/// Inserts a lease as Kea does: granted `ago` seconds ago for `lifetime` seconds.
async fn kea_lease(
    kea: &KeaTestDb,
    mac_hex: &str,
    addr: &str,
    host: &str,
    ago: i64,
    lifetime: i64,
) {
    kea.execute(&format!(
        "INSERT INTO lease4 (address, hwaddr, valid_lifetime, expire, subnet_id, fqdn_fwd, fqdn_rev, hostname, state) \
         VALUES (('{addr}'::inet - '0.0.0.0'::inet), decode('{mac_hex}', 'hex'), {lifetime}, \
         now() - interval '{ago} seconds' + interval '{lifetime} seconds', 1, false, false, '{host}', 0) \
         ON CONFLICT (address) DO UPDATE SET hwaddr = excluded.hwaddr, expire = excluded.expire, \
         valid_lifetime = excluded.valid_lifetime, hostname = excluded.hostname"
    ))
    .await;
}

/// A scan whose leases are dealt with.
async fn scan(
    leases: &KeaLeases,
    cursor: &mut LeaseCursor,
) -> Vec<mr_provisioner_core::kea::leases::KeaLease> {
    let (found, next) = leases.scan(cursor).await.unwrap();
    *cursor = next;
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lease_scan_sees_each_grant_once() {
    let Some(kea) = KeaTestDb::create().await else {
        return;
    };
    let leases = KeaLeases::new(pool(&kea));
    let mut cursor = LeaseCursor::default();
    assert!(scan(&leases, &mut cursor).await.is_empty());
    // An expired lease, a valid one, a declined one.
    kea_lease(&kea, "525400000001", "10.77.0.100", "a", 7200, 3600).await;
    kea_lease(&kea, "525400000002", "10.77.0.101", "b", 60, 3600).await;
    kea.execute(
        "INSERT INTO lease4 (address, hwaddr, valid_lifetime, expire, subnet_id, state) VALUES \
         (('10.77.0.102'::inet - '0.0.0.0'::inet), decode('525400000003', 'hex'), 3600, now() + interval '1 hour', 1, 1)",
    )
    .await;
    let first = scan(&leases, &mut cursor).await;
    let got: Vec<(String, String)> = first
        .iter()
        .map(|l| (l.mac.to_string(), l.ipv4.to_string()))
        .collect();
    assert_eq!(
        got,
        [("52:54:00:00:00:02".to_string(), "10.77.0.101".to_string())]
    );
    assert_eq!(first[0].hostname.as_deref(), Some("b"));
    assert!(first[0].expire > first[0].granted);
    // Nothing new: nothing returned, even within the overlap.
    assert!(scan(&leases, &mut cursor).await.is_empty());
    // A renewal and a new lease (a shorter lifetime granted later is not missed).
    kea_lease(&kea, "525400000002", "10.77.0.101", "b", 0, 3600).await;
    kea_lease(&kea, "525400000004", "10.77.0.103", "d", 0, 60).await;
    let next = scan(&leases, &mut cursor).await;
    let mut macs: Vec<String> = next.iter().map(|l| l.mac.to_string()).collect();
    macs.sort();
    assert_eq!(macs, ["52:54:00:00:00:02", "52:54:00:00:00:04"]);
    // Leases not dealt with (the cursor not advanced) come again.
    let (again, _) = leases.scan(&cursor).await.unwrap();
    assert!(again.is_empty());
    kea_lease(&kea, "525400000005", "10.77.0.104", "e", 0, 600).await;
    let (first_try, _) = leases.scan(&cursor).await.unwrap();
    let (second_try, _) = leases.scan(&cursor).await.unwrap();
    assert_eq!(first_try, second_try);
    assert_eq!(first_try.len(), 1);
    assert_eq!(scan(&leases, &mut cursor).await, first_try);
    assert!(scan(&leases, &mut cursor).await.is_empty());
    kea.drop().await;
}

async fn the_sync_task_records_leases_events_and_discoveries(backend: TestBackend) {
    let Some(kea) = KeaTestDb::create().await else {
        return;
    };
    let Some(db) = TestDb::on(backend).await else {
        return;
    };
    let store = db.store();
    let (p, node1, _) = lab(&store).await;
    let url = SecretString::from(kea.url().to_string());
    let sync = KeaSync::new(KeaSettings {
        hosts_url: Some(url.clone()),
        leases_url: Some(url),
        ..KeaSettings::default()
    })
    .unwrap();
    // A lease from before we started: recorded, but no event.
    kea_lease(&kea, "525400000001", "10.77.0.50", "node-1", 30, 3600).await;
    let status = sync.sync_now(&p).await.unwrap();
    assert_eq!(status.reservations, 2);
    assert_eq!(status.schema.as_deref(), Some("13.0"));
    assert!(status.hosts_database.unwrap().contains(kea.name()));
    assert_eq!(status.leases_seen, 1);
    let lease = store
        .lease_by_mac(mac("52:54:00:00:00:01"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lease.ipv4, Some(ip("10.77.0.50")));
    let events = |store: Arc<dyn Store>| async move {
        store
            .event_list(
                node1,
                Page {
                    before: None,
                    limit: 100,
                },
            )
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == EventKind::DhcpRequest)
            .count()
    };
    p.events.flush().await;
    assert_eq!(events(store.clone()).await, 0);

    // A renewal and an unknown Intel NIC's lease.
    kea_lease(&kea, "525400000001", "10.77.0.50", "node-1", 0, 3600).await;
    kea_lease(&kea, "001b21aabbcc", "10.77.0.120", "stranger", 0, 3600).await;
    let status = sync.sync_now(&p).await.unwrap();
    assert_eq!(status.leases_seen, 3);
    p.events.flush().await;
    assert_eq!(events(store.clone()).await, 1);
    let found = store.discovered_mac_list().await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].mac, mac("00:1b:21:aa:bb:cc"));
    assert!(
        found[0].vendor.as_deref().unwrap().contains("Intel"),
        "{found:?}"
    );
    assert_eq!(found[0].hostname.as_deref(), Some("stranger"));
    db.finish().await;
    kea.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_task_records_leases_events_and_discoveries_sqlite() {
    the_sync_task_records_leases_events_and_discoveries(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_task_records_leases_events_and_discoveries_postgres() {
    the_sync_task_records_leases_events_and_discoveries(TestBackend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_or_foreign_database_is_an_error_in_the_status() {
    let db = TestDb::sqlite().await;
    let store = db.store();
    let (p, _, _) = lab(&store).await;
    // Nothing listens on port 9 of loopback.
    let sync = KeaSync::new(KeaSettings {
        hosts_url: Some(SecretString::from(
            "postgres://kea:secret@127.0.0.1:9/kea".to_string(),
        )),
        timeout: Duration::from_secs(2),
        ..KeaSettings::default()
    })
    .unwrap();
    let err = sync.sync_now(&p).await.unwrap_err().to_string();
    assert!(err.contains("Kea host database"), "{err}");
    let status = sync.status();
    assert_eq!(status.error.as_deref(), Some(err.as_str()));
    assert_eq!(
        status.hosts_database.as_deref(),
        Some("postgres://kea:***@127.0.0.1:9/kea")
    );
    assert!(!format!("{status:?}{err}").contains("secret"));
    // Not a PostgreSQL URL: refused at once.
    assert!(
        KeaSync::new(KeaSettings {
            hosts_url: Some(SecretString::from("mysql://x@y/z".to_string())),
            ..KeaSettings::default()
        })
        .is_err()
    );
    // A PostgreSQL database without Kea's schema (our own test database).
    if let Some(pg) = TestDb::postgres().await {
        let sync = KeaSync::new(KeaSettings {
            hosts_url: Some(SecretString::from(pg.url.clone())),
            ..KeaSettings::default()
        })
        .unwrap();
        let err = sync.sync_now(&p).await.unwrap_err().to_string();
        assert!(err.contains("schema_version"), "{err}");
        pg.finish().await;
    }
    db.finish().await;
}

/// The host-scoped options Kea reads: (MAC, code, value, formatted value, space, always
/// sent, scope).
async fn kea_host_options(
    db: &KeaTestDb,
) -> Vec<(String, i16, String, Option<String>, String, bool, i16)> {
    use sea_orm::sqlx::Row;
    let rows = sea_orm::sqlx::query(
        "SELECT encode(h.dhcp_identifier, 'hex') AS id, o.code, \
         convert_from(o.value, 'UTF8') AS value, o.formatted_value, o.space, o.persistent, \
         o.scope_id FROM dhcp4_options o JOIN hosts h USING (host_id) ORDER BY 1, 2",
    )
    .fetch_all(&pool(db))
    .await
    .unwrap();
    rows.iter()
        .map(|r| {
            (
                r.get("id"),
                r.get("code"),
                r.get("value"),
                r.get("formatted_value"),
                r.get("space"),
                r.get("persistent"),
                r.get("scope_id"),
            )
        })
        .collect()
}

#[tokio::test]
async fn with_http_boot_netbooting_reservations_carry_their_boot_url_as_option_67() {
    let Some(kea) = KeaTestDb::create().await else {
        return;
    };
    let Some(db) = TestDb::on(TestBackend::Sqlite).await else {
        return;
    };
    let store = db.store();
    let (p, _, _) = lab(&store).await;
    let hosts = KeaHosts::new(pool(&kea));
    let list = store.machine_boot_list().await.unwrap();
    let wanted = |http_boot: bool| -> Vec<KeaHost> {
        list.iter()
            .map(|(m, t)| KeaHost::for_target(*m, t, &p.settings, http_boot))
            .collect()
    };
    let url = format!("{}/admin/pxelinux.0", p.settings.boot_url());
    let option = (
        "525400000001".to_string(),
        67,
        url.clone(),
        None,
        "dhcp4".to_string(),
        true,
        3,
    );

    let report = hosts.sync(&wanted(true)).await.unwrap();
    assert_eq!((report.added, report.conflicts.len()), (2, 0), "{report:?}");
    // node-1 netboots: its URL as a host option, always sent, the raw string; node-2 does
    // not: none. The `file` fields are as without HTTP boot.
    assert_eq!(kea_host_options(&kea).await, std::slice::from_ref(&option));
    let files: Vec<_> = kea_rows(&kea).await.into_iter().map(|r| r.5).collect();
    assert_eq!(files, [s("admin/pxelinux.0"), None]);
    let ours = hosts.ours().await.unwrap();
    assert_eq!(ours[0].http_boot_url.as_deref(), Some(url.as_str()));
    assert_eq!(ours[1].http_boot_url, None);
    // Read back equal: nothing rewritten.
    let again = hosts.sync(&wanted(true)).await.unwrap();
    assert_eq!((again.unchanged, again.updated), (2, 0), "{again:?}");

    // HTTP boot turned off: node-1's reservation is rewritten without the option.
    let off = hosts.sync(&wanted(false)).await.unwrap();
    assert_eq!((off.unchanged, off.updated), (1, 1), "{off:?}");
    assert_eq!(kea_host_options(&kea).await, []);
    // And on again.
    let on = hosts.sync(&wanted(true)).await.unwrap();
    assert_eq!((on.unchanged, on.updated), (1, 1), "{on:?}");
    assert_eq!(kea_host_options(&kea).await, [option]);

    // A URL too long for an option is a conflict, and that reservation is not written.
    let mut long = wanted(true);
    long[0].http_boot_url = Some(format!("http://lab/{}", "x".repeat(250)));
    let report = hosts.sync(&long).await.unwrap();
    assert_eq!(report.conflicts.len(), 1, "{report:?}");
    assert!(report.conflicts[0].contains("boot URL"), "{report:?}");
    assert_eq!(hosts.ours().await.unwrap().len(), 1);
    kea.drop().await;
}
