//! `inventory apply` on both backends: idempotent, transactional, errors that name the entry
//! and field.

use std::sync::Arc;

use mr_provisioner_core::Error;
use mr_provisioner_core::inventory::{Inventory, apply};
use mr_provisioner_core::store::{MachineListQuery, Store};
use mr_provisioner_core::store_test;

const EXAMPLE: &str = include_str!("../../examples/inventory.toml");

/// Everything the inventory can touch, as text, to compare database states.
async fn snapshot(store: &dyn Store) -> String {
    let mut out = String::new();
    for a in store.arch_list().await.unwrap() {
        out += &format!("{a:?}\n");
    }
    for s in store.subarch_list(None).await.unwrap() {
        out += &format!("{s:?}\n");
    }
    for b in store.bmc_list().await.unwrap() {
        out += &format!(
            "{} {} {:?} {} {:?}\n",
            b.name, b.address, b.port, b.kind, b.cipher_suite
        );
    }
    for n in store.network_list().await.unwrap() {
        out += &format!("{n:?}\n");
    }
    for u in store.user_list().await.unwrap() {
        out += &format!("{} {:?} {} {}\n", u.username, u.email, u.admin, u.ssh_key);
    }
    for m in store
        .machine_list(&MachineListQuery::default())
        .await
        .unwrap()
    {
        out += &format!("{:?}\n", m);
        for i in store
            .interface_list_for_machine(m.machine.id)
            .await
            .unwrap()
        {
            out += &format!("  {i:?}\n");
        }
        for a in store
            .assignment_list_for_machine(m.machine.id)
            .await
            .unwrap()
        {
            out += &format!("  {} {} {:?}\n", a.user_id, a.reason, a.end);
        }
    }
    out
}

fn example() -> Inventory {
    // The example takes the Moonshot password from an environment variable; tests run in
    // threads, where changing the environment is unsound, so give it inline instead.
    let text = EXAMPLE.replace(
        "password_env = \"MOONSHOT_BMC_PASSWORD\"",
        "password = \"moonshot-secret\"",
    );
    Inventory::parse(&text).expect("the example inventory parses")
}

store_test!(example_applies_then_is_unchanged, |store| {
    let inv = example();
    let first = apply(store.as_ref(), &inv, false).await.unwrap();
    assert!(first.changed());
    let total = first.total();
    // 2 archs + 3 subarchs + 2 BMCs + 1 network + 2 users + 3 machines + 3 interfaces + 1 assignment
    assert_eq!(total.created, 17, "{first}");
    assert_eq!(total.updated + total.unchanged, 0);
    let after_first = snapshot(store.as_ref()).await;

    let second = apply(store.as_ref(), &inv, false).await.unwrap();
    assert!(!second.changed(), "{second}");
    assert_eq!(second.total().unchanged, 17);
    assert!(second.to_string().contains("no changes"), "{second}");
    assert_eq!(snapshot(store.as_ref()).await, after_first);

    let pc01 = store.machine_by_name("pc01").await.unwrap().unwrap();
    let intf = store.interface_list_for_machine(pc01.id).await.unwrap();
    assert_eq!(intf[0].mac.to_string(), "52:54:00:12:34:56");
    assert_eq!(intf[0].reserved_ipv4.unwrap().to_string(), "10.99.0.130");
});

store_test!(changes_are_updates, |store| {
    apply(store.as_ref(), &example(), false).await.unwrap();
    let mut inv = example();
    inv.machine[0].bmc = None;
    inv.machine[0].interface[0].reserved_ipv4 = Some("10.99.0.131".into());
    inv.user[0].email = Some("alice@lab.example.com".into());
    let report = apply(store.as_ref(), &inv, false).await.unwrap();
    let t = report.total();
    assert_eq!((t.created, t.updated, t.unchanged), (0, 3, 14), "{report}");
    let pc01 = store.machine_by_name("pc01").await.unwrap().unwrap();
    assert_eq!(pc01.bmc_id, None);
});

store_test!(dry_run_changes_nothing, |store| {
    let before = snapshot(store.as_ref()).await;
    let report = apply(store.as_ref(), &example(), true).await.unwrap();
    assert_eq!(report.total().created, 17);
    assert_eq!(snapshot(store.as_ref()).await, before);
});

/// Each broken file fails with an error naming the entry and field, and the database is
/// exactly as before, although earlier entries of the file were valid.
async fn rejects(store: &Arc<dyn Store>, edit: impl Fn(&mut Inventory), entry: &str, field: &str) {
    let before = snapshot(store.as_ref()).await;
    let mut inv = example();
    edit(&mut inv);
    let err = apply(store.as_ref(), &inv, false).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    assert!(text.contains(entry), "{text:?} should name {entry}");
    assert!(text.contains(field), "{text:?} should name {field}");
    assert_eq!(
        snapshot(store.as_ref()).await,
        before,
        "{text}: something was changed"
    );
}

store_test!(bad_entries_change_nothing, |store| {
    // Start from a populated database so that "nothing changed" is meaningful.
    let mut base = example();
    base.machine.truncate(1);
    base.assignment.clear();
    apply(store.as_ref(), &base, false).await.unwrap();

    rejects(
        &store,
        |i| i.machine[2].arch = "sparc".into(),
        "machine \"c3n1\"",
        "arch",
    )
    .await;
    rejects(
        &store,
        |i| i.machine[1].subarch = Some("uefi".into()),
        "machine \"pc02\"",
        "subarch",
    )
    .await;
    rejects(
        &store,
        |i| i.machine[1].bmc = Some("nope".into()),
        "machine \"pc02\"",
        "bmc",
    )
    .await;
    rejects(
        &store,
        |i| i.machine[2].bmc_info = "0".into(),
        "machine \"c3n1\"",
        "bmc_info",
    )
    .await;
    rejects(
        &store,
        |i| i.machine[1].interface[0].static_ipv4 = Some("10.99.0.200".into()),
        "interface \"pc02/52:54:00:12:34:57\"",
        "static_ipv4",
    )
    .await;
    rejects(
        &store,
        |i| i.machine[1].interface[0].mac = "52:54:00:zz:34:57".into(),
        "interface",
        "mac",
    )
    .await;
    rejects(
        &store,
        |i| i.network[0].subnet = "10.99.0.0/33".into(),
        "network \"lab\"",
        "subnet",
    )
    .await;
    rejects(
        &store,
        |i| i.bmc[0].address = "not a host".into(),
        "bmc \"sim-rack1\"",
        "address",
    )
    .await;
    rejects(
        &store,
        |i| i.bmc[1].password_env = Some("MRP_TEST_SURELY_UNSET_VARIABLE".into()),
        "bmc \"moonshot-chassis\"",
        "password",
    )
    .await;
    rejects(
        &store,
        |i| i.user[1].email = Some("nope".into()),
        "user \"bob\"",
        "email",
    )
    .await;
    rejects(
        &store,
        |i| i.assignment[0].user = "carol".into(),
        "assignment \"pc01/carol\"",
        "user",
    )
    .await;
    rejects(
        &store,
        |i| i.arch[0].subarch[0].bootloader = Some("pxelinux.0".into()),
        "subarch \"x86_64/bios\"",
        "bootloader",
    )
    .await;
    // Two interfaces of the file with the same static address on one network.
    rejects(
        &store,
        |i| {
            i.machine[2].interface[0].static_ipv4 = Some("10.99.0.70".into());
        },
        "interface \"c3n1/14:58:d0:00:03:01\"",
        "static IPv4",
    )
    .await;
});

#[test]
fn parse_errors_say_where() {
    let err = Inventory::parse("[[machine]]\nname = \"m\"\narch = \"x86_64\"\ninterfaces = []\n")
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("line 4") && text.contains("interfaces"),
        "{text}"
    );
}
