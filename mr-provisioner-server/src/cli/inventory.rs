//! `inventory apply`.

use std::path::Path;

use anyhow::Context;
use mr_provisioner_core::inventory::{self, Inventory};
use mr_provisioner_server::config::Config;

use super::accounts::audit;
use super::database::open_current;

/// Applies an inventory file and prints what changed.
pub(crate) async fn apply(config: &Config, file: &Path, dry_run: bool) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the inventory {}", file.display()))?;
    let inv = Inventory::parse(&text).with_context(|| format!("{}", file.display()))?;
    let store = open_current(config).await?;
    let report = inventory::apply(&store, &inv, dry_run)
        .await
        .with_context(|| format!("{}: nothing was changed", file.display()))?;
    if report.changed() && !dry_run {
        let total = report.total();
        audit(
            &store,
            "inventory.apply",
            "inventory",
            None,
            serde_json::json!({
                "file": file.display().to_string(),
                "created": total.created,
                "updated": total.updated,
                "unchanged": total.unchanged,
            }),
        )
        .await?;
    }
    store.close().await?;
    if dry_run {
        println!("dry run: nothing was changed; applying would give:");
    }
    println!("{report}");
    Ok(())
}
