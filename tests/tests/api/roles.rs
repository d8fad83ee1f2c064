//! The role matrix: every mutating endpoint (and the reads that hide things) × the roles
//! anonymous, user (unrelated, not an admin), assignee (holds the machine), owner (owns the
//! images, installer configs and token), admin. Each row says what each role gets.
//!
//! Every cell runs on a fresh fixture (a tagged [`World`]); a refused cell must answer
//! 401/403 (404 where another user's thing is hidden) in the JSON envelope and change none
//! of the fixture's data, nor create anything (counts of every table and of the image files
//! are part of the snapshot). A world is reused for the next cell only after a refused
//! request, which the snapshot proved changed nothing.
//!
//! 59 rows × 5 roles = 295 cells per backend. The rows are split into four chunks, each a
//! test on both backends, so that the harness runs them in parallel. Run one at a time, the
//! whole matrix takes about 3 s on SQLite and 8 s on PostgreSQL on a 2-core machine, so it
//! runs on both.

use std::fmt::Write as _;

use mr_provisioner_core::store::{MachineListQuery, Page, Visibility};
use mr_provisioner_core::testing::TestBackend;
use mr_provisioner_tests::{Method as M, Reply, TestServer};
use serde_json::{Value, json};

use crate::world::{World, mac, v1};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Anonymous,
    User,
    Assignee,
    Owner,
    Admin,
}

const ROLES: [Role; 5] = [
    Role::Anonymous,
    Role::User,
    Role::Assignee,
    Role::Owner,
    Role::Admin,
];

fn token(w: &World, r: Role) -> Option<&str> {
    match r {
        Role::Anonymous => None,
        Role::User => Some(&w.bob_t),
        Role::Assignee => Some(&w.alice_t),
        Role::Owner => Some(&w.carol_t),
        Role::Admin => Some(&w.admin_t),
    }
}

enum Req {
    None,
    Json(Value),
    /// The image upload form.
    Upload,
}

struct Row {
    method: M,
    path: fn(&World) -> String,
    body: fn(&World) -> Req,
    /// Anonymous, user, assignee, owner, admin.
    expect: [u16; 5],
}

const ADMIN_ONLY_CREATE: [u16; 5] = [401, 403, 403, 403, 201];
const ADMIN_ONLY_OK: [u16; 5] = [401, 403, 403, 403, 200];
const ADMIN_ONLY_GONE: [u16; 5] = [401, 403, 403, 403, 204];
const ASSIGNEE_OK: [u16; 5] = [401, 403, 200, 403, 200];
const ASSIGNEE_ACCEPTED: [u16; 5] = [401, 403, 202, 403, 202];
const OWNER_OK: [u16; 5] = [401, 403, 403, 200, 200];
const OWNER_GONE: [u16; 5] = [401, 403, 403, 204, 204];
const ANYONE_CREATE: [u16; 5] = [401, 201, 201, 201, 201];

fn row(method: M, path: fn(&World) -> String, body: fn(&World) -> Req, expect: [u16; 5]) -> Row {
    Row {
        method,
        path,
        body,
        expect,
    }
}

fn none(_: &World) -> Req {
    Req::None
}

fn m1(w: &World) -> String {
    v1(format!("/machine/{}", w.m1.id))
}

fn eth0(w: &World) -> String {
    v1(format!("/machine/{}/interface/{}", w.m1.id, w.eth0.id))
}

fn a1(w: &World) -> String {
    v1(format!("/machine/{}/assignee/{}", w.m1.id, w.a1.id))
}

#[rustfmt::skip]
fn rows() -> Vec<Row> {
    use Req::Json;
    vec![
        // Machines.
        row(M::PUT, m1, |_| Json(json!({"kernel_opts": "quiet"})), ASSIGNEE_OK),
        row(M::PUT, m1, |w| Json(json!({"kernel_id": w.private_kernel.id.0})), [401, 403, 403, 403, 200]),
        row(M::PATCH, m1, |_| Json(json!({"bmc_info": "7"})), ADMIN_ONLY_OK),
        row(M::POST, |_| v1("/machine"), |w| Json(json!({"name": format!("new{}", w.tag), "arch": w.arm.name})), ADMIN_ONLY_CREATE),
        row(M::DELETE, m1, none, ADMIN_ONLY_GONE),
        // Interfaces.
        row(M::PUT, eth0, |_| Json(json!({"identifier": "eth9"})), ASSIGNEE_OK),
        row(M::PUT, eth0, |_| Json(json!({"config_type_v4": "static", "configured_ipv4": "auto"})), ASSIGNEE_OK),
        row(M::PUT, eth0, |w| Json(json!({"mac": mac(w.n, 0x99).to_string()})), ADMIN_ONLY_OK),
        row(M::PUT, eth0, |w| Json(json!({"network": w.spare_net.name})), ADMIN_ONLY_OK),
        row(M::POST, |w| v1(format!("/machine/{}/interface", w.m1.id)), |w| Json(json!({"mac": mac(w.n, 0x77).to_string()})), ADMIN_ONLY_CREATE),
        row(M::DELETE, eth0, none, ADMIN_ONLY_GONE),
        // Assignees.
        row(M::POST, |w| v1(format!("/machine/{}/assignee", w.m1.id)), |w| Json(json!({"user": w.dave.username})), ADMIN_ONLY_CREATE),
        row(M::PUT, a1, |_| Json(json!({"reason": "mine"})), ASSIGNEE_OK),
        row(M::DELETE, a1, none, [401, 403, 204, 403, 204]),
        // `self` names the caller's own assignment: others have none here.
        row(M::PUT, |w| v1(format!("/machine/{}/assignee/self", w.m1.id)), |_| Json(json!({"reason": "x"})), [401, 404, 200, 404, 404]),
        row(M::DELETE, |w| v1(format!("/machine/{}/assignee/self", w.m1.id)), none, [401, 404, 204, 404, 404]),
        // Operating the machine.
        row(M::POST, |w| v1(format!("/machine/{}/power", w.m1.id)), |_| Json(json!({"state": "on"})), ASSIGNEE_ACCEPTED),
        row(M::POST, |w| v1(format!("/machine/{}/power", w.m1.id)), |_| Json(json!({"state": "pxe_reboot"})), ASSIGNEE_ACCEPTED),
        row(M::POST, |w| v1(format!("/machine/{}/state", w.m1.id)), |_| Json(json!({"state": "provision"})), ASSIGNEE_ACCEPTED),
        row(M::PUT, |w| v1(format!("/machine/{}/state", w.m1.id)), |_| Json(json!({"state": "ready"})), ASSIGNEE_OK),
        row(M::POST, |w| v1(format!("/machine/{}/console", w.m1.id)), none, ASSIGNEE_OK),
        row(M::GET, |w| v1(format!("/machine/{}/event", w.m1.id)), none, ASSIGNEE_OK),
        row(M::POST, |_| v1("/machine/reservation"), |w| Json(json!({"query": format!("(= name \"m2{}\")", w.tag)})), [401, 200, 200, 200, 200]),
        // Images.
        row(M::POST, |_| v1("/image"), |_| Req::Upload, ANYONE_CREATE),
        row(M::GET, |w| v1(format!("/image/{}", w.private_kernel.id)), none, OWNER_OK),
        row(M::PUT, |w| v1(format!("/image/{}", w.private_kernel.id)), |_| Json(json!({"description": "x"})), OWNER_OK),
        // Public is not enough to change or delete.
        row(M::PUT, |w| v1(format!("/image/{}", w.kernel.id)), |_| Json(json!({"public": false})), OWNER_OK),
        row(M::DELETE, |w| v1(format!("/image/{}", w.private_kernel.id)), none, OWNER_GONE),
        // Installer configs.
        row(M::POST, |_| v1("/preseed"), |w| Json(json!({"name": format!("new{}", w.tag), "type": "preseed"})), ANYONE_CREATE),
        row(M::GET, |w| v1(format!("/preseed/{}", w.private_preseed.id)), none, OWNER_OK),
        row(M::PUT, |w| v1(format!("/preseed/{}", w.private_preseed.id)), |_| Json(json!({"content": "x"})), OWNER_OK),
        row(M::PUT, |w| v1(format!("/preseed/{}", w.preseed.id)), |_| Json(json!({"public": false})), OWNER_OK),
        row(M::DELETE, |w| v1(format!("/preseed/{}", w.private_preseed.id)), none, OWNER_GONE),
        // Users.
        row(M::POST, |_| v1("/user"), |w| Json(json!({"username": format!("new{}", w.tag)})), ADMIN_ONLY_CREATE),
        row(M::GET, |w| v1(format!("/user/{}", w.dave.id)), none, ADMIN_ONLY_OK),
        row(M::PUT, |w| v1(format!("/user/{}", w.dave.id)), |_| Json(json!({"email": "d@example.org"})), ADMIN_ONLY_OK),
        row(M::PUT, |_| v1("/user/self"), |_| Json(json!({"ssh_key": "ssh-ed25519 AAAA"})), [401, 200, 200, 200, 200]),
        row(M::PUT, |_| v1("/user/self"), |_| Json(json!({"admin": true})), ADMIN_ONLY_OK),
        row(M::DELETE, |w| v1(format!("/user/{}", w.dave.id)), none, ADMIN_ONLY_GONE),
        row(M::PUT, |w| v1(format!("/user/{}/password", w.dave.id)), |_| Json(json!({"password": "long enough"})), ADMIN_ONLY_GONE),
        // Tokens: someone else's is hidden (404).
        row(M::POST, |_| v1("/token"), |_| Json(json!({"description": "x"})), ANYONE_CREATE),
        row(M::DELETE, |w| v1(format!("/token/{}", w.carol_token)), none, [401, 404, 404, 204, 204]),
        // BMCs.
        row(M::GET, |_| v1("/bmc"), none, ADMIN_ONLY_OK),
        row(M::POST, |_| v1("/bmc"), |w| Json(json!({"name": format!("b{}", w.tag), "address": format!("new{}.bmc.lab", w.n), "type": "sim"})), ADMIN_ONLY_CREATE),
        row(M::PUT, |w| v1(format!("/bmc/{}", w.spare_bmc.id)), |_| Json(json!({"password": "new"})), ADMIN_ONLY_OK),
        row(M::DELETE, |w| v1(format!("/bmc/{}", w.spare_bmc.id)), none, ADMIN_ONLY_GONE),
        // Archs and subarchs.
        row(M::POST, |_| v1("/arch"), |w| Json(json!({"name": format!("ppc{}", w.tag)})), ADMIN_ONLY_CREATE),
        row(M::PUT, |w| v1(format!("/arch/{}", w.spare_arch.id)), |_| Json(json!({"description": "d"})), ADMIN_ONLY_OK),
        row(M::DELETE, |w| v1(format!("/arch/{}", w.spare_arch.id)), none, ADMIN_ONLY_GONE),
        row(M::POST, |w| v1(format!("/arch/{}/subarch", w.arm.id)), |_| Json(json!({"name": "newsub"})), ADMIN_ONLY_CREATE),
        row(M::PUT, |w| v1(format!("/subarch/{}", w.spare_subarch.id)), |_| Json(json!({"efiboot": true})), ADMIN_ONLY_OK),
        row(M::DELETE, |w| v1(format!("/subarch/{}", w.spare_subarch.id)), none, ADMIN_ONLY_GONE),
        // Networks.
        row(M::POST, |_| v1("/network"), |w| Json(json!({"name": format!("net{}", w.tag), "subnet": format!("10.{}.{}.0/24", 64 + (w.n >> 8), w.n & 0xff)})), ADMIN_ONLY_CREATE),
        row(M::PUT, |w| v1(format!("/network/{}", w.spare_net.id)), |w| Json(json!({"name": format!("renamed{}", w.tag)})), ADMIN_ONLY_OK),
        row(M::DELETE, |w| v1(format!("/network/{}", w.spare_net.id)), none, ADMIN_ONLY_GONE),
        // Discovered MACs, audit.
        row(M::GET, |_| v1("/discovered"), none, ADMIN_ONLY_OK),
        // The stock-Kea integration (not configured here: a sync is refused as such).
        row(M::GET, |_| v1("/dhcp/kea"), none, ADMIN_ONLY_OK),
        row(M::POST, |_| v1("/dhcp/kea/sync"), none, [401, 403, 403, 403, 400]),
        row(M::DELETE, |w| v1(format!("/discovered/{}", w.discovered.id)), none, ADMIN_ONLY_GONE),
        row(M::POST, |w| v1(format!("/discovered/{}/machine", w.discovered.id)), |w| Json(json!({"name": format!("adopted{}", w.tag), "arch": w.arm.name})), ADMIN_ONLY_CREATE),
        row(M::GET, |_| v1("/audit"), none, ADMIN_ONLY_OK),
    ]
}

/// What a world holds, plus how many rows every table and the TFTP root have.
async fn world_state(s: &TestServer, w: &World) -> String {
    use secrecy::ExposeSecret;
    let st = s.store.as_ref();
    let mut out = String::new();
    for u in [&w.admin, &w.alice, &w.bob, &w.carol, &w.dave] {
        let _ = writeln!(out, "{:?}", st.user_get(u.id).await);
        let _ = writeln!(out, "{:?}", st.user_password_hash(u.id).await);
        if let Ok(tokens) = st.token_list(u.id).await {
            for mut t in tokens {
                t.last_used_at = None;
                let _ = writeln!(out, "{t:?}");
            }
        }
    }
    for m in [w.m1.id, w.m2.id] {
        let _ = writeln!(out, "{:?}", st.machine_get(m).await);
        let _ = writeln!(out, "{:?}", st.interface_list_for_machine(m).await);
        let _ = writeln!(out, "{:?}", st.assignment_list_for_machine(m).await);
        let _ = writeln!(
            out,
            "{:?}",
            st.event_list(
                m,
                Page {
                    before: None,
                    limit: 500
                }
            )
            .await
        );
    }
    for i in [&w.bootloader, &w.kernel, &w.initrd, &w.private_kernel] {
        let _ = writeln!(out, "{:?}", st.image_get(i.id).await);
    }
    for p in [&w.preseed, &w.private_preseed] {
        let _ = writeln!(out, "{:?}", st.preseed_get(p.id).await);
    }
    for a in [&w.arm, &w.spare_arch] {
        let _ = writeln!(out, "{:?}", st.arch_get(a.id).await);
        let _ = writeln!(out, "{:?}", st.subarch_list(Some(a.id)).await);
    }
    for b in [&w.sim_bmc, &w.spare_bmc] {
        let bmc = st.bmc_get(b.id).await;
        let password = bmc.as_ref().map(|b| b.password.expose_secret().to_string());
        let _ = writeln!(out, "{bmc:?} {password:?}");
    }
    for n in [&w.net, &w.spare_net] {
        let _ = writeln!(out, "{:?}", st.network_get(n.id).await);
    }
    let _ = writeln!(out, "{:?}", st.discovered_mac_get(w.discovered.id).await);
    let counts = [
        st.user_list().await.unwrap().len(),
        st.bmc_list().await.unwrap().len(),
        st.arch_list().await.unwrap().len(),
        st.subarch_list(None).await.unwrap().len(),
        st.image_list(Visibility::All).await.unwrap().len(),
        st.preseed_list(Visibility::All).await.unwrap().len(),
        st.network_list().await.unwrap().len(),
        st.machine_list(&MachineListQuery::default())
            .await
            .unwrap()
            .len(),
        st.discovered_mac_list().await.unwrap().len(),
        st.lease_list().await.unwrap().len(),
        mr_provisioner_tests::files_under(&s.tftp_root()).len(),
    ];
    let audit = st
        .audit_list(Page {
            before: None,
            limit: 1,
        })
        .await
        .unwrap();
    let _ = writeln!(
        out,
        "counts {counts:?} audit {:?}",
        audit.first().map(|a| a.id)
    );
    out
}

async fn send(s: &TestServer, w: &World, r: &Row, role: Role) -> Reply {
    let path = (r.path)(w);
    let tok = token(w, role);
    match (r.body)(w) {
        Req::None => s.call(r.method.clone(), &path, tok, None).await,
        Req::Json(v) => {
            s.call(r.method.clone(), &path, tok, Some(&v.to_string()))
                .await
        }
        Req::Upload => {
            let q = format!(r#"{{"type": "Kernel", "arch": "{}"}}"#, w.arm.name);
            let form = reqwest::multipart::Form::new().text("q", q).part(
                "file",
                reqwest::multipart::Part::bytes(b"kernel".to_vec()).file_name("vmlinuz"),
            );
            let mut req = s.client.post(s.url(&path)).multipart(form);
            if let Some(t) = tok {
                req = req.header("Authorization", t);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let text = resp.text().await.unwrap();
            let json = serde_json::from_str(&text).unwrap_or(Value::Null);
            Reply {
                status,
                headers,
                text,
                json,
            }
        }
    }
}

/// Runs the rows `i` with `i % of == chunk` on a fresh server on `backend`.
async fn run_chunk(backend: TestBackend, chunk: usize, of: usize) {
    let Some(s) = TestServer::start(backend).await else {
        return;
    };
    let mut failures = Vec::new();
    let mut n: u16 = 0;
    let mut cells = 0;
    for (i, r) in rows().iter().enumerate().filter(|(i, _)| i % of == chunk) {
        let mut world: Option<(World, String)> = None;
        for (k, role) in ROLES.iter().enumerate() {
            let (w, before) = match world.take() {
                Some(x) => x,
                None => {
                    n += 1;
                    let w = World::build_tagged(&s, n).await;
                    let state = world_state(&s, &w).await;
                    (w, state)
                }
            };
            cells += 1;
            let reply = send(&s, &w, r, *role).await;
            let want = r.expect[k];
            let cell = format!("row {i} {} {} as {role:?}", r.method, (r.path)(&w));
            if reply.status != want {
                failures.push(format!(
                    "{cell}: {} (want {want}): {}",
                    reply.status, reply.text
                ));
                continue;
            }
            if want >= 400 {
                let envelope = std::panic::catch_unwind(|| reply.assert_envelope());
                if envelope.is_err() {
                    failures.push(format!("{cell}: not the JSON envelope: {}", reply.text));
                }
                let after = world_state(&s, &w).await;
                if after != before {
                    failures.push(format!(
                        "{cell}: refused ({want}) but changed data:\n{before}\n---\n{after}"
                    ));
                    continue;
                }
                world = Some((w, after));
            }
        }
    }
    assert!(cells > 0);
    s.finish().await;
    assert!(
        failures.is_empty(),
        "{} of {cells} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

macro_rules! chunks {
    ($of:expr; $($name:ident = $chunk:expr),*) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::run_chunk(mr_provisioner_core::testing::TestBackend::Sqlite, $chunk, $of).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::run_chunk(mr_provisioner_core::testing::TestBackend::Postgres, $chunk, $of).await;
            }
        }
    )*};
}

chunks!(4; chunk0 = 0, chunk1 = 1, chunk2 = 2, chunk3 = 3);

/// Every route that changes something, as `METHOD /path` with `:id` for every parameter.
const MUTATING: &[&str] = &[
    "POST /machine",
    "POST /machine/reservation",
    "PUT /machine/:id",
    "PATCH /machine/:id",
    "DELETE /machine/:id",
    "POST /machine/:id/interface",
    "PUT /machine/:id/interface/:id",
    "DELETE /machine/:id/interface/:id",
    "POST /machine/:id/assignee",
    "PUT /machine/:id/assignee/:id",
    "DELETE /machine/:id/assignee/:id",
    "POST /machine/:id/power",
    "POST /machine/:id/state",
    "PUT /machine/:id/state",
    "POST /machine/:id/console",
    "POST /image",
    "PUT /image/:id",
    "DELETE /image/:id",
    "POST /preseed",
    "PUT /preseed/:id",
    "DELETE /preseed/:id",
    "POST /user",
    "PUT /user/:id",
    "DELETE /user/:id",
    "PUT /user/:id/password",
    "POST /token",
    "DELETE /token/:id",
    "POST /bmc",
    "PUT /bmc/:id",
    "DELETE /bmc/:id",
    "POST /arch",
    "PUT /arch/:id",
    "DELETE /arch/:id",
    "POST /arch/:id/subarch",
    "PUT /subarch/:id",
    "DELETE /subarch/:id",
    "POST /network",
    "PUT /network/:id",
    "DELETE /network/:id",
    "DELETE /discovered/:id",
    "POST /discovered/:id/machine",
    "POST /dhcp/kea/sync",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matrix_covers_every_mutating_route() {
    let s = TestServer::start(TestBackend::Sqlite).await.unwrap();
    let w = World::build_tagged(&s, 1).await;
    let covered: std::collections::BTreeSet<String> = rows()
        .iter()
        .map(|r| {
            let path = (r.path)(&w);
            let template: Vec<&str> = path
                .trim_start_matches("/api/v1")
                .split('/')
                .map(|seg| {
                    if seg == "self" || (!seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()))
                    {
                        ":id"
                    } else {
                        seg
                    }
                })
                .collect();
            format!("{} {}", r.method, template.join("/"))
        })
        .collect();
    let missing: Vec<&&str> = MUTATING.iter().filter(|m| !covered.contains(**m)).collect();
    assert!(missing.is_empty(), "routes without a row: {missing:?}");
    s.finish().await;
}
