//! The boot lab left running for a person to explore: one BIOS and one UEFI guest, their
//! `ipmi_sim` BMCs, stock Kea and `mr-provisioner serve` in a network namespace, the server's
//! HTTP on a port of this host. Run it through `tests/lab/demo.sh` (as root); Ctrl-C stops
//! it and removes everything it made.

use std::time::Duration;

use anyhow::{Context, bail};
use mr_provisioner_tests::boot_lab::world::{self, Booted, World};
use mr_provisioner_tests::boot_lab::{self, Firmware, LabOptions};
use reqwest::Method;
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if let Some(why) = boot_lab::missing() {
        bail!("{why}");
    }
    let port: u16 = std::env::var("MRP_DEMO_PORT")
        .ok()
        .map(|p| p.parse())
        .transpose()
        .context("MRP_DEMO_PORT is not a port")?
        .unwrap_or(5000);
    let password = std::env::var("MRP_DEMO_ADMIN_PASSWORD")
        .unwrap_or_else(|_| "demo-admin-password".to_string());
    let postgres_url = std::env::var("MRP_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        bail!("port {port} of 127.0.0.1 is taken: set MRP_DEMO_PORT to a free one");
    }
    println!(
        "starting the lab (the first start downloads a kernel package and builds the server)..."
    );
    let w = world::set_up(LabOptions {
        cache: boot_lab::default_cache(),
        server_bin: boot_lab::server_binary(),
        postgres_url,
        host_port: port,
        admin_password: password.clone(),
        kea_interval_secs: 2,
    })
    .await;
    let bios = ready(&w, "demo-bios", Firmware::Bios).await?;
    let uefi = ready(&w, "demo-uefi", Firmware::Uefi).await?;
    let api = &w.lab.api;
    println!(
        "\nThe boot lab is up.\n\
         \n  server:        {api}   (API docs: {api}/api/v1/docs)\
         \n  administrator: admin / {password}\
         \n  admin token:   {admin}\
         \n  server log:    {dir}/server.log\n",
        admin = w.lab.admin_token,
        dir = w.lab.dir().display(),
    );
    for m in [&bios, &uefi] {
        println!(
            "  {name} (machine {id}, engineer {user}, MAC {mac}, {ip}):\
             \n    TOKEN={token}\
             \n    curl -s -X POST -H \"Authorization: $TOKEN\" -d '{{\"state\":\"pxe_reboot\"}}' {api}/api/v1/machine/{id}/power\
             \n    curl -s -H \"Authorization: $TOKEN\" {api}/api/v1/machine/{id}/event\
             \n    serial console log: {serial}\n",
            name = m.guest.name,
            id = m.machine_id,
            user = m.username,
            mac = m.guest.mac,
            ip = m.ip,
            token = m.token,
            serial = m.guest.serial_path().display(),
        );
    }
    println!("Both guests are booting now; each prints its marker and powers off.");
    println!("Press Ctrl-C (or send SIGTERM) to stop: everything the lab made is removed.");
    for m in [&bios, &uefi] {
        let r = w
            .call(
                Method::POST,
                &format!("/api/v1/machine/{}/power", m.machine_id),
                &m.token,
                Some(json!({"state": "pxe_reboot"})),
            )
            .await;
        if r.status != 202 {
            eprintln!(
                "{}: pxe_reboot answered {} {}",
                m.guest.name, r.status, r.text
            );
        }
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    println!("\nstopping the lab...");
    drop((bios, uefi));
    tokio::time::sleep(Duration::from_millis(100)).await;
    w.lab.stop();
    println!("stopped; everything the lab made is gone.");
    Ok(())
}

/// A machine for `name` with the lab's kernel and initrd, netboot on, ready to PXE-boot.
async fn ready(w: &World, name: &str, firmware: Firmware) -> anyhow::Result<Booted> {
    let m = w.machine(name, firmware).await;
    w.choose_images(&m, "console=ttyS0,115200", None).await;
    Ok(m)
}
