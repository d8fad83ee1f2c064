//! `machine_list_brief` (the API listing, aggregated to JSON by the database) returns exactly
//! what `machine_list` does, for every kind of query, on both backends.

use mr_provisioner_core::model::machine::MachineBrief;
use mr_provisioner_core::query;
use mr_provisioner_core::store::MachineListQuery;
use mr_provisioner_core::store_test;

use super::fixtures::*;

store_test!(brief_listing_matches_the_full_one, |store| {
    let s = &*store;
    let arm = arch(s, "arm64").await;
    let x86 = arch(s, "x86_64").await;
    let efi = subarch(s, arm.id, "efi", None).await;
    let alice = user(s, "alice").await;
    // Names with characters JSON must escape, and every kind of value.
    let names = [
        "m1.lab_x",
        "m2 \"quoted\"",
        "m3\\back",
        "ünïcode",
        "m5/slash",
    ];
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut new = mr_provisioner_core::model::machine::NewMachine::named(
            *name,
            if i % 2 == 0 { arm.id } else { x86.id },
        );
        if i % 2 == 0 {
            new.subarch_id = Some(efi.id);
        }
        new.kernel_opts = format!("console=ttyS{i} \"quoted\"");
        let m = s.machine_create(&new).await.unwrap();
        ids.push(m.id);
    }
    assign(s, ids[0], alice.id).await;
    assign(s, ids[3], alice.id).await;
    let queries = [
        MachineListQuery::default(),
        MachineListQuery {
            assigned_to: Some(alice.id),
            ..Default::default()
        },
        MachineListQuery {
            only_free: true,
            ..Default::default()
        },
        MachineListQuery {
            limit: Some(2),
            ..Default::default()
        },
        MachineListQuery {
            filter: query::parse("(= arch \"arm64\")").unwrap(),
            ..Default::default()
        },
        MachineListQuery {
            filter: query::parse("(= name \"nothing\")").unwrap(),
            ..Default::default()
        },
    ];
    for q in queries {
        let full: Vec<MachineBrief> = s
            .machine_list(&q)
            .await
            .unwrap()
            .into_iter()
            .map(MachineBrief::from)
            .collect();
        let brief = s.machine_list_brief(&q).await.unwrap();
        assert_eq!(brief, full, "{q:?}");
    }
});
