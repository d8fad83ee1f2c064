//! Override directories, and compatibility with the original's override templates.

use super::*;

fn write(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn ctx_for<'a>(m: Option<&'a BootView>, s: &'a ServerView) -> BootContext<'a> {
    BootContext {
        machine: m,
        server: s,
    }
}

#[test]
fn an_override_replaces_one_template_and_keeps_the_others() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "grub.netboot.tmpl",
        "# site GRUB for {{ machine.name }}\nlinux (tftp)/{{ machine.kernel.filename }}\n",
    );
    // Not a template name: ignored.
    write(dir.path(), "README", "{% broken");
    write(dir.path(), "grub.netboot.tmpl.orig", "{% broken");
    let custom = JinjaRenderer::with_overrides(dir.path()).unwrap();
    let default = JinjaRenderer::new();
    let (m, s) = (base(), server());
    let ctx = ctx_for(Some(&m), &s);
    assert_eq!(
        custom
            .boot_config(Loader::Grub, BootMode::Netboot, &ctx)
            .unwrap(),
        "# site GRUB for node-01\nlinux (tftp)/alice/vmlinuz-6.1.a1b2c3d4\n"
    );
    for (loader, mode) in [
        (Loader::Grub, BootMode::Local),
        (Loader::Pxelinux, BootMode::Netboot),
        (Loader::Pxelinux, BootMode::Local),
        (Loader::Ipxe, BootMode::Netboot),
        (Loader::Ipxe, BootMode::Local),
    ] {
        assert_eq!(
            custom.boot_config(loader, mode, &ctx).unwrap(),
            default.boot_config(loader, mode, &ctx).unwrap(),
            "{loader:?} {mode:?}"
        );
    }
}

#[test]
fn an_empty_override_directory_gives_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let custom = JinjaRenderer::with_overrides(dir.path()).unwrap();
    let (m, s) = (base(), server());
    let ctx = ctx_for(Some(&m), &s);
    assert_eq!(
        custom
            .boot_config(Loader::Pxelinux, BootMode::Netboot, &ctx)
            .unwrap(),
        JinjaRenderer::new()
            .boot_config(Loader::Pxelinux, BootMode::Netboot, &ctx)
            .unwrap()
    );
}

#[test]
fn a_syntax_error_in_an_override_is_reported_with_name_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pxelinux.local.tmpl",
        "DEFAULT local\nLABEL local\n  {% if machine %}LOCALBOOT -1\n{% endfor %}\n",
    );
    let err = JinjaRenderer::with_overrides(dir.path()).unwrap_err();
    let RenderError::Template { name, message } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(name, "pxelinux.local.tmpl");
    assert!(message.starts_with("syntax error on line 4: "), "{message}");
    assert!(
        err.to_string()
            .starts_with("template pxelinux.local.tmpl: syntax error on line 4")
    );
}

#[test]
fn a_missing_override_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = JinjaRenderer::with_overrides(&missing).unwrap_err();
    let RenderError::Template { name, message } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(name, &missing.display().to_string());
    assert!(
        message.contains("cannot read the override directory"),
        "{message}"
    );

    let file = dir.path().join("file");
    write(dir.path(), "file", "");
    assert!(matches!(
        JinjaRenderer::with_overrides(&file),
        Err(RenderError::Template { .. })
    ));
}

#[test]
fn a_template_name_that_is_a_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("ipxe.local.tmpl")).unwrap();
    let err = JinjaRenderer::with_overrides(dir.path()).unwrap_err();
    assert!(
        matches!(&err, RenderError::Template { name, .. } if name == "ipxe.local.tmpl"),
        "{err:?}"
    );
}

/// An override in the original's style (Jinja2, `machine` and `config`, pxelinux with
/// `ipappend 2` and `kernel_opts_all(config)`), written here from the spec's description
/// (§3.9, §3.10): it renders as the original would have.
#[test]
fn an_original_style_override_renders_as_the_original() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pxelinux.netboot.tmpl",
        "default linux\nprompt 0\ntimeout 1\nlabel linux\nkernel {{ machine.kernel.filename }}\nipappend 2\n\
         append {% if machine.initrd.filename %}initrd={{ machine.initrd.filename }} {% endif %}{{ machine.kernel_opts_all(config) }}\n\
         # secret: [{{ config.SECRET_KEY }}] [{{ config['SQLALCHEMY_DATABASE_URI'] }}]\n",
    );
    write(
        dir.path(),
        "grub.netboot.tmpl",
        "set default=\"linux\"\nset timeout=3\ntr -s net_default_mac_dash : - $net_default_mac\n\
         menuentry \"linux\" {\n  linux (tftp)/{{ machine.kernel.filename }} BOOTIF=01-$net_default_mac_dash {{ machine.kernel_opts_all(config) }}\n\
         {% if machine.initrd %}  initrd (tftp)/{{ machine.initrd.filename }}\n{% endif %}}\n",
    );
    let r = JinjaRenderer::with_overrides(dir.path()).unwrap();
    let s = server();

    // With a preseed: installer options, one space, user options.
    let m = base();
    assert_eq!(
        r.boot_config(Loader::Pxelinux, BootMode::Netboot, &ctx_for(Some(&m), &s))
            .unwrap(),
        "default linux\nprompt 0\ntimeout 1\nlabel linux\nkernel alice/vmlinuz-6.1.a1b2c3d4\nipappend 2\n\
         append initrd=alice/initrd.gz.e5f6a7b8 auto=true priority=critical url=http://10.0.0.1:5000/preseed/7 interface=auto console=ttyS0,115200\n\
         # secret: [] []\n"
    );

    // Without an installer config and without an initrd: the original's leading space stays.
    let m = BootView {
        installer_opts: String::new(),
        initrd: None,
        ..base()
    };
    assert_eq!(
        r.boot_config(Loader::Grub, BootMode::Netboot, &ctx_for(Some(&m), &s))
            .unwrap(),
        "set default=\"linux\"\nset timeout=3\ntr -s net_default_mac_dash : - $net_default_mac\n\
         menuentry \"linux\" {\n  linux (tftp)/alice/vmlinuz-6.1.a1b2c3d4 BOOTIF=01-$net_default_mac_dash  console=ttyS0,115200\n}\n"
    );

    // Without a kernel, the original rendered an empty path rather than failing.
    let m = BootView {
        kernel: None,
        ..base()
    };
    let text = r
        .boot_config(Loader::Pxelinux, BootMode::Netboot, &ctx_for(Some(&m), &s))
        .unwrap();
    assert!(text.contains("\nkernel \nipappend 2\n"), "{text}");
}

#[test]
fn machine_attributes_for_override_authors() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "ipxe.netboot.tmpl",
        "{{ machine.id }}|{{ machine.name }}|{{ machine.hostname }}|{{ machine.mac }}|{{ machine.bootif }}|\
         {{ machine.arch }}|{{ machine.subarch }}|{{ machine.efi }}|{{ machine.kernel.filename }}|\
         {{ machine.kernel.description }}|{{ machine.kernel.known_good }}|{{ machine.initrd.filename }}|\
         {{ machine.kernel_opts }}|{{ machine.installer_opts }}|{{ machine.kernel_opts_all() }}|\
         {{ server.boot_url }}|{{ server.tftp_server }}|{{ loader }}|{{ config | length }}|\
         {{ kernel_command_line('a', machine.bootif, 'b --- c') }}|{{ machine.nope.deeper }}",
    );
    let r = JinjaRenderer::with_overrides(dir.path()).unwrap();
    let (m, s) = (efi(base()), server());
    assert_eq!(
        r.boot_config(Loader::Ipxe, BootMode::Netboot, &ctx_for(Some(&m), &s))
            .unwrap(),
        "7|node-01|node-01|52:54:00:12:34:57|01-52-54-00-12-34-57|x86_64|efi|True|\
         alice/vmlinuz-6.1.a1b2c3d4|Debian 12 kernel|True|alice/initrd.gz.e5f6a7b8|\
         console=ttyS0,115200|auto=true priority=critical url=http://10.0.0.1:5000/preseed/7 interface=auto|\
         auto=true priority=critical url=http://10.0.0.1:5000/preseed/7 interface=auto console=ttyS0,115200|\
         http://10.0.0.1:5000/boot|10.0.0.1|ipxe|0|a BOOTIF=01-52-54-00-12-34-57 b --- c|\n"
    );
}

#[test]
fn a_runaway_override_is_stopped_by_fuel() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "grub.local.tmpl",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    );
    let r = JinjaRenderer::with_overrides(dir.path()).unwrap();
    let s = server();
    let err = r
        .boot_config(Loader::Grub, BootMode::Local, &ctx_for(None, &s))
        .unwrap_err();
    assert!(matches!(err, RenderError::Failed { .. }), "{err:?}");
}
