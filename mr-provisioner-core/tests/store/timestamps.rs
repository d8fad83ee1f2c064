//! Timestamps: what the store returns on create is what it reads back, caller-supplied
//! microsecond values come back exactly, and comparisons order mixed precisions correctly.

use chrono::{DurationRound, TimeDelta, TimeZone, Utc};
use mr_provisioner_core::model::Timestamp;
use mr_provisioner_core::model::assignment::NewAssignment;
use mr_provisioner_core::model::discovered_mac::Sighting;
use mr_provisioner_core::model::event::{EventKind, NewEvent};
use mr_provisioner_core::model::image::ImageKind;
use mr_provisioner_core::model::token::NewToken;
use mr_provisioner_core::store::{Page, Visibility};
use mr_provisioner_core::store_test;

use super::fixtures::*;

/// Instants across the supported range, all with at most microsecond precision.
fn instants() -> Vec<Timestamp> {
    vec![
        t(0),
        Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(1900, 2, 28, 23, 59, 59).unwrap() + TimeDelta::microseconds(1),
        Utc.with_ymd_and_hms(2038, 1, 19, 3, 14, 8).unwrap(),
        Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap() + TimeDelta::microseconds(999_999),
        Utc.with_ymd_and_hms(2024, 2, 29, 12, 0, 0).unwrap() + TimeDelta::milliseconds(500),
    ]
}

store_test!(stored_timestamps_read_back_equal, |store| {
    let arm = arch(&*store, "arm64").await;
    let u = user(&*store, "alice").await;
    assert_eq!(store.user_get(u.id).await.unwrap().created_at, u.created_at);
    assert_eq!(u.created_at.timestamp_subsec_nanos() % 1000, 0);

    let img = image(&*store, "vmlinuz", ImageKind::Kernel, arm.id, None).await;
    assert_eq!(
        store.image_get(img.id).await.unwrap().created_at,
        img.created_at
    );
    assert_eq!(
        store.image_list(Visibility::All).await.unwrap()[0].created_at,
        img.created_at
    );
    let p = preseed(&*store, "cfg", None).await;
    assert_eq!(
        store.preseed_get(p.id).await.unwrap().created_at,
        p.created_at
    );
    let m = machine(&*store, "m1", arm.id).await;
    assert_eq!(
        store.machine_get(m.id).await.unwrap().created_at,
        m.created_at
    );
    assert_eq!(
        store.machine_list(&Default::default()).await.unwrap()[0]
            .machine
            .created_at,
        m.created_at
    );
    let tok = store
        .token_create(&NewToken {
            user_id: u.id,
            hash: "h".into(),
            hint: "h".into(),
            description: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(
        store.token_get(tok.id).await.unwrap().created_at,
        tok.created_at
    );
    let asg = assign(&*store, m.id, u.id).await;
    assert_eq!(store.assignment_get(asg.id).await.unwrap().start, asg.start);
    let ev = store
        .event_record(&NewEvent {
            date: None,
            machine_id: m.id,
            user_id: None,
            username: None,
            kind: EventKind::PhoneHome,
            info: serde_json::json!({}),
        })
        .await
        .unwrap();
    let page = Page {
        before: None,
        limit: 1,
    };
    assert_eq!(store.event_list(m.id, page).await.unwrap()[0].date, ev.date);
    let audit = store
        .audit_record(&mr_provisioner_core::model::audit::NewAuditEntry {
            actor_id: None,
            actor: "cli".into(),
            action: "x".into(),
            target_kind: "x".into(),
            target_id: None,
            detail: serde_json::json!({}),
        })
        .await
        .unwrap();
    assert_eq!(store.audit_list(page).await.unwrap()[0].at, audit.at);
    let ct = store
        .console_token_create(m.id, u.id, "c", t(0))
        .await
        .unwrap();
    let consumed = store
        .console_token_consume("c", t(-1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(consumed.created_at, ct.created_at);
});

store_test!(supplied_timestamps_round_trip_exactly, |store| {
    let arm = arch(&*store, "arm64").await;
    let u = user(&*store, "alice").await;
    let m = machine(&*store, "m1", arm.id).await;
    let tok = store
        .token_create(&NewToken {
            user_id: u.id,
            hash: "h".into(),
            hint: "h".into(),
            description: String::new(),
        })
        .await
        .unwrap();
    for (i, at) in instants().into_iter().enumerate() {
        store.token_touch(tok.id, at).await.unwrap();
        assert_eq!(
            store.token_get(tok.id).await.unwrap().last_used_at,
            Some(at)
        );

        let mac_addr = mac(&format!("52:54:00:00:00:{i:02x}"));
        let lease = store.lease_upsert(mac_addr, None, at).await.unwrap();
        assert_eq!(lease.last_seen, at);
        assert_eq!(
            store
                .lease_by_mac(mac_addr)
                .await
                .unwrap()
                .unwrap()
                .last_seen,
            at
        );

        let d = store
            .discovered_mac_upsert(mac_addr, &Sighting::default(), at)
            .await
            .unwrap();
        assert_eq!((d.first_seen, d.last_seen), (at, at));
        assert_eq!(store.discovered_mac_get(d.id).await.unwrap(), d);

        let hash = format!("console-{i}");
        let ct = store
            .console_token_create(m.id, u.id, &hash, at)
            .await
            .unwrap();
        assert_eq!(ct.expires_at, at);
        let taken = store
            .console_token_consume(&hash, at - TimeDelta::microseconds(1))
            .await
            .unwrap()
            .expect("not yet expired");
        assert_eq!(taken.expires_at, at);
    }
    // Assignment ends must lie ahead.
    let end =
        Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap() + TimeDelta::microseconds(999_999);
    let asg = store
        .assignment_create(&NewAssignment {
            machine_id: m.id,
            user_id: u.id,
            reason: String::new(),
            end: Some(end),
        })
        .await
        .unwrap();
    assert_eq!(asg.end, Some(end));
    assert_eq!(store.assignment_get(asg.id).await.unwrap().end, Some(end));
    let end2 = from_now(86_400) + TimeDelta::microseconds(7);
    store
        .assignment_update(asg.id, "x", Some(end2))
        .await
        .unwrap();
    assert_eq!(store.assignment_get(asg.id).await.unwrap().end, Some(end2));
});

store_test!(
    sub_microsecond_timestamps_are_stored_consistently,
    |store| {
        // The backends keep different precisions (SQLite text keeps nanoseconds, PostgreSQL
        // rounds to microseconds); whatever is kept, what a write returns is what reads return.
        let nanos = t(0) + TimeDelta::nanoseconds(789);
        let mac_addr = mac("52:54:00:00:00:01");
        let lease = store.lease_upsert(mac_addr, None, nanos).await.unwrap();
        assert_eq!(
            store
                .lease_by_mac(mac_addr)
                .await
                .unwrap()
                .unwrap()
                .last_seen,
            lease.last_seen
        );
        assert!((lease.last_seen - nanos).abs() < TimeDelta::microseconds(1));
        let d = store
            .discovered_mac_upsert(mac_addr, &Sighting::default(), nanos)
            .await
            .unwrap();
        assert_eq!(store.discovered_mac_get(d.id).await.unwrap(), d);
        assert!((d.last_seen - nanos).abs() < TimeDelta::microseconds(1));
    }
);

store_test!(timestamp_comparisons_order_mixed_precision, |store| {
    // Whole seconds, micro- and nanosecond fractions compare as instants, not as text.
    let arm = arch(&*store, "arm64").await;
    let u = user(&*store, "alice").await;
    let m = machine(&*store, "m1", arm.id).await;
    let w = t(0).duration_trunc(TimeDelta::seconds(1)).unwrap();
    let cases = [
        ("minus-1us", w - TimeDelta::microseconds(1), true),
        ("whole", w, true),
        ("plus-1us", w + TimeDelta::microseconds(1), false),
        ("plus-1ms", w + TimeDelta::milliseconds(1), false),
        ("plus-100ms", w + TimeDelta::milliseconds(100), false),
        ("plus-1s", w + TimeDelta::seconds(1), false),
        ("minus-1s-half", w - TimeDelta::milliseconds(1500), true),
    ];
    for (hash, at, _) in &cases {
        store
            .console_token_create(m.id, u.id, hash, *at)
            .await
            .unwrap();
    }
    let purged = cases.iter().filter(|c| c.2).count() as u64;
    assert_eq!(store.console_token_purge(w).await.unwrap(), purged);
    for (hash, at, gone) in &cases {
        let got = store
            .console_token_consume(hash, w - TimeDelta::seconds(10))
            .await
            .unwrap();
        assert_eq!(got.is_none(), *gone, "{hash} expiring {at}");
    }
    // Discovered MACs order by last sighting across precisions too.
    let order = [
        w + TimeDelta::seconds(1),
        w + TimeDelta::milliseconds(100),
        w + TimeDelta::microseconds(1),
        w,
        w - TimeDelta::microseconds(1),
    ];
    // Insert in a scrambled order.
    for i in [3usize, 0, 4, 2, 1] {
        store
            .discovered_mac_upsert(
                mac(&format!("52:54:00:00:01:{i:02x}")),
                &Sighting::default(),
                order[i],
            )
            .await
            .unwrap();
    }
    let seen: Vec<Timestamp> = store
        .discovered_mac_list()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.last_seen)
        .collect();
    assert_eq!(seen, order.to_vec());
});
