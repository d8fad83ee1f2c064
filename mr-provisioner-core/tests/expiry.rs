//! Reservations that end: the release of ended assignments, with events and the optional
//! power-off, on both backends.

use std::sync::Arc;

use mr_provisioner_core::files::ImageFiles;
use mr_provisioner_core::model::arch::NewArch;
use mr_provisioner_core::model::assignment::NewAssignment;
use mr_provisioner_core::model::bmc::NewBmc;
use mr_provisioner_core::model::event::EventKind;
use mr_provisioner_core::model::machine::NewMachine;
use mr_provisioner_core::model::user::NewUser;
use mr_provisioner_core::model::{Timestamp, now};
use mr_provisioner_core::service::{DefaultConnector, Provisioner, Settings};
use mr_provisioner_core::store::{Page, Store};
use mr_provisioner_core::store_test;
use mr_provisioner_ipmi::{BmcKind, PowerState, Privilege};

struct Lab {
    p: Provisioner,
    bmcs: Arc<DefaultConnector>,
}

fn lab(store: Arc<dyn Store>, power_off: bool) -> Lab {
    let bmcs = Arc::new(DefaultConnector::new());
    let p = Provisioner::new(
        store,
        bmcs.clone(),
        ImageFiles::new(std::env::temp_dir()),
        Settings {
            power_off_on_expiry: power_off,
            ..Settings::default()
        },
    );
    Lab { p, bmcs }
}

async fn machine_with_sim(
    store: &dyn Store,
    name: &str,
) -> (mr_provisioner_core::id::MachineId, String) {
    let arch = match store.arch_by_name("arm64").await.unwrap() {
        Some(a) => a,
        None => store
            .arch_create(&NewArch {
                name: "arm64".into(),
                description: None,
            })
            .await
            .unwrap(),
    };
    let bmc = store
        .bmc_create(&NewBmc {
            name: format!("bmc-{name}"),
            address: "127.0.0.1".into(),
            port: Some(9000 + name.bytes().map(u16::from).sum::<u16>()),
            username: String::new(),
            password: String::new().into(),
            kind: BmcKind::Sim,
            privilege: Privilege::Administrator,
            cipher_suite: None,
            retries: None,
            timeout_ms: None,
        })
        .await
        .unwrap();
    let mut new = NewMachine::named(name, arch.id);
    new.bmc_id = Some(bmc.id);
    (
        store.machine_create(&new).await.unwrap().id,
        bmc.id.to_string(),
    )
}

store_test!(ended_reservations_are_released_and_powered_off, |store| {
    let lab = lab(store.clone(), true);
    let s = store.as_ref();
    let alice = s
        .user_create(&NewUser {
            username: "alice".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let (ended, ended_bmc) = machine_with_sim(s, "ended").await;
    let (running, running_bmc) = machine_with_sim(s, "running").await;
    let (forever, _) = machine_with_sim(s, "forever").await;
    for (m, end) in [(ended, None::<Timestamp>), (running, None), (forever, None)] {
        s.assignment_create(&NewAssignment {
            machine_id: m,
            user_id: alice.id,
            reason: "r".into(),
            end,
        })
        .await
        .unwrap();
    }
    // Give `ended` an end in the past (the store refuses to create one that has passed) and
    // `running` one in the future.
    let a = s.assignment_find(ended, alice.id).await.unwrap().unwrap();
    s.assignment_update(
        a.id,
        "r",
        Some(now() + chrono::TimeDelta::milliseconds(200)),
    )
    .await
    .unwrap();
    let b = s.assignment_find(running, alice.id).await.unwrap().unwrap();
    s.assignment_update(b.id, "r", Some(now() + chrono::TimeDelta::hours(1)))
        .await
        .unwrap();
    for bmc in [&ended_bmc, &running_bmc] {
        lab.bmcs
            .sims()
            .get_or_create(bmc)
            .set_power_state(PowerState::On);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    assert_eq!(lab.p.release_expired(now()).await.unwrap(), 1);
    assert!(s.assignment_find(ended, alice.id).await.unwrap().is_none());
    assert!(
        s.assignment_find(running, alice.id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        s.assignment_find(forever, alice.id)
            .await
            .unwrap()
            .is_some()
    );
    // The ended machine was powered off; the other one was not touched.
    assert_eq!(
        lab.bmcs.sims().get_or_create(&ended_bmc).power_state(),
        PowerState::Off
    );
    assert_eq!(
        lab.bmcs.sims().get_or_create(&running_bmc).power_state(),
        PowerState::On
    );
    let events = s
        .event_list(
            ended,
            Page {
                before: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EventKind::Unassigned), "{kinds:?}");
    assert!(kinds.contains(&EventKind::PowerChange), "{kinds:?}");
    let unassigned = events
        .iter()
        .find(|e| e.kind == EventKind::Unassigned)
        .unwrap();
    assert_eq!(unassigned.info["reason"], "expired");
    assert_eq!(unassigned.user_id, None);
    // Running it again finds nothing more.
    assert_eq!(lab.p.release_expired(now()).await.unwrap(), 0);
    // Later, the second one ends too.
    assert_eq!(
        lab.p
            .release_expired(now() + chrono::TimeDelta::hours(2))
            .await
            .unwrap(),
        1
    );
});

store_test!(without_power_off_the_machine_stays_on, |store| {
    let lab = lab(store.clone(), false);
    let s = store.as_ref();
    let bob = s
        .user_create(&NewUser {
            username: "bob".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let (m, bmc) = machine_with_sim(s, "m1").await;
    let a = s
        .assignment_create(&NewAssignment {
            machine_id: m,
            user_id: bob.id,
            reason: String::new(),
            end: None,
        })
        .await
        .unwrap();
    s.assignment_update(a.id, "", Some(now() + chrono::TimeDelta::milliseconds(100)))
        .await
        .unwrap();
    lab.bmcs
        .sims()
        .get_or_create(&bmc)
        .set_power_state(PowerState::On);
    assert_eq!(
        lab.p
            .release_expired(now() + chrono::TimeDelta::seconds(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        lab.bmcs.sims().get_or_create(&bmc).power_state(),
        PowerState::On
    );
    assert!(s.assignment_list_for_machine(m).await.unwrap().is_empty());
});
