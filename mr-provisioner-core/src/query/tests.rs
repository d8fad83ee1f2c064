//! Table tests: the spec's observed outcomes, lexer edge cases, semantics.

use super::*;

#[derive(Debug, Clone)]
pub(super) struct Machine {
    pub(super) name: Option<String>,
    pub(super) arch: String,
    pub(super) bmc_type: String,
    pub(super) assignees: i64,
    pub(super) interfaces: i64,
}

impl MachineFacts for Machine {
    fn text(&self, f: TextField) -> Option<&str> {
        match f {
            TextField::Name => self.name.as_deref(),
            TextField::Arch => Some(&self.arch),
            TextField::BmcType => Some(&self.bmc_type),
        }
    }
    fn int(&self, f: IntField) -> i64 {
        match f {
            IntField::AssigneeCount => self.assignees,
            IntField::InterfaceCount => self.interfaces,
        }
    }
}

pub(super) fn machine(
    name: &str,
    arch: &str,
    bmc_type: &str,
    assignees: i64,
    interfaces: i64,
) -> Machine {
    Machine {
        name: Some(name.to_owned()),
        arch: arch.to_owned(),
        bmc_type: bmc_type.to_owned(),
        assignees,
        interfaces,
    }
}

/// The spec's fixture: m1 "m1.lab_x" plain BMC, arm64, 2 interfaces, 1 assignee; m2 moonshot, arm64; m3 no BMC,
/// x86_64.
fn fixture() -> Vec<Machine> {
    vec![
        machine("m1.lab_x", "arm64", "plain", 1, 2),
        machine("m2", "arm64", "moonshot", 0, 0),
        machine("m3", "x86_64", "", 0, 0),
    ]
}

/// The names of the fixture machines a query selects.
fn selected(query: &str) -> Vec<String> {
    let filter = parse(query).unwrap_or_else(|e| panic!("{query:?} failed: {e}"));
    fixture()
        .into_iter()
        .filter(|m| filter.as_ref().is_none_or(|f| f.matches(m)))
        .filter_map(|m| m.name)
        .collect()
}

pub(super) fn ok(query: &str) -> Filter {
    match parse(query) {
        Ok(Some(f)) => f,
        other => panic!("{query:?} gave {other:?}"),
    }
}

fn err(query: &str) -> QueryError {
    match parse(query) {
        Err(e) => e,
        Ok(f) => panic!("{query:?} unexpectedly parsed to {f:?}"),
    }
}

fn text(field: TextField, op: CmpOp, value: &str) -> Filter {
    Filter::Text {
        field,
        op,
        value: value.to_owned(),
    }
}

fn int(field: IntField, op: CmpOp, value: i64) -> Filter {
    Filter::Int { field, op, value }
}

fn like(field: TextField, substring: &str) -> Filter {
    Filter::Like {
        field,
        substring: substring.to_owned(),
    }
}

/// Checks a table of (query, expected filter) rows.
fn check_ok(rows: &[(&str, Filter)]) {
    for (query, expected) in rows {
        assert_eq!(&ok(query), expected, "query {query:?}");
    }
}

/// Checks a table of (query, substring of the error message) rows.
fn check_err(rows: &[(&str, &str)]) {
    for (query, message) in rows {
        let e = err(query).to_string();
        assert!(
            e.contains(message),
            "query {query:?}: {e:?} does not contain {message:?}"
        );
    }
}

use CmpOp::*;
use IntField::*;
use TextField::*;

#[test]
fn observed_outcomes_that_succeed() {
    let all = ["m1.lab_x", "m2", "m3"];
    let rows: &[(&str, Option<Filter>, &[&str])] = &[
        (r#"(= name "m2")"#, Some(text(Name, Eq, "m2")), &["m2"]),
        (r#"(=~ name "M")"#, Some(like(Name, "M")), &[]),
        // The original treated `_` as a wildcard and returned all; here it is a literal underscore.
        (r#"(=~ name "_")"#, Some(like(Name, "_")), &["m1.lab_x"]),
        (r#"(= bmc_type "")"#, Some(text(BmcType, Eq, "")), &["m3"]),
        (
            "(> interface_count 1)",
            Some(int(InterfaceCount, Gt, 1)),
            &["m1.lab_x"],
        ),
        (
            r#"(and (= arch "arm64") (= assignee_count 0))"#,
            Some(Filter::And(vec![
                text(Arch, Eq, "arm64"),
                int(AssigneeCount, Eq, 0),
            ])),
            &["m2"],
        ),
        (
            "(= name nil)",
            Some(Filter::IsNull {
                field: Field::Text(Name),
                negated: false,
            }),
            &[],
        ),
        (
            "(!= name nil)",
            Some(Filter::IsNull {
                field: Field::Text(Name),
                negated: true,
            }),
            &all,
        ),
        ("", None, &all),
        (r#"(= "1" "1")"#, Some(Filter::Const(true)), &all),
        ("(and)", Some(Filter::Const(true)), &all),
        ("(or)", Some(Filter::Const(true)), &all),
        // Fixed bug B3: the original spliced the string into SQL.
    ];
    for (query, filter, names) in rows {
        assert_eq!(&parse(query).unwrap(), filter, "query {query:?}");
        assert_eq!(selected(query), names.to_vec(), "query {query:?}");
    }
}

#[test]
fn observed_outcomes_that_fail() {
    check_err(&[
        ("   ", "failed to parse query"),
        ("\n ; only a comment\n", "failed to parse query"),
        (r#"(= name "x") (= name "y")"#, "failed to parse query"),
        ("()", "empty expression `()` at offset 0"),
        (
            r#"("=" name "x")"#,
            "expected an operation name, found a string (at offset 1)",
        ),
        (r#"(foo name "x")"#, "`foo` is not a valid operation"),
        (r#"(= foo "x")"#, "unknown field `foo` at offset 3"),
        (r#"(= state "x")"#, "unknown field `state`"),
        (
            "(= name 5)",
            "`name` can only be compared with a string, not a number (at offset 8)",
        ),
        (
            "(= name t)",
            "`name` can only be compared with a string, not the boolean `t`",
        ),
        ("name", "expected a condition, found the text field `name`"),
        (
            "(= name 'm2)",
            "brackets/quote are not supported in queries",
        ),
        (
            "(= name [1])",
            "brackets/quote are not supported in queries",
        ),
        (
            r#"(= name "x""#,
            "unbalanced parenthesis: `(` at offset 0 is never closed",
        ),
        (
            r#"(= name "x"))"#,
            "unbalanced parenthesis: unexpected `)` at offset 12",
        ),
        (
            r#"(= name "unterminated)"#,
            "unterminated string starting at offset 8",
        ),
        ("(= name)", "`=` takes exactly 2 arguments, got 1"),
        (
            r#"(= name "a" "b")"#,
            "`=` takes exactly 2 arguments, got 3",
        ),
        (
            "(=~ name 5)",
            "`=~` needs a string as its second argument, found a number",
        ),
        ("5", "expected a condition, found a number"),
        (r#""1=1""#, "expected a condition, found a string"),
        (
            r#"(and "1=1")"#,
            "expected a condition, found a string (at offset 5)",
        ),
        (
            r#"(or "true" (= name "m2"))"#,
            "expected a condition, found a string",
        ),
    ]);
}

#[test]
fn string_escapes_and_unicode() {
    check_ok(&[
        (r#"(= name "a\\b\"c")"#, text(Name, Eq, "a\\b\"c")),
        (
            r#"(= name "\b\f\n\r\t")"#,
            text(Name, Eq, "\u{8}\u{c}\n\r\t"),
        ),
        (r#"(= name "\q\é\0")"#, text(Name, Eq, "\\q\\é\\0")),
        ("(= name \"two\nlines\")", text(Name, Eq, "two\nlines")),
        (r#"(= name "ünï😀 ∂")"#, text(Name, Eq, "ünï😀 ∂")),
        (
            r#"(= name "a;b (c) [d] 'e")"#,
            text(Name, Eq, "a;b (c) [d] 'e"),
        ),
        (r#"(=~ name "100%_\\")"#, like(Name, "100%_\\")),
        (r#"(= name"x")"#, text(Name, Eq, "x")),
        ("(= name \"\")", text(Name, Eq, "")),
    ]);
    check_err(&[
        (r#""abc"#, "unterminated string starting at offset 0"),
        (
            r#"(= name "abc\")"#,
            "unterminated string starting at offset 8",
        ),
        (
            "(= name \"abc\\",
            "unterminated string starting at offset 8",
        ),
        (r#"(= name "😀") )"#, "unexpected `)` at offset 16"),
    ]);
}

#[test]
fn comments_whitespace_and_atoms() {
    check_ok(&[
        ("; leading\n(= name \"x\") ; trailing", text(Name, Eq, "x")),
        ("(= ; inside\n name \"x\")", text(Name, Eq, "x")),
        ("(= name \"x\");no space, no newline", text(Name, Eq, "x")),
        ("\t\r\n\u{b}\u{c} (= name \"x\")\u{c}", text(Name, Eq, "x")),
        ("(and ;c\n)", Filter::Const(true)),
        ("t", Filter::Const(true)),
        (
            "(and t (= name \"x\"))",
            Filter::And(vec![Filter::Const(true), text(Name, Eq, "x")]),
        ),
    ]);
    check_err(&[
        // `;` inside an atom does not start a comment.
        ("(= name;x \"a\")", "unknown field `name;x`"),
        ("(and;c\n)", "`and;c` is not a valid operation"),
        (
            "(= name \"x\")\n;c\n(= name \"y\")",
            "unexpected second expression at offset 16",
        ),
        (
            r#"(= name "x")(= name "y")"#,
            "unexpected second expression at offset 12",
        ),
        // A backslash takes the next character into the atom, and stays in it.
        (r#"(= a\(b "x")"#, r"unknown field `a\(b`"),
        (r#"(= n\ame "x")"#, r"unknown field `n\ame`"),
        // Non-ASCII whitespace is part of an atom.
        ("(= name\u{a0}\"x\")", "unknown field `name\u{a0}`"),
        ("T", "expected a condition, found the symbol `T`"),
        ("nil", "expected a condition, found `nil`"),
        ("(and nil)", "found `nil`"),
        (
            "(and interface_count)",
            "found the integer field `interface_count`",
        ),
    ]);
}

#[test]
fn brackets_parens_and_quotes() {
    check_err(&[
        (")", "unbalanced parenthesis: unexpected `)` at offset 0"),
        ("]", "unbalanced parenthesis: unexpected `]` at offset 0"),
        (
            "(and (= name \"x\")",
            "unbalanced parenthesis: `(` at offset 0 is never closed",
        ),
        ("(and (= name \"x\"", "`(` at offset 5 is never closed"),
        (
            "(= name \"x\"]",
            "mismatched parenthesis: expected `)`, found `]` at offset 11",
        ),
        ("[1 2)", "expected `]`, found `)` at offset 4"),
        ("[1 2", "`[` at offset 0 is never closed"),
        (
            "[]",
            "brackets/quote are not supported in queries (at offset 0)",
        ),
        (
            "'(= name \"x\")",
            "brackets/quote are not supported in queries",
        ),
        (
            "([and] t)",
            "brackets/quote are not supported in queries (at offset 1)",
        ),
        (
            "(and '(= name \"x\"))",
            "brackets/quote are not supported in queries (at offset 5)",
        ),
        (
            "(=~ name 'x)",
            "brackets/quote are not supported in queries",
        ),
        ("'", "quote at offset 0 is not followed by an expression"),
        ("(')", "quote at offset 1 is not followed by an expression"),
        (
            "' ; c\n",
            "quote at offset 0 is not followed by an expression",
        ),
        (
            "((= name \"x\"))",
            "expected an operation name, found a list (at offset 1)",
        ),
        ("(5 name)", "expected an operation name, found a number"),
        ("(name)", "`name` is not a valid operation"),
        (
            "(not (= name \"x\"))",
            "`not` is not a valid operation (at offset 1)",
        ),
    ]);
}

#[test]
fn depth_and_length_limits() {
    let nested = |n: usize| format!("{}t{}", "(and ".repeat(n), ")".repeat(n));
    assert_eq!(ok(&nested(MAX_DEPTH)), ok(&nested(MAX_DEPTH)));
    assert!(matches!(
        parse(&nested(MAX_DEPTH + 1)),
        Err(QueryError::TooDeep { offset: 320 })
    ));
    // Deep input fails cleanly, without exhausting the stack.
    for open in ["(", "[", "'", "'(", "(["] {
        let deep = open.repeat(MAX_QUERY_LEN / open.len());
        assert!(
            matches!(parse(&deep), Err(QueryError::TooDeep { .. })),
            "{open}"
        );
    }
    let quotes = format!("{}x", "'".repeat(MAX_DEPTH));
    check_err(&[(&quotes, "brackets/quote are not supported")]);
    check_err(&[(
        &format!("'{quotes}"),
        "query nested too deeply (more than 64 levels) at offset 64",
    )]);

    let base = r#"(= name "x")"#;
    let padded = format!("{base}{}", " ".repeat(MAX_QUERY_LEN - base.len()));
    assert_eq!(ok(&padded), text(Name, Eq, "x"));
    let long = format!("{padded} ");
    assert_eq!(
        err(&long),
        QueryError::TooLong {
            len: MAX_QUERY_LEN + 1
        }
    );
    assert_eq!(
        err(&long).to_string(),
        "query is too long: 4097 bytes, at most 4096 allowed"
    );
}

#[test]
fn numbers() {
    check_ok(&[
        ("(= interface_count +5)", int(InterfaceCount, Eq, 5)),
        ("(= interface_count -5)", int(InterfaceCount, Eq, -5)),
        ("(= interface_count 1_000)", int(InterfaceCount, Eq, 1000)),
        ("(= interface_count 007)", int(InterfaceCount, Eq, 7)),
        (
            "(= interface_count -9223372036854775808)",
            int(InterfaceCount, Eq, i64::MIN),
        ),
        (
            "(= interface_count 9_223_372_036_854_775_807)",
            int(InterfaceCount, Eq, i64::MAX),
        ),
        ("(> interface_count 1.5)", int(InterfaceCount, Gt, 1)),
        ("(>= interface_count 1.5)", int(InterfaceCount, Ge, 2)),
        ("(< interface_count 1.5)", int(InterfaceCount, Lt, 2)),
        ("(<= interface_count 1.5)", int(InterfaceCount, Le, 1)),
        ("(> interface_count -1.5)", int(InterfaceCount, Gt, -2)),
        ("(= interface_count 2.0)", int(InterfaceCount, Eq, 2)),
        ("(!= interface_count 2.)", int(InterfaceCount, Ne, 2)),
        ("(= interface_count 1e3)", int(InterfaceCount, Eq, 1000)),
        (
            "(= interface_count 1_0.0E1_0)",
            int(InterfaceCount, Eq, 100_000_000_000),
        ),
        ("(> interface_count .5)", int(InterfaceCount, Gt, 0)),
        ("(= interface_count 1.5)", Filter::Const(false)),
        ("(!= interface_count 1.5)", Filter::Const(true)),
        ("(< interface_count 1e300)", Filter::Const(true)),
        ("(> interface_count 1e300)", Filter::Const(false)),
        ("(> interface_count -1e300)", Filter::Const(true)),
        ("(= interface_count 9.3e18)", Filter::Const(false)),
        ("(> 3 interface_count)", int(InterfaceCount, Lt, 3)),
        ("(<= 2.5 assignee_count)", int(AssigneeCount, Ge, 3)),
    ]);
    check_err(&[
        (
            "(= interface_count nan)",
            "non-finite number `nan` at offset 19",
        ),
        ("(= interface_count -inf)", "non-finite number `-inf`"),
        (
            "(= interface_count +Infinity)",
            "non-finite number `+Infinity`",
        ),
        ("(= interface_count NaN)", "non-finite number `NaN`"),
        ("(= interface_count 1e999)", "non-finite number `1e999`"),
        (
            "(= interface_count 9223372036854775808)",
            "integer `9223372036854775808` at offset 19 is out of range",
        ),
        (
            "(= interface_count -99_999_999_999_999_999_999)",
            "is out of range",
        ),
        // Not numbers, so symbols, so unknown fields.
        ("(= interface_count 1__0)", "unknown field `1__0`"),
        ("(= interface_count _1)", "unknown field `_1`"),
        ("(= interface_count 1_)", "unknown field `1_`"),
        ("(= interface_count 1e)", "unknown field `1e`"),
        ("(= interface_count .)", "unknown field `.`"),
        ("(= interface_count -)", "unknown field `-`"),
        ("(= interface_count 0x10)", "unknown field `0x10`"),
        ("(= interface_count ٣)", "unknown field `٣`"),
        (
            "(= interface_count \"1\")",
            "`interface_count` can only be compared with a number, not a string",
        ),
        (
            "(= assignee_count t)",
            "`assignee_count` can only be compared with a number, not the boolean `t`",
        ),
    ]);
}

#[test]
fn comparisons() {
    let null = |field, negated| Filter::IsNull { field, negated };
    check_ok(&[
        (r#"(= "m2" name)"#, text(Name, Eq, "m2")),
        (r#"(<= "m" name)"#, text(Name, Ge, "m")),
        (r#"(> arch "a")"#, text(Arch, Gt, "a")),
        ("(= nil name)", null(Field::Text(Name), false)),
        (
            "(!= interface_count nil)",
            null(Field::Int(InterfaceCount), true),
        ),
        ("(= nil nil)", Filter::Const(true)),
        ("(!= nil nil)", Filter::Const(false)),
        (r#"(= "x" nil)"#, Filter::Const(false)),
        ("(!= nil 1)", Filter::Const(true)),
        ("(< 1 1.5)", Filter::Const(true)),
        ("(= 1 1.0)", Filter::Const(true)),
        ("(> 9223372036854775807 9.2e18)", Filter::Const(true)),
        ("(< 1.5 2.5)", Filter::Const(true)),
        ("(= t t)", Filter::Const(true)),
        (r#"(> "b" "a")"#, Filter::Const(true)),
        (r#"(< "Z" "a")"#, Filter::Const(true)),
        (r#"(< "é" "z")"#, Filter::Const(false)),
        (r#"(=~ bmc_type "")"#, like(BmcType, "")),
    ]);
    check_err(&[
        (
            r#"(= "a" 1)"#,
            "cannot compare a string with a number (at offset 0)",
        ),
        ("(= t 1)", "cannot compare the boolean `t` with a number"),
        (
            "(> nil 1)",
            "`>` cannot be used with `nil`, only `=` and `!=` can",
        ),
        ("(>= name nil)", "`>=` cannot be used with `nil`"),
        ("(= name arch)", "cannot compare two fields (at offset 0)"),
        (
            r#"(= name (= name "x"))"#,
            "expected a field or a literal, found a list (at offset 8)",
        ),
        (
            r#"(= name "x" "y")"#,
            "`=` takes exactly 2 arguments, got 3 (at offset 0)",
        ),
        ("(<)", "`<` takes exactly 2 arguments, got 0"),
        (r#"(=~ name)"#, "`=~` takes exactly 2 arguments, got 1"),
        (
            r#"(=~ interface_count "1")"#,
            "`=~` needs a text field as its first argument, found the integer field `interface_count` (at offset 4)",
        ),
        (
            r#"(=~ "abc" "b")"#,
            "`=~` needs a text field as its first argument, found a string",
        ),
        (r#"(=~ nil "b")"#, "found `nil`"),
        (r#"(=~ foo "b")"#, "unknown field `foo`"),
        (
            "(=~ name arch)",
            "`=~` needs a string as its second argument, found the text field `arch`",
        ),
    ]);
}

#[test]
fn error_offsets() {
    assert_eq!(err("(= name 5)").offset(), Some(8));
    assert_eq!(err("   ").offset(), None);
    assert_eq!(err(&"x".repeat(5000)).offset(), None);
}

#[test]
fn long_input_is_cut_in_messages() {
    let long = format!("(= {} 1)", "é".repeat(1000));
    let QueryError::UnknownField { name, .. } = err(&long) else {
        panic!()
    };
    assert_eq!(name, "é".repeat(1000));
    let expected = format!("unknown field `{}…` at offset 3", "é".repeat(40));
    assert_eq!(err(&long).to_string(), expected);
    let digits = "9".repeat(41);
    let message = err(&format!("(= interface_count {digits})")).to_string();
    assert_eq!(
        message,
        format!("integer `{}…` at offset 19 is out of range", &digits[..40])
    );
    check_err(&[(
        &format!("(and {})", "y".repeat(50)),
        &format!("the symbol `{}…`", "y".repeat(40)),
    )]);
    assert_eq!(err(r#"(and (= name "x") (= foo 1))"#).offset(), Some(21));
}

#[test]
fn matches_semantics() {
    let nameless = Machine {
        name: None,
        ..machine("", "arm64", "", 3, 4)
    };
    let m1 = &fixture()[0];
    let null = |negated| Filter::IsNull {
        field: Field::Text(Name),
        negated,
    };
    for (filter, on_nameless, on_m1) in [
        (null(false), true, false),
        (null(true), false, true),
        (
            Filter::IsNull {
                field: Field::Int(AssigneeCount),
                negated: false,
            },
            false,
            false,
        ),
        (
            Filter::IsNull {
                field: Field::Int(AssigneeCount),
                negated: true,
            },
            true,
            true,
        ),
        (text(Name, Ne, "x"), false, true),
        (text(Name, Lt, "zzz"), false, true),
        (like(Name, ""), false, true),
        (like(Name, "1.l"), false, true),
        (like(Name, "%"), false, false),
        (like(Name, "m_"), false, false),
        (int(AssigneeCount, Ge, 3), true, false),
        (Filter::And(vec![]), true, true),
        (Filter::Or(vec![]), false, false),
        (
            Filter::Or(vec![text(Name, Eq, "m1.lab_x"), null(false)]),
            true,
            true,
        ),
    ] {
        assert_eq!(
            filter.matches(&nameless),
            on_nameless,
            "{filter:?} on the nameless machine"
        );
        assert_eq!(filter.matches(m1), on_m1, "{filter:?} on m1");
    }
}

#[test]
fn display() {
    let rows = [
        (Filter::Const(true), "t"),
        (Filter::Const(false), "(= 0 1)"),
        (Filter::And(vec![]), "(and)"),
        (Filter::Or(vec![]), "(= 0 1)"),
        (
            text(BmcType, Ge, "a\"b\\c\n"),
            r#"(>= bmc_type "a\"b\\c\n")"#,
        ),
        (int(AssigneeCount, Ne, -3), "(!= assignee_count -3)"),
        (like(Arch, "%_"), r#"(=~ arch "%_")"#),
        (
            Filter::IsNull {
                field: Field::Int(InterfaceCount),
                negated: true,
            },
            "(!= interface_count nil)",
        ),
        (
            Filter::Or(vec![
                Filter::And(vec![Filter::Const(true)]),
                like(Name, "x"),
            ]),
            r#"(or (and t) (=~ name "x"))"#,
        ),
    ];
    for (filter, expected) in rows {
        assert_eq!(filter.to_string(), expected);
    }
}
