//! Stock Kea 2.2 with `examples/kea/kea-dhcp4.conf` (only the example's network, interface,
//! databases and log output replaced by the test's), on a test link with a real busybox
//! `udhcpc` client, and the server keeping Kea's PostgreSQL host reservations in step with
//! its interfaces and reading Kea's leases back: what the client gets follows the changes
//! made through the API, and Kea's leases show up in the API.

use std::path::Path;
use std::time::{Duration, Instant};

use mr_provisioner_core::model::image::ImageKind;
use mr_provisioner_core::model::network::NewNetwork;
use mr_provisioner_core::testing::{KeaTestDb, TestBackend, skip};
use mr_provisioner_tests::dhcp_lab::{
    Daemon, DhcpAnswer, DhcpLink, DhcpRequest, find_program, within,
};
use mr_provisioner_tests::{TestServer, fixtures};
use serde_json::{Value, json};

/// The example, as shipped.
const EXAMPLE: &str = include_str!("../../../examples/kea/kea-dhcp4.conf");
/// The example's network (its first three octets); hosts keep their number on the link.
const EXAMPLE_PREFIX: &str = "192.168.10.";
/// Where Kea finds the PostgreSQL server of `MRP_TEST_POSTGRES`: its Unix socket
/// directory, which is the same from every network namespace.
const POSTGRES_SOCKET_DIR: &str = "/var/run/postgresql";

/// The port in a `postgres://user@host:port/db` URL (5432 when it names none).
fn postgres_port(url: &str) -> u16 {
    let authority = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    host_port
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(5432)
}

/// The example for the link: the link's network in place of the example's, Kea on the
/// server end of the link, both databases the test's (through the Unix socket, as user
/// `postgres`), the log on stdout. The rest (identifiers, global reservations, client
/// classes, pool, lifetimes) is the example's.
fn for_link(link: &DhcpLink, db: &KeaTestDb) -> Value {
    assert!(
        EXAMPLE.contains(EXAMPLE_PREFIX),
        "the example no longer uses {EXAMPLE_PREFIX}x: update this test"
    );
    let text = mr_provisioner_tests::dhcp_lab::strip_json_comments(
        &EXAMPLE.replace(EXAMPLE_PREFIX, &link.prefix()),
    );
    let mut conf: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the Kea example is not JSON once comments are gone: {e}"));
    let d = &mut conf["Dhcp4"];
    d["interfaces-config"]["interfaces"] = json!([link.server_if]);
    for key in ["lease-database", "hosts-database"] {
        assert_eq!(d[key]["type"], "postgresql", "{key}");
        d[key] = json!({
            "type": "postgresql",
            "name": db.name(),
            "host": POSTGRES_SOCKET_DIR,
            "port": postgres_port(db.url()),
            "user": "postgres",
        });
    }
    d["loggers"] = json!([{
        "name": "kea-dhcp4",
        "severity": "INFO",
        "output_options": [{"output": "stdout", "flush": true}],
    }]);
    // What the test relies on, as the example has it.
    assert_eq!(d["host-reservation-identifiers"], json!(["hw-address"]));
    assert_eq!(d["reservations-global"], json!(true));
    assert_eq!(d["next-server"], json!(link.host(2).to_string()));
    conf
}

/// Polls `GET /api/v1/dhcp/kea` (every 50 ms, at most 20 s) until `done` holds for it.
async fn kea_status(
    s: &TestServer,
    admin: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = s.get_as("/api/v1/dhcp/kea", admin).await;
        assert_eq!(r.status, 200, "{}", r.text);
        if done(&r.json) {
            return r.json;
        }
        assert!(
            Instant::now() < deadline,
            "Kea sync: {what} not within 20 s; last status: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// When `v` says (RFC 3339), if it is a time.
fn time(v: &Value) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok()
}

/// Makes a change through the API (which must succeed) and waits for a pass of the Kea task
/// that ended after it, without error (passes run only after changes here), and, when
/// `reservation` says the change alters Kea's reservations, that changed them. Returns the
/// answer to the change.
async fn change(
    s: &TestServer,
    admin: &str,
    (method, path): (mr_provisioner_tests::Method, &str),
    body: Value,
    reservation: bool,
) -> Value {
    let before = s.get_as("/api/v1/dhcp/kea", admin).await.json["last_change"].clone();
    let r = s
        .call(method.clone(), path, Some(admin), Some(&body.to_string()))
        .await;
    let done = chrono::Utc::now();
    assert!(
        (200..300).contains(&r.status),
        "{method} {path}: {}",
        r.text
    );
    kea_status(s, admin, &format!("a pass after {method} {path}"), |st| {
        time(&st["last_sync"]).is_some_and(|t| t > done)
            && st["error"].is_null()
            && (!reservation || st["last_change"] != before)
    })
    .await;
    r.json
}

/// Kea with the example for `link` ([`for_link`]), checked first, then started on the
/// link; ready once it says it started (and fails if it opened no socket).
async fn start_kea(link: &DhcpLink, db: &KeaTestDb, kea_dhcp4: &Path) -> Daemon {
    mr_provisioner_tests::dhcp_lab::start_kea(
        |program| link.server_command(program),
        kea_dhcp4,
        &for_link(link, db),
        link.dir(),
    )
    .await
}

/// One DHCP exchange, which must succeed.
async fn dhcp(link: &DhcpLink, kea: &Daemon, req: DhcpRequest) -> DhcpAnswer {
    link.udhcpc(&req)
        .await
        .unwrap_or_else(|e| panic!("{e}\n---- Kea ----\n{}", kea.log()))
}

/// `kea-dhcp4`, when it, busybox and the PostgreSQL socket directory are there (else
/// `None`, after [`skip`]).
fn kea_prerequisites() -> Option<std::path::PathBuf> {
    let kea_dhcp4 = find_program("kea-dhcp4")?;
    find_program("busybox")?;
    if !Path::new(POSTGRES_SOCKET_DIR).is_dir() {
        skip(&format!(
            "no PostgreSQL socket directory {POSTGRES_SOCKET_DIR} for Kea"
        ));
        return None;
    }
    Some(kea_dhcp4)
}

async fn reservations_leases_and_discovery_follow_the_api(backend: TestBackend) {
    let Some(kea_dhcp4) = kea_prerequisites() else {
        return;
    };
    let Some(db) = KeaTestDb::create().await else {
        return;
    };
    let Some(link) = DhcpLink::create() else {
        return;
    };
    let tftp = link.host(2);
    let url = db.url().to_string();
    let Some(s) = TestServer::start_with(backend, |c| {
        c.kea.hosts_database_url = Some(url.clone().into());
        c.kea.leases_database_url = Some(url.clone().into());
        // Only changes through the API (and explicit syncs) make passes here, so that the
        // test proves they do.
        c.kea.check_interval_secs = 3600;
        c.dhcp.next_server = tftp.to_string();
    })
    .await
    else {
        return;
    };
    // The server runs the Kea task as `serve` does.

    let kea = start_kea(&link, &db, &kea_dhcp4).await;

    within(Duration::from_secs(240), "the Kea test", async {
        let st = s.store.as_ref();
        let (_, admin) = s.user_with_token("root", true).await;
        let arch = fixtures::arch(st, "x86_64").await;
        let loader = fixtures::image(
            st,
            arch.id,
            "admin/grubx64.efi.5e6f7a8b",
            ImageKind::Bootloader,
        )
        .await;
        fixtures::efi_subarch(st, arch.id, "uefi", Some(loader.id)).await;
        st.network_create(&NewNetwork {
            name: "lab".into(),
            subnet: link.cidr().parse().expect("CIDR"),
            reserved_pool: Some(format!("{}32/28", link.prefix()).parse().expect("CIDR")),
            static_pool: Some(format!("{}64/28", link.prefix()).parse().expect("CIDR")),
        })
        .await
        .expect("create network");
        let status = kea_status(&s, &admin, "the first pass", |st| {
            !st["last_sync"].is_null() && st["error"].is_null()
        })
        .await;
        assert_eq!(status["enabled"], true, "{status}");
        assert!(
            status["schema"]
                .as_str()
                .is_some_and(|v| v.starts_with("13.")),
            "{status}"
        );

        // A machine that netboots, with a reserved address, made through the API.
        use mr_provisioner_tests::Method;
        let m = change(
            &s,
            &admin,
            (Method::POST, "/api/v1/machine"),
            json!({"name": "node-1", "arch": "x86_64", "subarch": "uefi"}),
            false,
        )
        .await;
        let id = m["id"].as_i64().expect("machine id");
        change(
            &s,
            &admin,
            (Method::PUT, &format!("/api/v1/machine/{id}")),
            json!({"netboot_enabled": true}),
            false,
        )
        .await;
        let mac = "52:54:00:6b:ea:01";
        let reserved = link.host(40);
        let iface = change(
            &s,
            &admin,
            (Method::POST, &format!("/api/v1/machine/{id}/interface")),
            json!({"mac": mac, "network": "lab", "reserved_ipv4": reserved.to_string()}),
            true,
        )
        .await;
        let iid = iface["id"].as_i64().expect("interface id");
        let status = s.get_as("/api/v1/dhcp/kea", &admin).await.json;
        assert_eq!(status["reservations"], 1, "{status}");
        assert_eq!(status["last_result"]["conflicts"], json!([]), "{status}");

        // Its reservation: the address, our TFTP server, the subarch's bootloader, the name.
        let a = dhcp(
            &link,
            &kea,
            DhcpRequest::new(mac).arch(7).hostname("whatever"),
        )
        .await;
        assert_eq!(a.ip, reserved, "{a:?}");
        assert_eq!(a.next_server, Some(tftp), "{a:?}");
        assert_eq!(
            a.boot_file.as_deref(),
            Some(loader.filename.as_str()),
            "{a:?}"
        );
        assert_eq!(a.hostname.as_deref(), Some("node-1"), "{a:?}");
        assert_eq!(a.server_id, Some(link.server_ip()), "{a:?}");

        // Netboot off: the reservation keeps the address and name, and the boot file is the
        // client class's (x64 UEFI), or none for a client that says no architecture.
        change(
            &s,
            &admin,
            (Method::PUT, &format!("/api/v1/machine/{id}")),
            json!({"netboot_enabled": false}),
            true,
        )
        .await;
        let a = dhcp(&link, &kea, DhcpRequest::new(mac).arch(7)).await;
        assert_eq!(a.ip, reserved, "{a:?}");
        assert_eq!(a.boot_file.as_deref(), Some("grubx64.efi"), "{a:?}");
        assert_eq!(a.next_server, Some(tftp), "{a:?}");
        assert_eq!(a.hostname.as_deref(), Some("node-1"), "{a:?}");
        let a = dhcp(&link, &kea, DhcpRequest::new(mac)).await;
        assert_eq!((a.ip, a.boot_file.as_deref()), (reserved, None), "{a:?}");

        // Another reserved address: the next answer has it.
        let moved = link.host(41);
        let r = change(
            &s,
            &admin,
            (
                Method::PUT,
                &format!("/api/v1/machine/{id}/interface/{iid}"),
            ),
            json!({"config_type_v4": "dynamic-reserved", "configured_ipv4": moved.to_string()}),
            true,
        )
        .await;
        assert_eq!(r["configured_ipv4"], moved.to_string(), "{r}");
        let a = dhcp(&link, &kea, DhcpRequest::new(mac).arch(7)).await;
        assert_eq!(a.ip, moved, "{a:?}");

        // Kea's lease, read by the next pass, is the interface's lease in the API.
        let r = s.post("/api/v1/dhcp/kea/sync", &admin, &json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(
            r.json["leases_seen"].as_u64().unwrap_or(0) >= 1,
            "{}",
            r.text
        );
        let r = s
            .get_as(&format!("/api/v1/machine/{id}/interface/{iid}"), &admin)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["lease_ipv4"], moved.to_string(), "{}", r.text);
        assert!(r.json["last_seen_date"].is_string(), "{}", r.text);

        // An unknown machine (an Intel NIC) gets a pool address and its class's boot file;
        // once its lease is read, it is discovered, with its vendor and host name.
        let stray = "00:1b:21:6b:ea:02";
        let a = dhcp(
            &link,
            &kea,
            DhcpRequest::new(stray).arch(7).hostname("stray-box"),
        )
        .await;
        let last = a.ip.octets()[3];
        assert!(
            a.ip.to_string().starts_with(&link.prefix()) && (100..=199).contains(&last),
            "{a:?}"
        );
        assert_eq!(a.boot_file.as_deref(), Some("grubx64.efi"), "{a:?}");
        let r = s.post("/api/v1/dhcp/kea/sync", &admin, &json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = s.get_as("/api/v1/discovered", &admin).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let found: Vec<&Value> = r
            .json
            .as_array()
            .expect("a list")
            .iter()
            .filter(|d| d["mac"] == stray)
            .collect();
        assert_eq!(found.len(), 1, "{}", r.text);
        let d = found[0];
        assert_eq!(d["hostname"], "stray-box", "{d}");
        assert!(d["vendor"].as_str().unwrap_or("").contains("Intel"), "{d}");
        // The known machine's lease made no discovery.
        assert!(
            !r.text.contains(mac),
            "a known MAC was discovered: {}",
            r.text
        );

        // Adopted, it is a machine with a reservation: Kea now names it (whatever name the
        // client sends) and it keeps its address.
        let r = change(
            &s,
            &admin,
            (
                Method::POST,
                &format!("/api/v1/discovered/{}/machine", d["id"]),
            ),
            json!({"name": "stray-box", "arch": "x86_64", "subarch": "uefi", "network": "lab"}),
            true,
        )
        .await;
        assert_eq!(r["name"], "stray-box", "{r}");
        let status = s.get_as("/api/v1/dhcp/kea", &admin).await.json;
        assert_eq!(status["reservations"], 2, "{status}");
        let r = s.get_as("/api/v1/discovered", &admin).await;
        assert!(!r.text.contains(stray), "{}", r.text);
        let again = dhcp(
            &link,
            &kea,
            DhcpRequest::new(stray).arch(7).hostname("other-name"),
        )
        .await;
        assert_eq!(again.hostname.as_deref(), Some("stray-box"), "{again:?}");
        assert_eq!(again.ip, a.ip, "{again:?}");
    })
    .await;

    drop(kea);
    s.finish().await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_leases_and_discovery_follow_the_api_sqlite() {
    reservations_leases_and_discovery_follow_the_api(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_leases_and_discovery_follow_the_api_postgres() {
    reservations_leases_and_discovery_follow_the_api(TestBackend::Postgres).await;
}

/// With `[kea] http_boot`, the same netbooting machine gets, from stock Kea running the
/// example, its bootloader's URL (option 67) and vendor class HTTPClient (option 60) as a
/// UEFI HTTP boot client, and the TFTP name alone (the `file` field, no option 67) as a
/// PXE client; HTTP clients the reservations give no URL get the example's lab-wide one.
async fn uefi_http_boot_clients_get_the_url_and_pxe_clients_the_tftp_name(backend: TestBackend) {
    let Some(kea_dhcp4) = kea_prerequisites() else {
        return;
    };
    let Some(db) = KeaTestDb::create().await else {
        return;
    };
    let Some(link) = DhcpLink::create() else {
        return;
    };
    let tftp = link.host(2);
    let url = db.url().to_string();
    let Some(s) = TestServer::start_with(backend, |c| {
        c.kea.hosts_database_url = Some(url.clone().into());
        c.kea.check_interval_secs = 3600;
        c.kea.http_boot = true;
        c.dhcp.next_server = tftp.to_string();
    })
    .await
    else {
        return;
    };
    let kea = start_kea(&link, &db, &kea_dhcp4).await;

    within(Duration::from_secs(240), "the Kea HTTP boot test", async {
        let st = s.store.as_ref();
        let (_, admin) = s.user_with_token("root", true).await;
        let arch = fixtures::arch(st, "x86_64").await;
        let loader = fixtures::image(
            st,
            arch.id,
            "admin/grubx64.efi.9c0d1e2f",
            ImageKind::Bootloader,
        )
        .await;
        fixtures::efi_subarch(st, arch.id, "uefi", Some(loader.id)).await;
        st.network_create(&NewNetwork {
            name: "lab".into(),
            subnet: link.cidr().parse().expect("CIDR"),
            reserved_pool: Some(format!("{}32/28", link.prefix()).parse().expect("CIDR")),
            static_pool: None,
        })
        .await
        .expect("create network");
        use mr_provisioner_tests::Method;
        let m = change(
            &s,
            &admin,
            (Method::POST, "/api/v1/machine"),
            json!({"name": "node-h", "arch": "x86_64", "subarch": "uefi"}),
            false,
        )
        .await;
        let id = m["id"].as_i64().expect("machine id");
        change(
            &s,
            &admin,
            (Method::PUT, &format!("/api/v1/machine/{id}")),
            json!({"netboot_enabled": true}),
            false,
        )
        .await;
        let mac = "52:54:00:6b:ea:11";
        let reserved = link.host(42);
        change(
            &s,
            &admin,
            (Method::POST, &format!("/api/v1/machine/{id}/interface")),
            json!({"mac": mac, "network": "lab", "reserved_ipv4": reserved.to_string()}),
            true,
        )
        .await;
        let boot_url = format!(
            "{}/{}",
            s.state.provisioner.settings.boot_url(),
            loader.filename
        );
        let env = |a: &DhcpAnswer, key: &str| a.env.get(key).cloned();
        let http = || {
            DhcpRequest::new(mac)
                .arch(16)
                .vendor_class("HTTPClient:Arch:00016:UNDI:003001")
        };
        let pxe = || {
            DhcpRequest::new(mac)
                .arch(7)
                .vendor_class("PXEClient:Arch:00007:UNDI:003000")
        };

        // As an HTTP client (OVMF's HTTP boot): option 67 is the URL, option 60 HTTPClient;
        // the reserved address and name as always (udhcpc calls options 67 and 60
        // `bootfile` and `vendor`, the `file` field `boot_file`).
        let a = dhcp(&link, &kea, http()).await;
        assert_eq!(a.ip, reserved, "{a:?}");
        assert_eq!(a.hostname.as_deref(), Some("node-h"), "{a:?}");
        assert_eq!(env(&a, "bootfile"), Some(boot_url.clone()), "{a:?}");
        assert_eq!(env(&a, "vendor").as_deref(), Some("HTTPClient"), "{a:?}");
        // Either half of what OVMF sends says it.
        let a = dhcp(&link, &kea, DhcpRequest::new(mac).arch(16)).await;
        assert_eq!(env(&a, "bootfile"), Some(boot_url.clone()), "{a:?}");
        let a = dhcp(
            &link,
            &kea,
            DhcpRequest::new(mac).vendor_class("HTTPClient:Arch:00016:UNDI:003001"),
        )
        .await;
        assert_eq!(env(&a, "bootfile"), Some(boot_url.clone()), "{a:?}");

        // The same machine as a PXE client (OVMF's PXE): the TFTP name in the `file` field,
        // and no option 67 (the option is always sent, so asking for it or not changes
        // nothing) nor vendor class.
        let a = dhcp(&link, &kea, pxe()).await;
        assert_eq!(a.ip, reserved, "{a:?}");
        assert_eq!(env(&a, "boot_file"), Some(loader.filename.clone()), "{a:?}");
        assert_eq!(a.next_server, Some(tftp), "{a:?}");
        assert_eq!(env(&a, "bootfile"), None, "{a:?}");
        assert_eq!(env(&a, "vendor"), None, "{a:?}");
        // Nor to a client that says nothing of itself.
        let a = dhcp(&link, &kea, DhcpRequest::new(mac)).await;
        assert_eq!(env(&a, "boot_file"), Some(loader.filename.clone()), "{a:?}");
        assert_eq!(env(&a, "bootfile"), None, "{a:?}");

        // Netboot off: no URL of its own; an HTTP client gets the example's lab-wide one,
        // a PXE client the class's file name, as without HTTP boot.
        let lab_wide = format!("http://{tftp}:5000/boot/grubx64.efi");
        change(
            &s,
            &admin,
            (Method::PUT, &format!("/api/v1/machine/{id}")),
            json!({"netboot_enabled": false}),
            true,
        )
        .await;
        let a = dhcp(&link, &kea, http()).await;
        assert_eq!(env(&a, "bootfile"), Some(lab_wide.clone()), "{a:?}");
        assert_eq!(env(&a, "vendor").as_deref(), Some("HTTPClient"), "{a:?}");
        assert_eq!(env(&a, "boot_file"), None, "{a:?}");
        let a = dhcp(&link, &kea, pxe()).await;
        assert_eq!(
            env(&a, "boot_file").as_deref(),
            Some("grubx64.efi"),
            "{a:?}"
        );
        assert_eq!(env(&a, "bootfile"), None, "{a:?}");

        // An unknown machine: the same as netboot off.
        let stray = "00:1b:21:6b:ea:12";
        let a = dhcp(
            &link,
            &kea,
            DhcpRequest::new(stray)
                .arch(16)
                .vendor_class("HTTPClient:Arch:00016:UNDI:003001"),
        )
        .await;
        assert_eq!(env(&a, "bootfile"), Some(lab_wide), "{a:?}");
        assert_eq!(env(&a, "vendor").as_deref(), Some("HTTPClient"), "{a:?}");
    })
    .await;

    drop(kea);
    s.finish().await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uefi_http_boot_clients_get_the_url_and_pxe_clients_the_tftp_name_sqlite() {
    uefi_http_boot_clients_get_the_url_and_pxe_clients_the_tftp_name(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uefi_http_boot_clients_get_the_url_and_pxe_clients_the_tftp_name_postgres() {
    uefi_http_boot_clients_get_the_url_and_pxe_clients_the_tftp_name(TestBackend::Postgres).await;
}
