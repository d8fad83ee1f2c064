//! The original's Kea hook API (`/dhcp/ipv4...`) through the whole server, on SQLite and
//! PostgreSQL: every case of the original's controller, malformed bodies, and the answer
//! following changes made through the REST API.

mod dnsmasq;
mod kea;

use mr_provisioner_core::model::event::EventKind;
use mr_provisioner_core::model::image::ImageKind;
use mr_provisioner_core::model::interface::NewInterface;
use mr_provisioner_core::model::machine::{Machine, NewMachine};
use mr_provisioner_core::model::network::NewNetwork;
use mr_provisioner_core::store::Page;
use mr_provisioner_tests::{Method, Reply, TestServer, fixtures, server_test};
use serde_json::json;

/// `m1`: netboot on, subarch with a bootloader, MAC ...:01 with a reserved address only,
/// MAC ...:02 with a static and a reserved one; `m2`: netboot on, subarch without a
/// bootloader, MAC ...:03 without a network; `m3`: netboot off, MAC ...:04 reserved.
struct Lab {
    m1: Machine,
    m3: Machine,
}

async fn lab(s: &TestServer) -> Lab {
    let st = s.store.as_ref();
    let arch = fixtures::arch(st, "arm64").await;
    let loader = fixtures::image(
        st,
        arch.id,
        "admin/grubaa64.efi.1a2b3c4d",
        ImageKind::Bootloader,
    )
    .await;
    let efi = fixtures::efi_subarch(st, arch.id, "efi", Some(loader.id)).await;
    let bare = fixtures::efi_subarch(st, arch.id, "bare", None).await;
    let net = st
        .network_create(&NewNetwork {
            name: "lab".into(),
            subnet: "10.101.0.0/16".parse().unwrap(),
            reserved_pool: Some("10.101.16.0/20".parse().unwrap()),
            static_pool: Some("10.101.32.0/20".parse().unwrap()),
        })
        .await
        .unwrap();
    let machine = |name: &str, subarch, netboot| {
        let mut m = NewMachine::named(name, arch.id);
        m.subarch_id = Some(subarch);
        m.netboot_enabled = netboot;
        m
    };
    let m1 = st
        .machine_create(&machine("m1", efi.id, true))
        .await
        .unwrap();
    let m2 = st
        .machine_create(&machine("m2", bare.id, true))
        .await
        .unwrap();
    let m3 = st
        .machine_create(&machine("m3", efi.id, false))
        .await
        .unwrap();
    for (m, mac, network, stat, reserved) in [
        (
            &m1,
            "52:54:00:00:00:01",
            Some(net.id),
            None,
            Some("10.101.16.5"),
        ),
        (
            &m1,
            "52:54:00:00:00:02",
            Some(net.id),
            Some("10.101.32.5"),
            Some("10.101.16.6"),
        ),
        (&m2, "52:54:00:00:00:03", None, None, None),
        (
            &m3,
            "52:54:00:00:00:04",
            Some(net.id),
            None,
            Some("10.101.16.7"),
        ),
    ] {
        st.interface_create(&NewInterface {
            machine_id: m.id,
            mac: mac.parse().unwrap(),
            identifier: None,
            network_id: network,
            static_ipv4: stat.map(|a| a.parse().unwrap()),
            reserved_ipv4: reserved.map(|a| a.parse().unwrap()),
        })
        .await
        .unwrap();
    }
    Lab { m1, m3 }
}

async fn ask(s: &TestServer, query: &str) -> Reply {
    s.call(Method::GET, &format!("/dhcp/ipv4{query}"), None, None)
        .await
}

async fn post(s: &TestServer, path: &str, body: &str) -> Reply {
    let r = s
        .client
        .post(s.url(path))
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    mr_provisioner_tests::read(r).await
}

server_test!(answers_for_each_kind_of_interface, |s| {
    let lab = lab(s).await;
    // Reserved only, netboot on: the reserved address, next-server and the bootloader.
    let r = ask(s, "?hwaddr=52:54:00:00:00:01").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"options": [{"option": 67, "value": "admin/grubaa64.efi.1a2b3c4d"}],
               "next-server": "127.0.0.1", "ipv4": "10.101.16.5"})
    );
    // Upper case and URL-encoded colons are the same MAC.
    let r = ask(s, "?hwaddr=52%3A54%3A00%3A00%3A00%3A01").await;
    assert_eq!(r.json["ipv4"], "10.101.16.5");
    // Static and reserved: no address (static addresses are the installer's business).
    let r = ask(s, "?hwaddr=52:54:00:00:00:02").await;
    assert_eq!(r.status, 200);
    assert!(r.json.get("ipv4").is_none(), "{}", r.text);
    // A subarch without a bootloader and no default boot file: no option 67.
    let r = ask(s, "?hwaddr=52:54:00:00:00:03").await;
    assert_eq!(r.json, json!({"options": [], "next-server": "127.0.0.1"}));
    // Netboot off: neither boot file nor next-server; the reserved address still.
    let r = ask(s, "?hwaddr=52:54:00:00:00:04").await;
    assert_eq!(r.json, json!({"options": [], "ipv4": "10.101.16.7"}));
    // Unknown MAC: 404 (the hook changes nothing); no or a bad hwaddr: 400.
    assert_eq!(ask(s, "?hwaddr=52:54:00:99:99:99").await.status, 404);
    assert_eq!(ask(s, "").await.status, 400);
    assert_eq!(ask(s, "?hwaddr=").await.status, 400);
    assert_eq!(ask(s, "?hwaddr=not-a-mac").await.status, 400);
    // No event for these questions.
    let events = s
        .store
        .event_list(
            lab.m1.id,
            Page {
                before: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert!(events.is_empty(), "{events:?}");
    // A change through the API changes the next answer.
    let (_, admin) = s.user_with_token("root", true).await;
    let r = s
        .put(
            &format!("/api/v1/machine/{}", lab.m3.id),
            &admin,
            &json!({"netboot_enabled": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = ask(s, "?hwaddr=52:54:00:00:00:04").await;
    assert_eq!(
        r.json["options"],
        json!([{"option": 67, "value": "admin/grubaa64.efi.1a2b3c4d"}])
    );
});

server_test!(uefi_http_boot_clients_get_a_url_and_the_vendor_class, |s| {
    lab(s).await;
    let url = format!(
        "{}/admin/grubaa64.efi.1a2b3c4d",
        s.state.provisioner.settings.boot_url()
    );
    assert!(url.starts_with("http://"), "{url}");
    let pxe = json!({"options": [{"option": 67, "value": "admin/grubaa64.efi.1a2b3c4d"}],
                     "next-server": "127.0.0.1", "ipv4": "10.101.16.5"});
    let http = json!({"options": [{"option": 67, "value": url}, {"option": 60, "value": "HTTPClient"}],
                      "next-server": "127.0.0.1", "ipv4": "10.101.16.5"});
    let mac = "?hwaddr=52:54:00:00:00:01";
    // HTTP boot first, then PXE, so that a kept answer of one kind cannot serve the other.
    for (query, want) in [
        // OVMF's HTTP boot: option 93 = 16 and its vendor class (colons escaped or not).
        (
            "&arch=16&vendor_class=HTTPClient%3AArch%3A00016%3AUNDI%3A003001",
            &http,
        ),
        (
            "&arch=16&vendor_class=HTTPClient:Arch:00016:UNDI:003001",
            &http,
        ),
        // Either alone says it.
        ("&arch=16", &http),
        ("&vendor_class=HTTPClient:Arch:00016:UNDI:003001", &http),
        // The same machine PXE-booting (OVMF, iPXE): the TFTP name, as today.
        (
            "&arch=7&vendor_class=PXEClient:Arch:00007:UNDI:003000",
            &pxe,
        ),
        ("&arch=9", &pxe),
        (
            "&arch=0&vendor_class=PXEClient:Arch:00000:UNDI:002001",
            &pxe,
        ),
        // The original hook's question, and empty parameters.
        ("", &pxe),
        ("&arch=&vendor_class=", &pxe),
        ("&vendor_class=udhcp%201.35.0", &pxe),
        ("&arch=16", &http),
    ] {
        let r = ask(s, &format!("{mac}{query}")).await;
        assert_eq!(r.status, 200, "{query}: {}", r.text);
        assert_eq!(&r.json, want, "{query}");
    }
    let as_http = "&arch=16&vendor_class=HTTPClient:Arch:00016:UNDI:003001";
    // A subarch without a bootloader (and no default): no boot file, so no vendor class.
    let r = ask(s, &format!("?hwaddr=52:54:00:00:00:03{as_http}")).await;
    assert_eq!(r.json, json!({"options": [], "next-server": "127.0.0.1"}));
    // Netboot off: what a PXE client gets (the reserved address only).
    let r = ask(s, &format!("?hwaddr=52:54:00:00:00:04{as_http}")).await;
    assert_eq!(r.json, json!({"options": [], "ipv4": "10.101.16.7"}));
    // Unknown MAC: 404 whatever the client; an arch that is no number: 400.
    let r = ask(s, &format!("?hwaddr=52:54:00:99:99:99{as_http}")).await;
    assert_eq!(r.status, 404, "{}", r.text);
    for bad in ["&arch=x64", "&arch=0x10", "&arch=70000"] {
        let r = ask(s, &format!("{mac}{bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        assert!(
            r.json["error"].as_str().unwrap_or("").contains("arch"),
            "{}",
            r.text
        );
    }
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_boot_file_and_next_server_come_from_the_configuration() {
    let Some(s) = TestServer::start_with(mr_provisioner_core::testing::TestBackend::Sqlite, |c| {
        c.dhcp.default_bootfile = "default/grubaa64.efi".into();
        c.dhcp.next_server = "10.101.0.1".into();
    })
    .await
    else {
        return;
    };
    lab(&s).await;
    let r = ask(&s, "?hwaddr=52:54:00:00:00:03").await;
    assert_eq!(
        r.json,
        json!({"options": [{"option": 67, "value": "default/grubaa64.efi"}], "next-server": "10.101.0.1"})
    );
    // A UEFI HTTP boot client gets the default boot file as a URL.
    let r = ask(&s, "?hwaddr=52:54:00:00:00:03&arch=19").await;
    let url = format!(
        "{}/default/grubaa64.efi",
        s.state.provisioner.settings.boot_url()
    );
    assert_eq!(
        r.json,
        json!({"options": [{"option": 67, "value": url}, {"option": 60, "value": "HTTPClient"}],
               "next-server": "10.101.0.1"})
    );
    s.finish().await;
}

server_test!(
    seen_records_known_machines_and_discovers_unknown_ones,
    |s| {
        let lab = lab(s).await;
        let r = post(
        s,
        "/dhcp/ipv4/seen",
        r#"{"discover": true, "mac": "52:54:00:00:00:01", "options": [{"option": 12, "value": "m1"}, {"option": 93, "value": 11}]}"#,
    )
    .await;
        assert_eq!(r.status, 200, "{}", r.text);
        s.state.provisioner.events.flush().await;
        let e = s
            .store
            .event_list(
                lab.m1.id,
                Page {
                    before: None,
                    limit: 10,
                },
            )
            .await
            .unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].kind, &e[0].info, &e[0].username),
            (EventKind::DhcpRequest, &json!({"discover": true}), &None)
        );
        // An unknown MAC is discovered, with its vendor, host name and architecture; a second
        // sighting updates it.
        let unknown = r#"{"discover": false, "mac": "00:50:56:AA:BB:CC", "options": [{"option": 12, "value": "new-box"}, {"option": 93, "value": 7}]}"#;
        for _ in 0..2 {
            let r = post(s, "/dhcp/ipv4/seen", unknown).await;
            assert_eq!(r.status, 202, "{}", r.text);
        }
        let found = s.store.discovered_mac_list().await.unwrap();
        assert_eq!(found.len(), 1);
        let d = &found[0];
        assert_eq!(d.mac.to_string(), "00:50:56:aa:bb:cc");
        assert_eq!(d.hostname.as_deref(), Some("new-box"));
        assert_eq!(
            (d.arch_code, d.arch.as_deref()),
            (Some(7), Some("x64 UEFI"))
        );
        assert!(
            d.vendor.as_deref().unwrap_or("").contains("VMware"),
            "{:?}",
            d.vendor
        );
    }
);

server_test!(leases_are_recorded, |s| {
    lab(s).await;
    let r = post(
        s,
        "/dhcp/ipv4/lease",
        r#"{"mac": "52:54:00:00:00:01", "ipv4": "10.101.16.5", "duration": 3600}"#,
    )
    .await;
    assert_eq!((r.status, r.text.as_str()), (201, ""));
    let l = s
        .store
        .lease_by_mac("52:54:00:00:00:01".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(l.ipv4, Some("10.101.16.5".parse().unwrap()));
});

server_test!(subnet_choice_for_reserved_addresses, |s| {
    lab(s).await;
    let subnets = |mac: &str| {
        json!({"mac": mac, "subnets": [
            {"subnetId": 1, "prefix": "10.200.0.0", "prefixLen": 16,
             "pools": [{"poolId": 0, "firstIP": "10.200.16.1", "lastIP": "10.200.31.254", "capacity": 4094}]},
            {"subnetId": 2, "prefix": "10.101.0.0", "prefixLen": 16,
             "pools": [{"poolId": 0, "firstIP": "10.101.2.1", "lastIP": "10.101.15.254", "capacity": 3582}]},
            {"subnetId": 3, "prefix": "10.101.0.0", "prefixLen": 16,
             "pools": [{"poolId": 0, "firstIP": "10.101.16.1", "lastIP": "10.101.31.254", "capacity": 4094}]}
        ]})
        .to_string()
    };
    // Reserved only: the subnet whose pool starts in the reserved range (not 1, which
    // does not overlap the network, nor 2, whose pool is elsewhere).
    let r = post(s, "/dhcp/ipv4/subnet", &subnets("52:54:00:00:00:01")).await;
    assert_eq!((r.status, &r.json), (200, &json!({"subnetId": 3})));
    // Static: Kea's own choice.
    let r = post(s, "/dhcp/ipv4/subnet", &subnets("52:54:00:00:00:02")).await;
    assert_eq!(r.json, json!({"subnetId": null}));
    // No network, or unknown: 404.
    for mac in ["52:54:00:00:00:03", "52:54:00:99:99:99"] {
        let r = post(s, "/dhcp/ipv4/subnet", &subnets(mac)).await;
        assert_eq!(r.status, 404, "{mac}");
    }
    // No pool in the reserved range: {}.
    let r = post(
        s,
        "/dhcp/ipv4/subnet",
        &json!({"mac": "52:54:00:00:00:01", "subnets": [{"subnetId": 2, "prefix": "10.101.0.0", "prefixLen": 16,
            "pools": [{"firstIP": "10.101.2.1"}]}]})
        .to_string(),
    )
    .await;
    assert_eq!(r.json, json!({}));
});

server_test!(malformed_bodies_are_400_and_change_nothing, |s| {
    lab(s).await;
    let before = s.snapshot().await;
    let cases: &[(&str, &str)] = &[
        ("/dhcp/ipv4/seen", ""),
        ("/dhcp/ipv4/seen", "{"),
        ("/dhcp/ipv4/seen", "[]"),
        (
            "/dhcp/ipv4/seen",
            r#"{"mac": "52:54:00:00:00:09", "options": []}"#,
        ),
        (
            "/dhcp/ipv4/seen",
            r#"{"discover": "yes", "mac": "52:54:00:00:00:09", "options": []}"#,
        ),
        (
            "/dhcp/ipv4/seen",
            r#"{"discover": true, "mac": "52-54-00-00-00-09", "options": []}"#,
        ),
        (
            "/dhcp/ipv4/seen",
            r#"{"discover": true, "mac": "52:54:00:00:00:09", "options": [{"option": -1, "value": 1}]}"#,
        ),
        (
            "/dhcp/ipv4/seen",
            r#"{"discover": true, "mac": "52:54:00:00:00:09", "options": [{"option": 12, "value": null}]}"#,
        ),
        (
            "/dhcp/ipv4/seen",
            r#"{"discover": true, "mac": "52:54:00:00:00:09", "options": {}}"#,
        ),
        (
            "/dhcp/ipv4/lease",
            r#"{"mac": "52:54:00:00:00:09", "ipv4": "10.1.2.300", "duration": 1}"#,
        ),
        (
            "/dhcp/ipv4/lease",
            r#"{"mac": "52:54:00:00:00:09", "ipv4": "10.1.2.3"}"#,
        ),
        (
            "/dhcp/ipv4/lease",
            r#"{"mac": "52:54:00:00:00:09", "ipv4": "10.1.2.3", "duration": -5}"#,
        ),
        (
            "/dhcp/ipv4/lease",
            r#"{"mac": 5, "ipv4": "10.1.2.3", "duration": 1}"#,
        ),
        ("/dhcp/ipv4/subnet", r#"{"mac": "52:54:00:00:00:01"}"#),
        (
            "/dhcp/ipv4/subnet",
            r#"{"mac": "52:54:00:00:00:01", "subnets": [{"subnetId": "x", "prefix": "10.0.0.0", "prefixLen": 8}]}"#,
        ),
        (
            "/dhcp/ipv4/subnet",
            r#"{"mac": "52:54:00:00:00:01", "subnets": [{"subnetId": 1, "prefix": "10.0.0.0", "prefixLen": 33}]}"#,
        ),
    ];
    for (path, body) in cases {
        let r = post(s, path, body).await;
        assert_eq!(r.status, 400, "{path} {body}: {}", r.text);
        assert!(
            r.json["error"].is_string() || r.json["errors"].is_array(),
            "{path} {body}: {}",
            r.text
        );
    }
    mr_provisioner_tests::assert_snapshots_equal(&before, &s.snapshot().await, "malformed bodies");
    // Unknown keys are tolerated.
    let r = post(
        s,
        "/dhcp/ipv4/lease",
        r#"{"mac": "52:54:00:00:00:09", "ipv4": "10.1.2.3", "duration": 1, "extra": true}"#,
    )
    .await;
    assert_eq!(r.status, 201);
    s.store
        .lease_by_mac("52:54:00:00:00:09".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
});

server_test!(
    an_unknown_machine_is_discovered_then_adopted_through_the_api,
    |s| {
        let st = s.store.as_ref();
        let arch = fixtures::arch(st, "x86_64").await;
        let loader = fixtures::image(
            st,
            arch.id,
            "admin/grubx64.efi.0f1e2d3c",
            ImageKind::Bootloader,
        )
        .await;
        fixtures::efi_subarch(st, arch.id, "uefi", Some(loader.id)).await;
        let (_, admin) = s.user_with_token("root", true).await;
        // An Intel NIC (OUI 00:1b:21) that no interface has.
        let mac = "00:1b:21:3c:4d:5e";
        assert_eq!(ask(s, &format!("?hwaddr={mac}")).await.status, 404);
        let seen = |discover: bool, hostname: &str| {
            json!({"discover": discover, "mac": "00:1B:21:3C:4D:5E", "options": [
            {"option": 12, "value": hostname}, {"option": 93, "value": 7}]})
            .to_string()
        };
        let r = post(s, "/dhcp/ipv4/seen", &seen(true, "fresh-box")).await;
        assert_eq!(r.status, 202, "{}", r.text);
        let listed = |r: &Reply| -> Vec<serde_json::Value> {
            assert_eq!(r.status, 200, "{}", r.text);
            let all = r.json.as_array().expect("a list").clone();
            all.into_iter().filter(|d| d["mac"] == mac).collect()
        };
        let first = listed(&s.get_as("/api/v1/discovered", &admin).await);
        assert_eq!(first.len(), 1, "{first:?}");
        let d = &first[0];
        assert_eq!(
            (&d["hostname"], &d["arch_code"], &d["arch"]),
            (&json!("fresh-box"), &json!(7), &json!("x64 UEFI")),
            "{d}"
        );
        assert!(d["vendor"].as_str().unwrap_or("").contains("Intel"), "{d}");
        let time = |v: &serde_json::Value| {
            chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or(""))
                .unwrap_or_else(|e| panic!("{v}: {e}"))
        };
        let (first_seen, last_seen) = (time(&d["first_seen"]), time(&d["last_seen"]));
        assert!(first_seen <= last_seen, "{d}");
        let age = chrono::Utc::now().signed_duration_since(first_seen);
        assert!(age.num_seconds().abs() < 60, "{d}");
        // Seen again (a DHCPREQUEST, another host name): the same entry, updated.
        let r = post(s, "/dhcp/ipv4/seen", &seen(false, "fresh-box-2")).await;
        assert_eq!(r.status, 202, "{}", r.text);
        let again = listed(&s.get_as("/api/v1/discovered", &admin).await);
        assert_eq!(again.len(), 1, "{again:?}");
        let d2 = &again[0];
        assert_eq!(
            (&d2["id"], &d2["hostname"]),
            (&d["id"], &json!("fresh-box-2"))
        );
        assert_eq!(time(&d2["first_seen"]), first_seen, "{d2}");
        assert!(time(&d2["last_seen"]) >= last_seen, "{d2}");

        // Adopted: a machine with that MAC as its interface.
        let id = d["id"].as_i64().expect("id");
        let r = s
            .post(
                &format!("/api/v1/discovered/{id}/machine"),
                &admin,
                &json!({"name": "fresh-box", "arch": "x86_64", "subarch": "uefi"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(
            (&r.json["name"], &r.json["arch"], &r.json["subarch"]),
            (&json!("fresh-box"), &json!("x86_64"), &json!("uefi")),
            "{}",
            r.text
        );
        let machine = r.json["id"].as_i64().expect("machine id");
        let ifaces = s
            .get_as(&format!("/api/v1/machine/{machine}/interface"), &admin)
            .await;
        assert_eq!(ifaces.status, 200, "{}", ifaces.text);
        assert!(ifaces.text.contains(mac), "{}", ifaces.text);
        // No longer discovered; the hook knows it now (netboot is off for a new machine).
        let gone = listed(&s.get_as("/api/v1/discovered", &admin).await);
        assert!(gone.is_empty(), "{gone:?}");
        let r = ask(s, &format!("?hwaddr={mac}")).await;
        assert_eq!(
            (r.status, &r.json),
            (200, &json!({"options": []})),
            "{}",
            r.text
        );
        // A sighting is now a DHCP event of the machine, not a discovery.
        let r = post(s, "/dhcp/ipv4/seen", &seen(true, "fresh-box")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(listed(&s.get_as("/api/v1/discovered", &admin).await).is_empty());
        // With netboot on, the hook hands it its subarch's bootloader.
        let r = s
            .put(
                &format!("/api/v1/machine/{machine}"),
                &admin,
                &json!({"netboot_enabled": true}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = ask(s, &format!("?hwaddr={mac}")).await;
        assert_eq!(
            r.json,
            json!({"options": [{"option": 67, "value": "admin/grubx64.efi.0f1e2d3c"}],
               "next-server": "127.0.0.1"}),
            "{}",
            r.text
        );
    }
);

/// The hook's answers are kept for `dhcp.answer_cache_ms`: a change through the API is in
/// the very next answer (the API reports it), one made behind the server's back (here, in
/// the store directly, as `inventory apply` or another server would) once the answer has
/// aged out. The same holds for a MAC that was unknown.
async fn kept_answers_follow_changes(backend: mr_provisioner_core::testing::TestBackend) {
    let Some(s) = TestServer::start_with(backend, |c| c.dhcp.answer_cache_ms = 500).await else {
        return;
    };
    let lab = lab(&s).await;
    let (_, admin) = s.user_with_token("root", true).await;
    let bootfile = |r: &Reply| r.json["options"].as_array().map_or(0, Vec::len);
    let r = ask(&s, "?hwaddr=52:54:00:00:00:01").await;
    assert_eq!((r.status, bootfile(&r)), (200, 1), "{}", r.text);
    // Through the API: the next answer already has no boot file.
    let m1 = format!("/api/v1/machine/{}", lab.m1.id);
    let r = s.put(&m1, &admin, &json!({"netboot_enabled": false})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = ask(&s, "?hwaddr=52:54:00:00:00:01").await;
    assert_eq!((r.status, bootfile(&r)), (200, 0), "{}", r.text);
    // Behind the server's back: in the answer once the kept one is older than 500 ms.
    let mut m = s.store.machine_get(lab.m1.id).await.unwrap();
    m.netboot_enabled = true;
    s.store
        .machine_update(lab.m1.id, &machine_as_new(&m))
        .await
        .unwrap();
    let unknown = "?hwaddr=02:00:00:00:00:77";
    assert_eq!(ask(&s, unknown).await.status, 404);
    let other = s
        .store
        .machine_create(&NewMachine::named("late", m.arch_id))
        .await
        .unwrap();
    s.store
        .interface_create(&NewInterface::bare(
            other.id,
            "02:00:00:00:00:77".parse().unwrap(),
        ))
        .await
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        let known = ask(&s, "?hwaddr=52:54:00:00:00:01").await;
        let late = ask(&s, unknown).await;
        if bootfile(&known) == 1 && late.status == 200 {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "the changes never reached the answers: {} / {}",
            known.text,
            late.text
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    s.finish().await;
}

fn machine_as_new(m: &Machine) -> NewMachine {
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
async fn kept_answers_follow_changes_sqlite() {
    kept_answers_follow_changes(mr_provisioner_core::testing::TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_answers_follow_changes_postgres() {
    kept_answers_follow_changes(mr_provisioner_core::testing::TestBackend::Postgres).await;
}
