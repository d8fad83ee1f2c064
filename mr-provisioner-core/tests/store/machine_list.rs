//! `machine_list`: the query language in SQL (the spec's observed outcomes and more),
//! assignment filters, limits, and a differential property test against
//! `Filter::matches`.

use mr_provisioner_core::id::UserId;
use mr_provisioner_core::model::machine::{Machine, NewMachine};
use mr_provisioner_core::model::user::User;
use mr_provisioner_core::query::{self, CmpOp, Field, Filter, IntField, MachineFacts, TextField};
use mr_provisioner_core::store::{MachineListQuery, Store};
use mr_provisioner_core::store_test;
use mr_provisioner_ipmi::BmcKind;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::fixtures::*;

/// The spec's fixture (§3.3): m1 "m1.lab_x" plain BMC, arm64 (subarch efi), 2 interfaces,
/// 1 assignee; m2 moonshot BMC (cartridge 3), arm64; m3 no BMC, x86_64.
struct Spec {
    m1: Machine,
    m2: Machine,
    m3: Machine,
    alice: User,
    bob: User,
}

async fn spec_fixture(s: &dyn Store) -> Spec {
    let arm = arch(s, "arm64").await;
    let x86 = arch(s, "x86_64").await;
    let efi = subarch(s, arm.id, "efi", None).await;
    let plain = bmc(s, "plain", "10.0.0.1", BmcKind::Plain).await;
    let moonshot = bmc(s, "moonshot", "10.0.0.2", BmcKind::Moonshot).await;
    let alice = user(s, "alice").await;
    let bob = user(s, "bob").await;
    let m1 = s
        .machine_create(&NewMachine {
            subarch_id: Some(efi.id),
            bmc_id: Some(plain.id),
            ..NewMachine::named("m1.lab_x", arm.id)
        })
        .await
        .unwrap();
    interface(s, m1.id, "52:54:00:00:01:01").await;
    interface(s, m1.id, "52:54:00:00:01:02").await;
    assign(s, m1.id, alice.id).await;
    let m2 = s
        .machine_create(&NewMachine {
            bmc_id: Some(moonshot.id),
            bmc_info: "3".into(),
            ..NewMachine::named("m2", arm.id)
        })
        .await
        .unwrap();
    let m3 = machine(s, "m3", x86.id).await;
    Spec {
        m1,
        m2,
        m3,
        alice,
        bob,
    }
}

async fn listed(s: &dyn Store, q: &MachineListQuery) -> Vec<String> {
    s.machine_list(q)
        .await
        .unwrap_or_else(|e| panic!("{q:?}: {e:?}"))
        .into_iter()
        .map(|m| m.machine.name)
        .collect()
}

/// The names of the machines `query` selects, in id order.
async fn selected(s: &dyn Store, query: &str) -> Vec<String> {
    let filter = query::parse(query).unwrap_or_else(|e| panic!("{query:?}: {e}"));
    listed(
        s,
        &MachineListQuery {
            filter,
            ..Default::default()
        },
    )
    .await
}

async fn check_table(s: &dyn Store, table: &[(&str, &[&str])]) {
    for (query, want) in table {
        assert_eq!(selected(s, query).await, *want, "query {query:?}");
    }
}

const ALL: &[&str] = &["m1.lab_x", "m2", "m3"];
const M1: &[&str] = &["m1.lab_x"];

store_test!(query_spec_observed_outcomes, |store| {
    spec_fixture(&*store).await;
    check_table(
        &*store,
        &[
            (r#"(= name "m2")"#, &["m2"]),
            (r#"(=~ name "M")"#, &[]),
            // The original treated `_` as a wildcard (all machines); we match it literally.
            (r#"(=~ name "_")"#, M1),
            (r#"(= bmc_type "")"#, &["m3"]),
            ("(> interface_count 1)", M1),
            (r#"(and (= arch "arm64") (= assignee_count 0))"#, &["m2"]),
            ("(= name nil)", &[]),
            ("(!= name nil)", ALL),
            ("", ALL),
            (r#"(= "1" "1")"#, ALL),
        ],
    )
    .await;
});

store_test!(query_text_fields, |store| {
    spec_fixture(&*store).await;
    check_table(
        &*store,
        &[
            (r#"(= "m2" name)"#, &["m2"]),
            (r#"(!= name "m2")"#, &["m1.lab_x", "m3"]),
            (r#"(= name "M2")"#, &[]),
            // Substrings: case-sensitive, no wildcards.
            (r#"(=~ name "m")"#, ALL),
            (r#"(=~ name "lab")"#, M1),
            (r#"(=~ name ".")"#, M1),
            (r#"(=~ name "%")"#, &[]),
            (r#"(=~ name "m_")"#, &[]),
            (r#"(=~ name "")"#, ALL),
            (r#"(=~ name "LAB")"#, &[]),
            (r#"(=~ arch "86")"#, &["m3"]),
            (r#"(=~ arch "ARM")"#, &[]),
            (r#"(=~ bmc_type "moon")"#, &["m2"]),
            (r#"(=~ bmc_type "")"#, ALL),
            // Byte order.
            (r#"(> name "m2")"#, &["m3"]),
            (r#"(>= name "m2")"#, &["m2", "m3"]),
            (r#"(< name "m2")"#, M1),
            (r#"(<= name "m1.lab_x")"#, M1),
            (r#"(< "m2" name)"#, &["m3"]),
            (r#"(> name "M")"#, ALL),
            (r#"(< name "M")"#, &[]),
            (r#"(> arch "arm64")"#, &["m3"]),
            // BMC type, empty without a BMC.
            (r#"(= bmc_type "plain")"#, M1),
            (r#"(= bmc_type "moonshot")"#, &["m2"]),
            (r#"(!= bmc_type "")"#, &["m1.lab_x", "m2"]),
            (r#"(> bmc_type "")"#, &["m1.lab_x", "m2"]),
            (r#"(< bmc_type "n")"#, &["m2", "m3"]),
            ("(= bmc_type nil)", &[]),
            ("(!= bmc_type nil)", ALL),
            ("(= arch nil)", &[]),
            (r#"(= arch "ARM64")"#, &[]),
        ],
    )
    .await;
});

store_test!(query_counts_and_logic, |store| {
    spec_fixture(&*store).await;
    check_table(
        &*store,
        &[
            ("(= interface_count 2)", M1),
            ("(= interface_count 0)", &["m2", "m3"]),
            ("(< interface_count 1)", &["m2", "m3"]),
            ("(>= interface_count 3)", &[]),
            ("(!= interface_count 2)", &["m2", "m3"]),
            ("(> interface_count 1.5)", M1),
            ("(= interface_count 2.0)", M1),
            ("(= interface_count 1.5)", &[]),
            ("(< 0 interface_count)", M1),
            ("(= assignee_count 1)", M1),
            ("(> assignee_count 0)", M1),
            ("(<= assignee_count 0)", &["m2", "m3"]),
            ("(!= assignee_count 1)", &["m2", "m3"]),
            ("(> assignee_count -9223372036854775808)", ALL),
            ("(< assignee_count 9223372036854775807)", ALL),
            ("(= assignee_count nil)", &[]),
            ("(!= interface_count nil)", ALL),
            ("t", ALL),
            ("(and)", ALL),
            ("(or)", ALL),
            ("(= 0 1)", &[]),
            (r#"(or (= name "m2") (= arch "x86_64"))"#, &["m2", "m3"]),
            (
                r#"(and (= arch "arm64") (or (= bmc_type "moonshot") (> interface_count 1)))"#,
                &["m1.lab_x", "m2"],
            ),
            (r#"(or (and) (= name "nope"))"#, ALL),
            (r#"(or t (= name "nope"))"#, ALL),
            (r#"(and (or) (= name "m3"))"#, &["m3"]),
            (r#"(or (= 0 1) (= name "m3"))"#, &["m3"]),
            (r#"(and (= 0 1) (= name "m3"))"#, &[]),
            (r#"(and (= name "m2") (= name "m3"))"#, &[]),
            (
                r#"(or (and (= arch "arm64") (= assignee_count 1)) (and (= arch "x86_64") (= interface_count 0)))"#,
                &["m1.lab_x", "m3"],
            ),
        ],
    )
    .await;
});

store_test!(query_text_order_is_bytewise, |store| {
    let arm = arch(&*store, "arm64").await;
    // Created out of order; listed by id.
    for name in ["beta", "_x", "ébène", "Zed", "alpha", "a%b"] {
        machine(&*store, name, arm.id).await;
    }
    check_table(
        &*store,
        &[
            (
                r#"(> name "Zed")"#,
                &["beta", "_x", "ébène", "alpha", "a%b"],
            ),
            (r#"(< name "a")"#, &["_x", "Zed"]),
            (r#"(< name "alpha")"#, &["_x", "Zed", "a%b"]),
            (r#"(> name "b")"#, &["beta", "ébène"]),
            (r#"(>= name "ébène")"#, &["ébène"]),
            (r#"(> name "z")"#, &["ébène"]),
            (r#"(=~ name "%")"#, &["a%b"]),
            (r#"(=~ name "_")"#, &["_x"]),
            (r#"(=~ name "A")"#, &[]),
            (r#"(=~ name "è")"#, &["ébène"]),
            (r#"(=~ name "É")"#, &[]),
            (r#"(= name "ÉBÈNE")"#, &[]),
        ],
    )
    .await;
});

store_test!(list_summaries_and_assignment_filters, |store| {
    let f = spec_fixture(&*store).await;
    let all = store
        .machine_list(&MachineListQuery::default())
        .await
        .unwrap();
    let got: Vec<(&Machine, &str, Option<&str>)> = all
        .iter()
        .map(|s| (&s.machine, s.arch.as_str(), s.subarch.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (&f.m1, "arm64", Some("efi")),
            (&f.m2, "arm64", None),
            (&f.m3, "x86_64", None),
        ]
    );

    let q = |assigned_to: Option<UserId>, only_free: bool, filter: &str, limit: Option<u64>| {
        MachineListQuery {
            assigned_to,
            only_free,
            filter: query::parse(filter).unwrap(),
            limit,
        }
    };
    let s = &*store;
    let (alice, bob) = (Some(f.alice.id), Some(f.bob.id));
    assert_eq!(listed(s, &q(alice, false, "", None)).await, M1);
    assert!(listed(s, &q(bob, false, "", None)).await.is_empty());
    assert!(
        listed(s, &q(Some(UserId(9999)), false, "", None))
            .await
            .is_empty()
    );
    assert_eq!(listed(s, &q(None, true, "", None)).await, ["m2", "m3"]);
    assert_eq!(
        listed(s, &q(None, false, "", Some(2))).await,
        ["m1.lab_x", "m2"]
    );
    assert_eq!(listed(s, &q(None, false, "", Some(10))).await, ALL);
    assert!(listed(s, &q(None, false, "", Some(0))).await.is_empty());

    assign(s, f.m2.id, f.bob.id).await;
    assign(s, f.m1.id, f.bob.id).await;
    assert_eq!(
        listed(s, &q(bob, false, "", None)).await,
        ["m1.lab_x", "m2"]
    );
    assert_eq!(listed(s, &q(alice, false, "", None)).await, M1);
    assert_eq!(listed(s, &q(None, true, "", None)).await, ["m3"]);
    assert!(listed(s, &q(alice, true, "", None)).await.is_empty());
    assert!(
        listed(s, &q(alice, false, r#"(= arch "x86_64")"#, None))
            .await
            .is_empty()
    );
    assert_eq!(
        listed(s, &q(bob, false, r#"(=~ name "2")"#, None)).await,
        ["m2"]
    );
    assert_eq!(
        listed(s, &q(bob, false, "(= assignee_count 2)", None)).await,
        M1
    );
    assert_eq!(listed(s, &q(bob, false, "", Some(1))).await, M1);
    assert!(
        listed(s, &q(None, true, r#"(= arch "arm64")"#, None))
            .await
            .is_empty()
    );
    assert_eq!(listed(s, &q(None, true, "(= 1 1)", Some(1))).await, ["m3"]);
    assert_eq!(
        listed(s, &q(None, false, r#"(=~ name "m")"#, Some(2))).await,
        ["m1.lab_x", "m2"]
    );
    // A reservation's query: the first free machine matching.
    assert_eq!(
        listed(
            s,
            &q(
                None,
                true,
                r#"(or (= arch "x86_64") (= bmc_type "plain"))"#,
                Some(1)
            )
        )
        .await,
        ["m3"]
    );
    // A hand-built empty `Or` selects nothing; an empty `And` everything.
    let by_filter = |filter| MachineListQuery {
        filter: Some(filter),
        ..Default::default()
    };
    assert!(listed(s, &by_filter(Filter::Or(vec![]))).await.is_empty());
    assert_eq!(listed(s, &by_filter(Filter::And(vec![]))).await, ALL);
    assert_eq!(
        listed(s, &by_filter(Filter::Or(vec![Filter::And(vec![])]))).await,
        ALL
    );
    assert!(
        listed(s, &by_filter(Filter::And(vec![Filter::Or(vec![])])))
            .await
            .is_empty()
    );
});

// ---------------------------------------------------------------------------------------
// Differential property test

/// What the query language sees of one fixture machine.
#[derive(Debug, Clone)]
struct Facts {
    name: &'static str,
    arch: &'static str,
    bmc: Option<BmcKind>,
    interfaces: i64,
    assignees: &'static [&'static str],
}

impl MachineFacts for Facts {
    fn text(&self, f: TextField) -> Option<&str> {
        Some(match f {
            TextField::Name => self.name,
            TextField::Arch => self.arch,
            TextField::BmcType => self.bmc.map_or("", |k| k.as_str()),
        })
    }
    fn int(&self, f: IntField) -> i64 {
        match f {
            IntField::AssigneeCount => self.assignees.len() as i64,
            IntField::InterfaceCount => self.interfaces,
        }
    }
}

fn facts() -> Vec<Facts> {
    let f = |name, arch, bmc, interfaces, assignees| Facts {
        name,
        arch,
        bmc,
        interfaces,
        assignees,
    };
    vec![
        f("m1.lab_x", "arm64", Some(BmcKind::Plain), 2, &["alice"]),
        f("m2", "arm64", Some(BmcKind::Moonshot), 0, &[]),
        f("m3", "x86_64", None, 0, &[]),
        f(
            "M4_%",
            "arm64",
            Some(BmcKind::Redfish),
            1,
            &["alice", "bob"],
        ),
        f("zz é😀", "x86_64", Some(BmcKind::Sim), 3, &[]),
        f("a\\b\"q", "riscv64", None, 0, &["bob"]),
        f("_x", "arm64", Some(BmcKind::Plain), 1, &[]),
    ]
}

/// Creates the machines of [`facts`]; returns the users by name.
async fn build(s: &dyn Store, facts: &[Facts]) -> Vec<(&'static str, UserId)> {
    let users = vec![
        ("alice", user(s, "alice").await.id),
        ("bob", user(s, "bob").await.id),
    ];
    let mut mac_n = 0u32;
    for (i, f) in facts.iter().enumerate() {
        let arch_id = match s.arch_by_name(f.arch).await.unwrap() {
            Some(a) => a.id,
            None => arch(s, f.arch).await.id,
        };
        let bmc_id = match f.bmc {
            Some(kind) => Some(
                bmc(s, &format!("bmc-{i}"), &format!("10.0.1.{i}"), kind)
                    .await
                    .id,
            ),
            None => None,
        };
        let m = s
            .machine_create(&NewMachine {
                bmc_id,
                bmc_info: if f.bmc == Some(BmcKind::Moonshot) {
                    "3".into()
                } else {
                    String::new()
                },
                ..NewMachine::named(f.name, arch_id)
            })
            .await
            .unwrap();
        for _ in 0..f.interfaces {
            mac_n += 1;
            interface(
                s,
                m.id,
                &format!("52:54:00:00:{:02x}:{:02x}", mac_n / 256, mac_n % 256),
            )
            .await;
        }
        for who in f.assignees {
            let uid = users.iter().find(|(n, _)| n == who).unwrap().1;
            assign(s, m.id, uid).await;
        }
    }
    users
}

/// The fixture's values, some near misses, and characters that are special somewhere.
fn known_text() -> Vec<&'static str> {
    let mut known: Vec<&str> = facts().iter().flat_map(|f| [f.name, f.arch]).collect();
    known.extend(BmcKind::ALL.map(|k| k.as_str()));
    known.extend([
        "", "m", "M", "m1", "m4", "_", "%", ".", "é", "😀", "\\", "\"", "lab", "86", "z", "Z",
        "zz", "a", "arm", "moon", "m2 ", "M4_", "_%", "lab_x", "x86", "riscv", "zz é",
    ]);
    known.sort_unstable();
    known.dedup();
    known
}

fn arb_text() -> impl Strategy<Value = String> {
    // Mostly values the fixture has (so that comparisons hit equality and substrings
    // match), plus some near misses and random text.
    prop_oneof![
        3 => prop::sample::select(known_text()).prop_map(String::from),
        1 => "[a-zA-Z0-9_%.é😀\\\\\" -]{0,4}",
    ]
}

fn arb_leaf() -> impl Strategy<Value = Filter> {
    let text_field = || prop::sample::select(TextField::ALL.to_vec());
    let int_field = || prop::sample::select(IntField::ALL.to_vec());
    let op = || prop::sample::select(CmpOp::ALL.to_vec());
    let int = prop_oneof![-1i64..5, Just(i64::MIN), Just(i64::MAX)];
    let field = prop_oneof![
        text_field().prop_map(Field::Text),
        int_field().prop_map(Field::Int)
    ];
    prop_oneof![
        1 => any::<bool>().prop_map(Filter::Const),
        4 => (text_field(), op(), arb_text())
            .prop_map(|(field, op, value)| Filter::Text { field, op, value }),
        3 => (int_field(), op(), int).prop_map(|(field, op, value)| Filter::Int { field, op, value }),
        3 => (text_field(), arb_text()).prop_map(|(field, substring)| Filter::Like { field, substring }),
        1 => (field, any::<bool>()).prop_map(|(field, negated)| Filter::IsNull { field, negated }),
    ]
}

fn arb_filter() -> impl Strategy<Value = Filter> {
    arb_leaf().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::And),
            prop::collection::vec(inner, 0..4).prop_map(Filter::Or),
        ]
    })
}

/// A listing request: filter, assignee (index into the users, or none), only free, limit.
fn arb_request() -> impl Strategy<Value = (Filter, Option<usize>, bool, Option<u64>)> {
    (
        arb_filter(),
        prop::option::weighted(0.2, 0usize..2),
        prop::bool::weighted(0.2),
        prop::option::weighted(0.2, 0u64..4),
    )
}

store_test!(query_sql_agrees_with_in_memory_evaluation, |store| {
    let facts = facts();
    let users = build(&*store, &facts).await;
    let mut runner = TestRunner::new(Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    });
    let handle = tokio::runtime::Handle::current();
    let result = tokio::task::block_in_place(|| {
        runner.run(&arb_request(), |(filter, assignee, only_free, limit)| {
            let assignee = assignee.map(|i| users[i]);
            let want: Vec<(String, String)> = facts
                .iter()
                .filter(|f| filter.matches(*f))
                .filter(|f| assignee.is_none_or(|(who, _)| f.assignees.contains(&who)))
                .filter(|f| !only_free || f.assignees.is_empty())
                .take(limit.map_or(usize::MAX, |l| l as usize))
                .map(|f| (f.name.to_string(), f.arch.to_string()))
                .collect();
            let request = MachineListQuery {
                assigned_to: assignee.map(|(_, id)| id),
                only_free,
                filter: Some(filter.clone()),
                limit,
            };
            let got: Vec<(String, String)> = handle
                .block_on(store.machine_list(&request))
                .map_err(|e| TestCaseError::fail(format!("{filter}: {e:?}")))?
                .into_iter()
                .map(|s| (s.machine.name, s.arch))
                .collect();
            prop_assert_eq!(&got, &want, "query {} / {:?}", filter, request);
            // The printed query means the same.
            let reparsed = query::parse(&filter.to_string()).unwrap().unwrap();
            let again: Vec<(String, String)> = handle
                .block_on(store.machine_list(&MachineListQuery {
                    filter: Some(reparsed),
                    ..request.clone()
                }))
                .map_err(|e| TestCaseError::fail(format!("{filter}: {e:?}")))?
                .into_iter()
                .map(|s| (s.machine.name, s.arch))
                .collect();
            prop_assert_eq!(&again, &want, "reparsed {}", filter);
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
});

store_test!(every_leaf_agrees_with_in_memory_evaluation, |store| {
    // Each comparison, substring and NULL test on its own, over every known value: the
    // boundaries (equal values, prefixes, empty strings, extreme integers) deterministically.
    let facts = facts();
    build(&*store, &facts).await;
    let mut leaves = Vec::new();
    for field in TextField::ALL {
        for value in known_text() {
            for op in CmpOp::ALL {
                leaves.push(Filter::Text {
                    field,
                    op,
                    value: value.to_string(),
                });
            }
            leaves.push(Filter::Like {
                field,
                substring: value.to_string(),
            });
        }
    }
    for field in IntField::ALL {
        for value in [i64::MIN, -1, 0, 1, 2, 3, 4, i64::MAX] {
            for op in CmpOp::ALL {
                leaves.push(Filter::Int { field, op, value });
            }
        }
    }
    for field in TextField::ALL
        .map(Field::Text)
        .into_iter()
        .chain(IntField::ALL.map(Field::Int))
    {
        for negated in [false, true] {
            leaves.push(Filter::IsNull { field, negated });
        }
    }
    let mut mismatches = Vec::new();
    for leaf in &leaves {
        let want: Vec<&str> = facts
            .iter()
            .filter(|f| leaf.matches(*f))
            .map(|f| f.name)
            .collect();
        let got = listed(
            &*store,
            &MachineListQuery {
                filter: Some(leaf.clone()),
                ..Default::default()
            },
        )
        .await;
        if got != want {
            mismatches.push(format!("{leaf}: SQL {got:?}, in memory {want:?}"));
        }
    }
    assert!(leaves.len() > 900, "{}", leaves.len());
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
});
