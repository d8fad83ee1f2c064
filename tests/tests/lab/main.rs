//! Real machines booted through our server: QEMU guests (TCG) powered by `ipmi_sim` BMCs,
//! DHCP from stock Kea reading the reservations we write, every file from our TFTP and HTTP.
//! Driven only through the public interfaces: the admin REST API for the set-up, the v1 API
//! as an engineer for the rest. One lab for the whole binary (see `boot_lab`); each scenario
//! has guests of its own, so scenarios run at once.
//!
//! Needs root and the lab's packages (docs/development.md); skips without them unless
//! `MRP_TEST_REQUIRE_ALL` is set.

mod scenarios;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mr_provisioner_core::testing::{POSTGRES_ENV, skip};
use mr_provisioner_tests::boot_lab::world::{self, World};
use mr_provisioner_tests::boot_lab::{self, LabOptions};

static WORLD: OnceLock<Option<World>> = OnceLock::new();

/// The shared lab, started by the first scenario (in a thread of its own, whose runtime only
/// builds it); `None` after [`skip`] when this machine cannot run it.
pub fn world() -> Option<&'static World> {
    WORLD
        .get_or_init(|| {
            if let Some(why) = boot_lab::missing() {
                skip(&why);
                return None;
            }
            std::thread::spawn(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(set_up())
            })
            .join()
            .map_err(|_| "the lab did not start")
            .unwrap()
        })
        .as_ref()
}

async fn set_up() -> Option<World> {
    let postgres_url = std::env::var(POSTGRES_ENV)
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    Some(
        world::set_up(LabOptions {
            cache: boot_lab::default_cache(),
            server_bin: boot_lab::server_binary(),
            postgres_url,
            host_port: 0,
            admin_password: "lab admin password".into(),
            kea_interval_secs: 1,
        })
        .await,
    )
}

/// Runs a scenario in the shared lab, within `limit`.
pub fn scenario<F, Fut>(name: &str, limit: Duration, f: F)
where
    F: FnOnce(&'static World) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let Some(w) = world() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        if tokio::time::timeout(limit, f(w)).await.is_err() {
            panic!("scenario {name} did not end within {limit:?}");
        }
    });
}

/// Prints a step's time since `start` (the scenario's record of where the time went).
pub fn step(scenario: &str, what: &str, start: Instant) -> f64 {
    let secs = start.elapsed().as_secs_f64();
    eprintln!("[{scenario}] {secs:6.1} s  {what}");
    secs
}
