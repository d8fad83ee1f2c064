//! A fixture with one of everything, built through the store, for the endpoint and role
//! tests: users in every role, archs and subarchs, BMCs (a simulated one), a network with
//! pools, machines (one assigned, one free), images and installer configs (public and
//! private), a discovered MAC. Names carry a tag so that several worlds fit in one database.

use mr_provisioner_core::mac::MacAddr;
use mr_provisioner_core::model::arch::{Arch, NewArch, NewSubarch, Subarch};
use mr_provisioner_core::model::assignment::{Assignment, NewAssignment};
use mr_provisioner_core::model::bmc::{Bmc, NewBmc};
use mr_provisioner_core::model::discovered_mac::{DiscoveredMac, Sighting};
use mr_provisioner_core::model::image::{Image, ImageKind, NewImage};
use mr_provisioner_core::model::interface::{Interface, NewInterface};
use mr_provisioner_core::model::machine::{Machine, NewMachine};
use mr_provisioner_core::model::network::{Network, NewNetwork};
use mr_provisioner_core::model::preseed::{InstallerKind, NewPreseed, Preseed};
use mr_provisioner_core::model::user::User;
use mr_provisioner_ipmi::{BmcKind, Privilege};
use mr_provisioner_tests::TestServer;

/// The BMC password of every fixture BMC: it must never appear in an answer.
pub(crate) const BMC_PASSWORD: &str = "s3cret-bmc-pass";

pub(crate) struct World {
    /// An administrator.
    pub(crate) admin: User,
    pub(crate) admin_t: String,
    /// Assigned `m1`.
    pub(crate) alice: User,
    pub(crate) alice_t: String,
    /// A user with nothing.
    pub(crate) bob: User,
    pub(crate) bob_t: String,
    /// Owns `kernel`, `initrd`, `private_kernel`, `preseed` and `private_preseed`.
    pub(crate) carol: User,
    pub(crate) carol_t: String,
    /// A user no one needs (for deleting), with a token.
    pub(crate) dave: User,
    pub(crate) arm: Arch,
    /// An arch nothing uses.
    pub(crate) spare_arch: Arch,
    pub(crate) bootloader: Image,
    /// On `arm`, with `bootloader` and EFI boot.
    pub(crate) efi: Subarch,
    /// On `arm`, without bootloader.
    pub(crate) nobl: Subarch,
    /// A subarch nothing uses.
    pub(crate) spare_subarch: Subarch,
    /// Type `sim`: the in-process simulator.
    pub(crate) sim_bmc: Bmc,
    /// A BMC nothing uses.
    pub(crate) spare_bmc: Bmc,
    /// Untagged: 10.0.0.0/16, reserved pool 10.0.1.0/24, static pool 10.0.2.0/24 (tagged
    /// worlds use a /24 of 172.16.0.0/12 with two /26 pools).
    pub(crate) net: Network,
    /// A network nothing uses, without pools.
    pub(crate) spare_net: Network,
    /// `m1-TAG`: sim BMC, arm/efi, kernel and initrd set, assigned to alice.
    pub(crate) m1: Machine,
    pub(crate) a1: Assignment,
    /// `eth0` of `m1` on `net`, dynamic.
    pub(crate) eth0: Interface,
    /// `m2-TAG`: free, no BMC, arm.
    pub(crate) m2: Machine,
    /// Public kernel of carol.
    pub(crate) kernel: Image,
    /// Public initrd of carol.
    pub(crate) initrd: Image,
    /// Private kernel of carol.
    pub(crate) private_kernel: Image,
    /// Public preseed of carol.
    pub(crate) preseed: Preseed,
    /// Private preseed of carol.
    pub(crate) private_preseed: Preseed,
    pub(crate) discovered: DiscoveredMac,
    /// The id of carol's API token.
    pub(crate) carol_token: mr_provisioner_core::id::TokenId,
    /// The tag in every name (empty, or `-N`).
    pub(crate) tag: String,
    /// The number `N` of the tag.
    pub(crate) n: u16,
}

async fn user(s: &TestServer, name: &str, admin: bool) -> (User, String) {
    s.user_with_token(name, admin).await
}

/// A MAC whose last bytes are `n` and `k`.
pub(crate) fn mac(n: u16, k: u8) -> MacAddr {
    format!("02:00:00:{:02x}:{:02x}:{k:02x}", n >> 8, n & 0xff)
        .parse()
        .unwrap()
}

pub(crate) fn bmc_new(name: &str, address: &str, kind: BmcKind) -> NewBmc {
    NewBmc {
        name: name.into(),
        address: address.into(),
        port: None,
        username: "admin".into(),
        password: BMC_PASSWORD.to_string().into(),
        kind,
        privilege: Privilege::Administrator,
        cipher_suite: None,
        retries: None,
        timeout_ms: None,
    }
}

impl World {
    /// One world tagged `n` (0..=4095) in the server's database.
    pub(crate) async fn build_tagged(s: &TestServer, n: u16) -> World {
        let tag = if n == 0 {
            String::new()
        } else {
            format!("-{n}")
        };
        let st = s.store.as_ref();
        let (admin, admin_t) = user(s, &format!("admin{tag}"), true).await;
        let (alice, alice_t) = user(s, &format!("alice{tag}"), false).await;
        let (bob, bob_t) = user(s, &format!("bob{tag}"), false).await;
        let (carol, carol_t) = user(s, &format!("carol{tag}"), false).await;
        let (dave, _) = user(s, &format!("dave{tag}"), false).await;
        let arch = |name: String| NewArch {
            name,
            description: Some("an arch".into()),
        };
        let arm = st.arch_create(&arch(format!("arm64{tag}"))).await.unwrap();
        let spare_arch = st.arch_create(&arch(format!("spare{tag}"))).await.unwrap();
        let image = |name: &str, kind, owner: &User, public| NewImage {
            filename: format!("{}/{name}", owner.username),
            description: Some(name.to_string()),
            kind,
            arch_id: arm.id,
            owner_id: Some(owner.id),
            known_good: false,
            public,
            sha256: None,
            size: None,
        };
        let bootloader = st
            .image_create(&image("grubaa64.efi", ImageKind::Bootloader, &admin, true))
            .await
            .unwrap();
        let kernel = st
            .image_create(&image("vmlinuz", ImageKind::Kernel, &carol, true))
            .await
            .unwrap();
        let initrd = st
            .image_create(&image("initrd.img", ImageKind::Initrd, &carol, true))
            .await
            .unwrap();
        let private_kernel = st
            .image_create(&image("secret-vmlinuz", ImageKind::Kernel, &carol, false))
            .await
            .unwrap();
        let sub = |name: &str, bl: Option<_>, efiboot| NewSubarch {
            arch_id: arm.id,
            name: name.into(),
            description: None,
            bootloader_id: bl,
            efiboot,
        };
        let efi = st
            .subarch_create(&sub("efi", Some(bootloader.id), true))
            .await
            .unwrap();
        let nobl = st.subarch_create(&sub("nobl", None, false)).await.unwrap();
        let spare_subarch = st.subarch_create(&sub("spare", None, false)).await.unwrap();
        let sim_bmc = st
            .bmc_create(&bmc_new(
                &format!("sim{tag}"),
                &format!("sim{n}.bmc.lab"),
                BmcKind::Sim,
            ))
            .await
            .unwrap();
        let spare_bmc = st
            .bmc_create(&bmc_new(
                &format!("spare{tag}"),
                &format!("spare{n}.bmc.lab"),
                BmcKind::Plain,
            ))
            .await
            .unwrap();
        let (hi, lo) = (16 + (n >> 8), n & 0xff);
        let (subnet, reserved, static_pool) = if n == 0 {
            (
                "10.0.0.0/16".to_string(),
                "10.0.1.0/24".to_string(),
                "10.0.2.0/24".to_string(),
            )
        } else {
            (
                format!("172.{hi}.{lo}.0/24"),
                format!("172.{hi}.{lo}.0/26"),
                format!("172.{hi}.{lo}.64/26"),
            )
        };
        let net = st
            .network_create(&NewNetwork {
                name: format!("lab{tag}"),
                subnet: subnet.parse().unwrap(),
                reserved_pool: Some(reserved.parse().unwrap()),
                static_pool: Some(static_pool.parse().unwrap()),
            })
            .await
            .unwrap();
        let spare = if n == 0 {
            "10.100.0.0/16".to_string()
        } else {
            format!("10.{}.{}.0/24", 128 + (n >> 8), n & 0xff)
        };
        let spare_net = st
            .network_create(&NewNetwork {
                name: format!("spare{tag}"),
                subnet: spare.parse().unwrap(),
                reserved_pool: None,
                static_pool: None,
            })
            .await
            .unwrap();
        let mut m1 = NewMachine::named(format!("m1{tag}"), arm.id);
        m1.subarch_id = Some(efi.id);
        m1.bmc_id = Some(sim_bmc.id);
        m1.kernel_id = Some(kernel.id);
        m1.initrd_id = Some(initrd.id);
        m1.kernel_opts = "console=ttyAMA0".into();
        let m1 = st.machine_create(&m1).await.unwrap();
        let m2 = st
            .machine_create(&NewMachine::named(format!("m2{tag}"), arm.id))
            .await
            .unwrap();
        let a1 = st
            .assignment_create(&NewAssignment {
                machine_id: m1.id,
                user_id: alice.id,
                reason: "testing".into(),
                end: None,
            })
            .await
            .unwrap();
        let eth0 = st
            .interface_create(&NewInterface {
                machine_id: m1.id,
                mac: mac(n, 1),
                identifier: Some("eth0".into()),
                network_id: Some(net.id),
                static_ipv4: None,
                reserved_ipv4: None,
            })
            .await
            .unwrap();
        let preseed = |name: String, public| NewPreseed {
            name,
            description: Some("a config".into()),
            kind: InstallerKind::Preseed,
            content: Some("d-i debian-installer/locale string en_US\n".into()),
            owner_id: Some(carol.id),
            known_good: false,
            public,
        };
        let preseed_pub = st
            .preseed_create(&preseed(format!("seed{tag}"), true))
            .await
            .unwrap();
        let private_preseed = st
            .preseed_create(&preseed(format!("secret-seed{tag}"), false))
            .await
            .unwrap();
        let discovered = st
            .discovered_mac_upsert(
                mac(n, 0xd0),
                &Sighting {
                    vendor: Some("Acme".into()),
                    hostname: Some("stray".into()),
                    arch_code: Some(11),
                    arch: Some("ARM 64-bit UEFI".into()),
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let carol_token = st.token_list(carol.id).await.unwrap()[0].id;
        World {
            carol_token,
            admin,
            admin_t,
            alice,
            alice_t,
            bob,
            bob_t,
            carol,
            carol_t,
            dave,
            arm,
            spare_arch,
            bootloader,
            efi,
            nobl,
            spare_subarch,
            sim_bmc,
            spare_bmc,
            net,
            spare_net,
            m1,
            a1,
            eth0,
            m2,
            kernel,
            initrd,
            private_kernel,
            preseed: preseed_pub,
            private_preseed,
            discovered,
            tag,
            n,
        }
    }

    /// The world with no tag.
    pub(crate) async fn build(s: &TestServer) -> World {
        Self::build_tagged(s, 0).await
    }
}

/// `/api/v1` + `p`.
pub(crate) fn v1(p: impl std::fmt::Display) -> String {
    format!("/api/v1{p}")
}

/// Sends `method path` as `token` with `body` (a JSON value, or raw text with
/// [`Body::Raw`]) and checks that it fails with `status`, `error_type` and, unless `None`,
/// exactly `message`, leaving everything stored as it was.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn refuse(
    s: &TestServer,
    method: mr_provisioner_tests::Method,
    path: &str,
    token: &str,
    body: Body<'_>,
    status: u16,
    error_type: &str,
    message: Option<&str>,
) -> mr_provisioner_tests::Reply {
    let text = match body {
        Body::None => None,
        Body::Json(v) => Some(v.to_string()),
        Body::Raw(r) => Some(r.to_string()),
    };
    s.rejects(
        method,
        path,
        Some(token),
        text.as_deref(),
        status,
        error_type,
        message,
    )
    .await
}

/// A request body for [`refuse`].
pub(crate) enum Body<'a> {
    /// No body.
    None,
    /// This JSON.
    Json(serde_json::Value),
    /// These bytes as they are.
    Raw(&'a str),
}

/// The malformed bodies every JSON endpoint must refuse with 400 before anything else:
/// (body, error type).
pub(crate) const MALFORMED: &[(&str, &str)] = &[
    ("", "JSONDecodeError"),
    ("{", "JSONDecodeError"),
    ("{\"a\": }", "JSONDecodeError"),
    ("not json", "JSONDecodeError"),
    ("[1, 2]", "SchemaUnexpectedTypeError"),
    ("\"a string\"", "SchemaUnexpectedTypeError"),
    ("null", "SchemaUnexpectedTypeError"),
    ("42", "SchemaUnexpectedTypeError"),
];

/// Checks that `method path` refuses every [`MALFORMED`] body with 400 and changes nothing.
pub(crate) async fn refuses_malformed(
    s: &TestServer,
    method: mr_provisioner_tests::Method,
    path: &str,
    token: &str,
) {
    for (raw, error_type) in MALFORMED {
        refuse(
            s,
            method.clone(),
            path,
            token,
            Body::Raw(raw),
            400,
            error_type,
            None,
        )
        .await;
    }
}

/// The message argument of [`rejects!`]: a `&str`, or an `Option<&str>`.
pub(crate) fn msg<'a>(m: impl Into<Option<&'a str>>) -> Option<&'a str> {
    m.into()
}

/// `rejects!(s, METHOD path, token, body => status, error_type[, message])`: [`refuse`] in
/// one line (`METHOD` is a method name, or `(expr)` for a `Method` value).
macro_rules! rejects {
    ($s:expr, ($m:expr) $path:expr, $tok:expr, $body:expr => $status:expr, $ty:expr) => {
        $crate::world::refuse($s, $m, &$path, $tok, $body, $status, $ty, None).await
    };
    ($s:expr, ($m:expr) $path:expr, $tok:expr, $body:expr => $status:expr, $ty:expr, $msg:expr) => {
        $crate::world::refuse($s, $m, &$path, $tok, $body, $status, $ty, $crate::world::msg($msg)).await
    };
    ($s:expr, $m:ident $path:expr, $tok:expr, $body:expr => $($rest:tt)*) => {
        rejects!($s, (::mr_provisioner_tests::Method::$m) $path, $tok, $body => $($rest)*)
    };
}
pub(crate) use rejects;
