//! The original's pytest fixtures (`tests/conftest.py`, `tests/api/conftest.py`,
//! `tests/preseed/conftest.py`), with the same names and values, built through the store.
//! Each test builds only the fixtures its original asked for, since several tests count
//! what exists (an empty list, "no images left").

use mr_provisioner_core::id::{ImageId, UserId};
use mr_provisioner_core::mac::MacAddr;
use mr_provisioner_core::model::arch::{Arch, NewArch, NewSubarch, Subarch};
use mr_provisioner_core::model::assignment::{Assignment, NewAssignment};
use mr_provisioner_core::model::bmc::{Bmc, NewBmc};
use mr_provisioner_core::model::image::{Image, ImageKind, NewImage};
use mr_provisioner_core::model::interface::{Interface, NewInterface};
use mr_provisioner_core::model::machine::{Machine, NewMachine};
use mr_provisioner_core::model::network::{Network, NewNetwork};
use mr_provisioner_core::model::preseed::{InstallerKind, NewPreseed, Preseed};
use mr_provisioner_core::model::user::User;
use mr_provisioner_ipmi::{BmcKind, Privilege};
use mr_provisioner_tests::TestServer;

/// `user_nonadmin`, `user_nonadmin2`, `user_admin` and the two tokens, as the `Bearer`
/// headers the original's tests sent (`valid_headers_nonadmin`, `valid_headers_admin`);
/// plus BMCs and archs, which no listing of the tests counts.
pub(crate) struct Base {
    pub(crate) apitest: User,
    pub(crate) apitest2: User,
    pub(crate) admin: User,
    /// `Authorization` of `apitest`.
    pub(crate) nonadmin: String,
    /// `Authorization` of `apitest-admin`.
    pub(crate) admin_h: String,
    pub(crate) bmc_moonshot: Bmc,
    pub(crate) bmc_plain: Bmc,
    pub(crate) some_arch: Arch,
    pub(crate) some_other_arch: Arch,
}

async fn user(s: &TestServer, name: &str, email: &str, admin: bool) -> User {
    let (mut u, _) = s.user_with_token(name, admin).await;
    // The original's emails (the harness makes `<name>@example.com`).
    u = s
        .store
        .user_update(
            u.id,
            &mr_provisioner_core::model::user::UserUpdate {
                email: Some(Some(email.into())),
                ..Default::default()
            },
        )
        .await
        .expect("set email");
    u
}

async fn bmc(s: &TestServer, address: &str, name: &str, kind: BmcKind) -> Bmc {
    s.store
        .bmc_create(&NewBmc {
            name: name.into(),
            address: address.into(),
            port: None,
            username: "admin".into(),
            password: "password".to_string().into(),
            kind,
            privilege: Privilege::Administrator,
            cipher_suite: None,
            retries: None,
            timeout_ms: None,
        })
        .await
        .expect("create BMC")
}

async fn arch(s: &TestServer, name: &str) -> Arch {
    s.store
        .arch_create(&NewArch {
            name: name.into(),
            description: Some("arch description".into()),
        })
        .await
        .expect("create arch")
}

/// Users, tokens, BMCs and archs.
pub(crate) async fn base(s: &TestServer) -> Base {
    let apitest = user(s, "apitest", "api@example.com", false).await;
    let apitest2 = user(s, "apitest2", "api2@example.com", false).await;
    let admin = user(s, "apitest-admin", "api-admin@example.com", true).await;
    let nonadmin = format!("Bearer {}", s.token_for(&apitest).await);
    let admin_h = format!("Bearer {}", s.token_for(&admin).await);
    Base {
        bmc_moonshot: bmc(s, "10.0.0.99", "bmc moonshot", BmcKind::Moonshot).await,
        bmc_plain: bmc(s, "10.0.0.98", "bmc plain", BmcKind::Plain).await,
        some_arch: arch(s, "some-arch").await,
        some_other_arch: arch(s, "some-other-arch").await,
        apitest,
        apitest2,
        admin,
        nonadmin,
        admin_h,
    }
}

async fn image(
    s: &TestServer,
    b: &Base,
    filename: &str,
    description: &str,
    kind: ImageKind,
    owner: Option<UserId>,
) -> Image {
    s.store
        .image_create(&NewImage {
            filename: filename.into(),
            description: Some(description.into()),
            kind,
            arch_id: b.some_arch.id,
            owner_id: owner,
            known_good: false,
            public: true,
            sha256: None,
            size: None,
        })
        .await
        .expect("create image")
}

/// `valid_image_kernel`: `apitest-admin/kernel`, public, owned by the admin.
pub(crate) async fn kernel(s: &TestServer, b: &Base) -> Image {
    let f = format!("{}/kernel", b.admin.username);
    image(s, b, &f, "kernel", ImageKind::Kernel, Some(b.admin.id)).await
}

/// `valid_image_initrd`: `apitest-admin/initrd`.
pub(crate) async fn initrd(s: &TestServer, b: &Base) -> Image {
    let f = format!("{}/initrd", b.admin.username);
    image(s, b, &f, "initrd", ImageKind::Initrd, Some(b.admin.id)).await
}

/// `valid_image_bootloader`: `apitest-admin/bootloader`.
pub(crate) async fn bootloader(s: &TestServer, b: &Base) -> Image {
    let f = format!("{}/bootloader", b.admin.username);
    image(
        s,
        b,
        &f,
        "bootloader",
        ImageKind::Bootloader,
        Some(b.admin.id),
    )
    .await
}

/// `valid_image_bootloader_no_user`: `bootloader` without an owner (a system image).
pub(crate) async fn bootloader_no_user(s: &TestServer, b: &Base) -> Image {
    image(
        s,
        b,
        "bootloader",
        "bootloader",
        ImageKind::Bootloader,
        None,
    )
    .await
}

/// `some-subarch-no-bl` and `some-subarch-with-bl` (bootloader `bl`) on `some-arch`.
pub(crate) async fn subarchs(s: &TestServer, b: &Base, bl: ImageId) -> (Subarch, Subarch) {
    let make = |name: &str, bootloader_id| NewSubarch {
        arch_id: b.some_arch.id,
        name: name.into(),
        description: Some("subarch description".into()),
        bootloader_id,
        efiboot: false,
    };
    let no_bl = s
        .store
        .subarch_create(&make("some-subarch-no-bl", None))
        .await
        .expect("create subarch");
    let with_bl = s
        .store
        .subarch_create(&make("some-subarch-with-bl", Some(bl)))
        .await
        .expect("create subarch");
    (no_bl, with_bl)
}

pub(crate) async fn machine(s: &TestServer, new: NewMachine) -> Machine {
    s.store.machine_create(&new).await.expect("create machine")
}

/// `valid_moonshot_machine`: `c1n1`, Moonshot BMC, cartridge 3.
pub(crate) async fn c1n1(s: &TestServer, b: &Base) -> Machine {
    let mut m = NewMachine::named("c1n1", b.some_arch.id);
    m.bmc_id = Some(b.bmc_moonshot.id);
    m.bmc_info = "3".into();
    machine(s, m).await
}

/// `valid_plain_machine`: `plain01`, plain BMC.
pub(crate) async fn plain01(s: &TestServer, b: &Base) -> Machine {
    let mut m = NewMachine::named("plain01", b.some_arch.id);
    m.bmc_id = Some(b.bmc_plain.id);
    machine(s, m).await
}

/// An assignment (`valid_assignment_nonadmin` is `plain01` ↔ `apitest`, reason `testing`).
pub(crate) async fn assign(s: &TestServer, m: &Machine, u: &User, reason: &str) -> Assignment {
    s.store
        .assignment_create(&NewAssignment {
            machine_id: m.id,
            user_id: u.id,
            reason: reason.into(),
            end: None,
        })
        .await
        .expect("create assignment")
}

/// `valid_network` (`default`, 10.0.0.0/20, no pools) and `valid_interface_1`
/// (`00:11:22:33:44:55` on `m` in it).
pub(crate) async fn interface(s: &TestServer, m: &Machine) -> (Network, Interface) {
    let net = s
        .store
        .network_create(&NewNetwork {
            name: "default".into(),
            subnet: "10.0.0.0/20".parse().unwrap(),
            reserved_pool: None,
            static_pool: None,
        })
        .await
        .expect("create network");
    let mac: MacAddr = "00:11:22:33:44:55".parse().unwrap();
    let intf = s
        .store
        .interface_create(&NewInterface {
            machine_id: m.id,
            mac,
            identifier: None,
            network_id: Some(net.id),
            static_ipv4: None,
            reserved_ipv4: None,
        })
        .await
        .expect("create interface");
    (net, intf)
}

/// `valid_preseed`: `someseed`, owned by the admin, public, empty content.
pub(crate) async fn preseed(s: &TestServer, b: &Base) -> Preseed {
    s.store
        .preseed_create(&NewPreseed {
            name: "someseed".into(),
            description: Some("johnnys seed".into()),
            kind: InstallerKind::Preseed,
            content: Some(String::new()),
            owner_id: Some(b.admin.id),
            known_good: false,
            public: true,
        })
        .await
        .expect("create preseed")
}

/// `machines_for_reservation`: machine0 (plain, some-arch), machine1 (moonshot, some-arch,
/// assigned to apitest), machine2 (no BMC, some-other-arch, assigned to apitest), machine3
/// (no BMC, some-arch), machine4 (moonshot, some-other-arch).
pub(crate) async fn machines_for_reservation(s: &TestServer, b: &Base) -> Vec<Machine> {
    let spec = [
        ("machine0", Some(&b.bmc_plain), &b.some_arch),
        ("machine1", Some(&b.bmc_moonshot), &b.some_arch),
        ("machine2", None, &b.some_other_arch),
        ("machine3", None, &b.some_arch),
        ("machine4", Some(&b.bmc_moonshot), &b.some_other_arch),
    ];
    let mut out = Vec::new();
    for (name, bmc, arch) in spec {
        let mut m = NewMachine::named(name, arch.id);
        if let Some(bmc) = bmc {
            m.bmc_id = Some(bmc.id);
            if bmc.kind == BmcKind::Moonshot {
                m.bmc_info = "1".into();
            }
        }
        out.push(machine(s, m).await);
    }
    assign(s, &out[1], &b.apitest, "testing").await;
    assign(s, &out[2], &b.apitest, "testing").await;
    out
}
