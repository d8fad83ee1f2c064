//! `GET /preseed/<machine_id>`: the installer config, rendered in the sandbox with the
//! original's variables; undefined variables and syntax errors are events.

use mr_provisioner_core::model::assignment::NewAssignment;
use mr_provisioner_core::model::event::EventKind;
use mr_provisioner_core::model::interface::NewInterface;
use mr_provisioner_core::model::network::NewNetwork;
use mr_provisioner_core::model::preseed::{InstallerKind, NewPreseed};
use mr_provisioner_core::model::user::{NewUser, UserUpdate};
use mr_provisioner_tests::{Method, TestServer, server_test};
use serde_json::json;

use crate::{Lab, events, lab};

async fn set_template(s: &TestServer, lab: &Lab, kind: InstallerKind, content: &str) {
    let p = s.store.preseed_get(lab.preseed_id).await.unwrap();
    s.store
        .preseed_update(
            lab.preseed_id,
            &NewPreseed {
                name: p.name,
                description: p.description,
                kind,
                content: Some(content.into()),
                owner_id: p.owner_id,
                known_good: p.known_good,
                public: p.public,
            },
        )
        .await
        .unwrap();
}

server_test!(renders_with_the_original_variables, |s| {
    let lab = lab(s).await;
    let store = s.store.as_ref();
    // Two assignees with keys; one interface with a static address, one without.
    for (name, key) in [
        ("alice", "ssh-ed25519 AAAA alice"),
        ("bob", "ssh-rsa BBBB bob"),
    ] {
        let u = store
            .user_create(&NewUser {
                username: name.into(),
                email: None,
                admin: false,
                ssh_key: String::new(),
                password_hash: None,
            })
            .await
            .unwrap();
        store
            .user_update(
                u.id,
                &UserUpdate {
                    ssh_key: Some(key.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        store
            .assignment_create(&NewAssignment {
                machine_id: lab.m1.id,
                user_id: u.id,
                reason: "test".into(),
                end: None,
            })
            .await
            .unwrap();
    }
    let net = store
        .network_create(&NewNetwork {
            name: "lab".into(),
            subnet: "10.77.0.0/16".parse().unwrap(),
            reserved_pool: None,
            static_pool: Some("10.77.1.0/24".parse().unwrap()),
        })
        .await
        .unwrap();
    store
        .interface_create(&NewInterface {
            machine_id: lab.m1.id,
            mac: "52:54:00:aa:bb:cc".parse().unwrap(),
            identifier: Some("eth1".into()),
            network_id: Some(net.id),
            static_ipv4: Some("10.77.1.5".parse().unwrap()),
            reserved_ipv4: None,
        })
        .await
        .unwrap();
    set_template(
        s,
        &lab,
        InstallerKind::Kickstart,
        "host {{ hostname }}\nkey {{ ssh_key }}\n{% for k in ssh_keys %}sshkey {{ k }}\n{% endfor %}\
{% for i in interfaces %}network --device={{ i.name }} --ip={{ i.static_ipv4 }} --netmask={{ i.netmask }} --prefix={{ i.prefix }} --mac={{ i.mac }}\n{% endfor %}\
kernel {{ kernel.filename }} ({{ kernel.description }}, {{ kernel.known_good }})\ninitrd {{ initrd.filename }}\nopts {{ kernel_options }}\n",
    )
    .await;
    let r = s
        .call(Method::GET, &format!("/preseed/{}", lab.m1.id), None, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(
        r.text,
        "host m1-lab\nkey ssh-ed25519 AAAA alice\nsshkey ssh-ed25519 AAAA alice\nsshkey ssh-rsa BBBB bob\n\
network --device=eth1 --ip=10.77.1.5 --netmask=255.255.0.0 --prefix=16 --mac=52:54:00:aa:bb:cc\n\
kernel admin/vmlinuz-6.1 (admin/vmlinuz-6.1 image, True)\ninitrd admin/initrd-6.1.gz\nopts console=ttyAMA0 --- quiet",
        "rendered as the original's Jinja2 did: Python's True, no final newline"
    );
    let last = events(s, lab.m1.id).await.pop().unwrap();
    assert_eq!(
        (last.kind, last.info, last.username),
        (
            EventKind::PreseedAccess,
            json!({"client_ip": "127.0.0.1"}),
            None
        )
    );
    // A kickstart makes the boot config point the installer at it.
    let r = s
        .client
        .get(s.url("/tftp/"))
        .header("X-TFTP-IP", "10.0.0.42")
        .header("X-TFTP-File", "pxelinux.cfg/01-52-54-00-12-34-56")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        r.contains(&format!(
            "ks=http://127.0.0.1:5000/preseed/{} kssendmac",
            lab.m1.id
        )),
        "{r}"
    );
});

server_test!(undefined_variables_are_events_and_render_empty, |s| {
    let lab = lab(s).await;
    set_template(
        s,
        &lab,
        InstallerKind::Preseed,
        "a {{ hostname }}\nb {{ no_such_thing }}\nc\n",
    )
    .await;
    let r = s
        .call(Method::GET, &format!("/preseed/{}", lab.m1.id), None, None)
        .await;
    assert_eq!((r.status, r.text.as_str()), (200, "a m1-lab\nb \nc"));
    let ev = events(s, lab.m1.id).await;
    let errors: Vec<_> = ev
        .iter()
        .filter(|e| e.kind == EventKind::PreseedError)
        .collect();
    assert_eq!(errors.len(), 1, "{ev:?}");
    assert_eq!(errors[0].info["client_ip"], "127.0.0.1");
    assert!(
        errors[0].info["message"]
            .as_str()
            .unwrap()
            .contains("no_such_thing"),
        "{:?}",
        errors[0].info
    );
});

server_test!(syntax_errors_are_400_with_the_line, |s| {
    let lab = lab(s).await;
    set_template(
        s,
        &lab,
        InstallerKind::Autoyast,
        "<profile>\n{% for x in %}\n</profile>\n",
    )
    .await;
    let r = s
        .call(Method::GET, &format!("/preseed/{}", lab.m1.id), None, None)
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.text.starts_with("Syntax error on preseed template: ") && r.text.ends_with(" - line: 2"),
        "{}",
        r.text
    );
    let last = events(s, lab.m1.id).await.pop().unwrap();
    assert_eq!(last.kind, EventKind::PreseedError);
    assert_eq!(last.info["lineno"], 2);
    // Code execution of the original's Jinja2 is not there to reach.
    set_template(
        s,
        &lab,
        InstallerKind::Preseed,
        "{{ ''.__class__.__mro__ }}{{ config }}{% include '/etc/passwd' %}",
    )
    .await;
    let r = s
        .call(Method::GET, &format!("/preseed/{}", lab.m1.id), None, None)
        .await;
    assert!(
        !r.text.contains("root:") && !r.text.contains("class"),
        "{}",
        r.text
    );
});

server_test!(
    unknown_machines_and_machines_without_a_config_are_404,
    |s| {
        let lab = lab(s).await;
        for path in [
            "/preseed/999999".to_string(),
            "/preseed/abc".to_string(),
            format!("/preseed/{}", lab.m2.id),
        ] {
            let r = s.call(Method::GET, &path, None, None).await;
            assert_eq!((r.status, r.text.as_str()), (404, ""), "{path}");
        }
        assert!(
            events(s, lab.m2.id)
                .await
                .iter()
                .all(|e| e.kind != EventKind::PreseedAccess)
        );
    }
);
