//! The installer sandbox, undefined reporting, syntax errors and the command line.

use super::*;

fn render(src: &str) -> Result<Rendered, RenderError> {
    JinjaRenderer::new().installer_config(src, &installer_ctx())
}

fn issues(r: &Rendered) -> Vec<(String, Option<usize>)> {
    r.undefined
        .iter()
        .map(|i| (i.message.clone(), i.line))
        .collect()
}

fn failed_message(err: RenderError) -> String {
    match err {
        RenderError::Failed { message, .. } => message,
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn include_import_and_extends_are_refused() {
    for src in [
        "a\n{% include 'other.cfg' %}",
        "{% import 'macros.j2' as m %}{{ m.x() }}",
        "{% from 'macros.j2' import x %}",
        "{% extends 'base.cfg' %}",
        "{% include 'installer config' %}",
    ] {
        let msg = failed_message(render(src).unwrap_err());
        assert!(
            msg.contains("include, import and extends are not available"),
            "{src}: {msg}"
        );
    }
}

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    let src =
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}";
    let r = JinjaRenderer::new().with_sandbox_limits(SandboxLimits {
        fuel: 50_000,
        max_output: usize::MAX,
    });
    let msg = failed_message(r.installer_config(src, &installer_ctx()).unwrap_err());
    assert!(msg.contains("ran out of fuel"), "{msg}");
    // The default fuel stops it too.
    let msg = failed_message(render(src).unwrap_err());
    assert!(msg.contains("ran out of fuel"), "{msg}");
    // Recursion is bounded as well.
    let src = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}";
    assert!(matches!(render(src), Err(RenderError::Failed { .. })));
}

#[test]
fn output_is_capped() {
    let r = JinjaRenderer::new().with_sandbox_limits(SandboxLimits {
        fuel: 10_000_000,
        max_output: 1000,
    });
    let src = "{% for i in range(200) %}0123456789{% endfor %}";
    let msg = failed_message(r.installer_config(src, &installer_ctx()).unwrap_err());
    assert_eq!(msg, "the output is larger than 1000 bytes");
    let ok = "{% for i in range(100) %}0123456789{% endfor %}";
    assert_eq!(
        r.installer_config(ok, &installer_ctx()).unwrap().text.len(),
        1000
    );
}

#[test]
fn only_the_context_is_in_scope() {
    let r = render("[{{ config }}][{{ machine }}][{{ self }}]").unwrap();
    assert_eq!(r.text, "[][][]");
    assert_eq!(
        issues(&r),
        vec![
            ("`config` is undefined".to_string(), Some(1)),
            ("`machine` is undefined".to_string(), Some(1)),
            ("`self` is undefined".to_string(), Some(1)),
        ]
    );
    // `debug()` (which would dump the environment) is not available.
    assert!(matches!(
        render("{{ debug() }}"),
        Err(RenderError::Failed { .. })
    ));
}

#[test]
fn undefined_values_render_empty_and_are_reported_with_lines() {
    let src = "host={{ hostname }}\n\
               a=[{{ nope }}]\n\
               b=[{{ kernel.nope }}]\n\
               {% for i in interfaces %}c=[{{ i.gateway }}]{% endfor %}\n\
               {% if missing_flag %}never{% endif %}d\n\
               e=[{{ unused is defined }}][{{ other | default('x') }}]\n\
               f=[{{ nope }}][{{ nope.deeper.still }}]\n\
               {% for k in no_such_list %}never{% endfor %}g\n\
               h=[{{ interfaces[1].name }}]";
    let r = render(src).unwrap();
    assert_eq!(
        r.text,
        "host=node-01\na=[]\nb=[]\nc=[]c=[]\nd\ne=[False][x]\nf=[][]\ng\nh=[eth1]"
    );
    assert_eq!(
        issues(&r),
        vec![
            ("`nope` is undefined".to_string(), Some(2)),
            ("`kernel.nope` is undefined".to_string(), Some(3)),
            ("`interfaces[].gateway` is undefined".to_string(), Some(4)),
            ("`missing_flag` is undefined".to_string(), Some(5)),
            ("`no_such_list` is undefined".to_string(), Some(8)),
        ]
    );
}

#[test]
fn an_attribute_of_a_missing_kernel_is_reported() {
    let ctx = InstallerContext {
        kernel: None,
        ..installer_ctx()
    };
    let r = JinjaRenderer::new()
        .installer_config(
            "x\n{{ kernel.filename }}\n{% if kernel %}{{ kernel.filename }}{% endif %}",
            &ctx,
        )
        .unwrap();
    assert_eq!(r.text, "x\n\n");
    assert_eq!(
        issues(&r),
        vec![("`kernel.filename` is undefined".to_string(), Some(2))]
    );
}

#[test]
fn a_clean_template_reports_nothing() {
    let r = render(include_str!("../testdata/preseed.cfg.j2")).unwrap();
    assert!(r.undefined.is_empty(), "{:?}", r.undefined);
}

#[test]
fn many_undefined_values_are_capped() {
    let src: String = (0..40).map(|i| format!("{{{{ v{i} }}}}\n")).collect();
    let r = render(&src).unwrap();
    assert_eq!(r.text, "\n".repeat(39));
    assert_eq!(r.undefined.len(), sandbox::MAX_REPORTED + 1);
    assert_eq!(
        r.undefined[0],
        TemplateIssue {
            message: "`v0` is undefined".into(),
            line: Some(1)
        }
    );
    assert_eq!(r.undefined[15].line, Some(16));
    assert_eq!(r.undefined[16].line, None);
}

#[test]
fn syntax_errors_carry_their_line() {
    let cases = [
        ("{% if %}", 1),
        ("line one\nline two\n{% for x in %}\n", 3),
        ("a\n{{ foo }\nc", 2),
        // An unclosed block: minijinja points at the block it could not close.
        ("a\nb\nc\n{% if x %}\nunclosed\n", 4),
        ("{% include %}", 1),
    ];
    for (src, line) in cases {
        match render(src) {
            Err(RenderError::Syntax { line: got, message }) => {
                assert_eq!(got, line, "{src:?}: {message}");
                assert!(!message.is_empty());
            }
            other => panic!("{src:?}: {other:?}"),
        }
    }
    let err = render("ok\n{% endif %}").unwrap_err();
    assert!(
        err.to_string().starts_with("syntax error on line 2: "),
        "{err}"
    );
}

#[test]
fn other_render_errors_are_failed_with_a_line() {
    let err = render("a\nb\n{{ hostname | no_such_filter }}").unwrap_err();
    match &err {
        RenderError::Failed { line, message } => {
            assert_eq!(*line, Some(3));
            assert!(message.contains("no_such_filter"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().starts_with("rendering failed on line 3: "),
        "{err}"
    );
}

#[test]
fn kernel_command_line_table() {
    let inst = "auto=true priority=critical url=http://p/preseed/1 interface=auto";
    let cases: &[(&str, Option<&str>, &str, &str)] = &[
        ("", None, "", ""),
        ("", Some(""), "", ""),
        (
            "",
            Some("01-52-54-00-12-34-56"),
            "",
            "BOOTIF=01-52-54-00-12-34-56",
        ),
        (inst, None, "", inst),
        ("", None, "quiet", "quiet"),
        (
            inst,
            Some("01-52-54-00-12-34-56"),
            "console=ttyS0 --- quiet",
            "auto=true priority=critical url=http://p/preseed/1 interface=auto BOOTIF=01-52-54-00-12-34-56 console=ttyS0 --- quiet",
        ),
        (
            "",
            Some("01-aa-bb-cc-dd-ee-ff"),
            "--- quiet",
            "BOOTIF=01-aa-bb-cc-dd-ee-ff --- quiet",
        ),
        (
            "ks=http://p/preseed/1 kssendmac",
            Some("01-$net_default_mac_dash"),
            "---",
            "ks=http://p/preseed/1 kssendmac BOOTIF=01-$net_default_mac_dash ---",
        ),
        (
            "autoyast=http://p/preseed/1",
            Some("01-${netX/mac:hexhyp}"),
            "  a  b  ",
            "autoyast=http://p/preseed/1 BOOTIF=01-${netX/mac:hexhyp} a  b",
        ),
        // Newlines and other control characters cannot start a new config line.
        (
            "",
            None,
            "a\nset root=(hd0)\r\nb\tc",
            "a set root=(hd0)  b c",
        ),
        (" x ", None, "\n", "x"),
    ];
    for (installer, bootif, user, want) in cases {
        assert_eq!(
            kernel_command_line(installer, *bootif, user),
            *want,
            "{installer:?} {bootif:?} {user:?}"
        );
    }
}

#[test]
fn bootif_value_table() {
    let cases = [
        ("52:54:00:12:34:56", Some("01-52-54-00-12-34-56")),
        ("52-54-00-AB-CD-EF", Some("01-52-54-00-ab-cd-ef")),
        ("", None),
        ("52:54:00:12:34", None),
        ("52:54:00:12:34:56:78", None),
        ("52:54:00:12:34:5g", None),
        ("525400123456", None),
    ];
    for (mac, want) in cases {
        assert_eq!(bootif_value(mac).as_deref(), want, "{mac}");
    }
}

#[test]
fn template_names_match_the_embedded_defaults() {
    for ((name, _), want) in boot::DEFAULTS.iter().zip(TEMPLATE_NAMES) {
        assert_eq!(*name, want);
    }
    for loader in [Loader::Grub, Loader::Pxelinux, Loader::Ipxe] {
        for mode in [BootMode::Netboot, BootMode::Local] {
            let name = template_name(loader, mode);
            assert!(TEMPLATE_NAMES.contains(&name));
            assert!(name.contains(mode.as_str()));
        }
    }
}
