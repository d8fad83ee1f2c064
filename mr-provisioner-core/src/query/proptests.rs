//! Property tests: totality, print/parse round trips, evaluation equivalence.

use super::tests::{Machine, machine, ok};
use super::*;
use proptest::prelude::*;

/// The normalisation `parse(filter.to_string())` applies: empty `And` is `Const(true)`, empty `Or` `Const(false)`.
fn normalise(f: &Filter) -> Filter {
    match f {
        Filter::And(v) if v.is_empty() => Filter::Const(true),
        Filter::Or(v) if v.is_empty() => Filter::Const(false),
        Filter::And(v) => Filter::And(v.iter().map(normalise).collect()),
        Filter::Or(v) => Filter::Or(v.iter().map(normalise).collect()),
        other => other.clone(),
    }
}

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ab]{0,2}",
        "[\"\\\\%_;()\\[\\]' a\n\t\r\u{8}\u{c}\u{b}é😀]{0,8}",
        any::<String>(),
    ]
}

fn arb_i64() -> impl Strategy<Value = i64> {
    prop_oneof![-3i64..4, any::<i64>(), Just(i64::MIN), Just(i64::MAX)]
}

fn arb_leaf() -> impl Strategy<Value = Filter> {
    let text_field = || prop::sample::select(TextField::ALL.to_vec());
    let int_field = || prop::sample::select(IntField::ALL.to_vec());
    let op = || prop::sample::select(CmpOp::ALL.to_vec());
    let field = prop_oneof![
        text_field().prop_map(Field::Text),
        int_field().prop_map(Field::Int)
    ];
    prop_oneof![
        any::<bool>().prop_map(Filter::Const),
        (text_field(), op(), arb_string()).prop_map(|(field, op, value)| Filter::Text {
            field,
            op,
            value
        }),
        (int_field(), op(), arb_i64()).prop_map(|(field, op, value)| Filter::Int {
            field,
            op,
            value
        }),
        (text_field(), arb_string())
            .prop_map(|(field, substring)| Filter::Like { field, substring }),
        (field, any::<bool>()).prop_map(|(field, negated)| Filter::IsNull { field, negated }),
    ]
}

fn arb_filter() -> impl Strategy<Value = Filter> {
    arb_leaf().prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Filter::And),
            prop::collection::vec(inner, 0..5).prop_map(Filter::Or),
        ]
    })
}

fn arb_machine() -> impl Strategy<Value = Machine> {
    (
        prop::option::weighted(0.8, arb_string()),
        arb_string(),
        arb_string(),
        arb_i64(),
        arb_i64(),
    )
        .prop_map(|(name, arch, bmc_type, assignees, interfaces)| Machine {
            name,
            arch,
            bmc_type,
            assignees,
            interfaces,
        })
}

/// Text made of the grammar's characters and tokens.
fn arb_grammar_soup() -> impl Strategy<Value = String> {
    let tokens = vec![
        "(",
        ")",
        "[",
        "]",
        "\"",
        "'",
        ";",
        "\\",
        " ",
        "\n",
        "\t",
        "and",
        "or",
        "=",
        "!=",
        ">",
        "<=",
        "=~",
        "name",
        "arch",
        "bmc_type",
        "assignee_count",
        "interface_count",
        "nil",
        "t",
        "foo",
        "1",
        "-5",
        "1.5",
        "1e999",
        "nan",
        "99999999999999999999",
        "\"x\"",
        "\"\\",
        "é",
        "😀",
        "\0",
    ];
    prop_oneof![
        prop::collection::vec(prop::sample::select(tokens), 0..80).prop_map(|v| v.concat()),
        "[()\\[\\]\"';\\\\ \natn_=~!<>0-9.e+-]{0,300}",
    ]
}

/// `parse` never panics; whatever it accepts prints to text that parses back to the same filter.
fn check_total(input: &str) -> Result<(), TestCaseError> {
    if let Ok(Some(filter)) = parse(input) {
        let printed = filter.to_string();
        if printed.len() <= MAX_QUERY_LEN {
            prop_assert_eq!(
                parse(&printed),
                Ok(Some(filter)),
                "printed as {:?}",
                printed
            );
        }
    }
    Ok(())
}

/// Exact `i.cmp(f)` through 128-bit integers (an oracle independent of the module's own helper).
fn oracle_cmp(i: i64, f: f64) -> std::cmp::Ordering {
    if f.abs() >= 1e30 {
        return if f > 0.0 {
            std::cmp::Ordering::Less
        } else {
            std::cmp::Ordering::Greater
        };
    }
    let floor = f.floor() as i128;
    let by_floor = i128::from(i).cmp(&floor);
    if by_floor.is_eq() && f.fract() != 0.0 {
        std::cmp::Ordering::Less
    } else {
        by_floor
    }
}

fn arb_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-8i64..8, 0i64..4).prop_map(|(n, q)| n as f64 + q as f64 / 4.0),
        prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
        prop::sample::select(vec![
            9.223372036854776e18,
            -9.223372036854776e18,
            9.2e18,
            -9.3e18,
            1e19
        ]),
    ]
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(input in any::<String>()) {
        check_total(&input)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        check_total(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn grammar_soup_never_panics(input in arb_grammar_soup()) {
        check_total(&input)?;
    }

    #[test]
    fn printed_filters_parse_back(filter in arb_filter()) {
        let printed = filter.to_string();
        prop_assume!(printed.len() <= MAX_QUERY_LEN);
        prop_assert_eq!(parse(&printed), Ok(Some(normalise(&filter))), "printed as {:?}", printed);
    }

    #[test]
    fn parsed_filters_match_like_the_original(filter in arb_filter(), machines in prop::collection::vec(arb_machine(), 1..6)) {
        let printed = filter.to_string();
        prop_assume!(printed.len() <= MAX_QUERY_LEN);
        let parsed = parse(&printed).unwrap().unwrap();
        for m in &machines {
            prop_assert_eq!(parsed.matches(m), filter.matches(m), "{:?} on {:?}", printed, m);
        }
    }

    #[test]
    fn float_literals_compare_exactly(x in arb_i64(), v in arb_float(), op in prop::sample::select(CmpOp::ALL.to_vec())) {
        let m = Machine { interfaces: x, ..machine("m", "arm64", "", 0, 0) };
        let field_left = ok(&format!("({op} interface_count {v:e})"));
        prop_assert_eq!(field_left.matches(&m), op.holds(oracle_cmp(x, v)), "{:?}", field_left);
        let field_right = ok(&format!("({op} {v:e} interface_count)"));
        prop_assert_eq!(field_right.matches(&m), op.holds(oracle_cmp(x, v).reverse()), "{:?}", field_right);
        let literals = ok(&format!("({op} {x} {v:e})"));
        prop_assert_eq!(literals, Filter::Const(op.holds(oracle_cmp(x, v))));
    }

    #[test]
    fn operand_order_is_normalised(field in prop::sample::select(TextField::ALL.to_vec()), op in prop::sample::select(CmpOp::ALL.to_vec()), value in arb_string()) {
        let value = Filter::Text { field, op, value }.to_string();
        let literal = value.split_once(' ').unwrap().1.split_once(' ').unwrap().1.trim_end_matches(')');
        prop_assert_eq!(ok(&format!("({} {literal} {field})", op.flip())), ok(&value));
    }
}
