//! Background tasks, in one `JoinSet` stopped by one cancellation token: releasing ended
//! reservations, purging old machine events and expired console tokens, and keeping Kea's
//! databases in step (when `[kea]` is configured).

use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// How often old events and expired console tokens are purged.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(3600);

/// Starts the background tasks. Each runs until `stop` is cancelled. They are safe to run on
/// several servers sharing one database.
pub fn spawn(state: AppState, stop: CancellationToken) -> JoinSet<()> {
    let mut set = JoinSet::new();
    let every = Duration::from_secs(state.config.reservations.expiry_check_secs);
    set.spawn(repeat("reservation expiry", every, stop.clone(), {
        let state = state.clone();
        move || {
            let state = state.clone();
            async move {
                let released = state
                    .provisioner
                    .release_expired(mr_provisioner_core::model::now())
                    .await?;
                if released > 0 {
                    tracing::info!(released, "released ended reservations");
                }
                Ok(())
            }
        }
    }));
    if let Some(kea) = kea_task(&state) {
        let stop = stop.clone();
        set.spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = kea => {}
            }
        });
    }
    set.spawn(repeat(
        "housekeeping",
        HOUSEKEEPING_EVERY,
        stop,
        move || {
            let state = state.clone();
            async move { housekeeping(&state).await }
        },
    ));
    set
}

/// The Kea task when `[kea]` is configured: a pass at once, after each change reported
/// through the API and every `kea.check_interval_secs`; it runs until dropped.
pub fn kea_task(state: &AppState) -> Option<impl Future<Output = ()> + Send + 'static> {
    let kea = state.kea.clone()?;
    let status = kea.status();
    tracing::info!(
        hosts = status.hosts_database.as_deref().unwrap_or("-"),
        leases = status.leases_database.as_deref().unwrap_or("-"),
        "keeping Kea's databases in step"
    );
    Some(kea.run((*state.provisioner).clone()))
}

/// Deletes events past their retention and console tokens past their expiry.
pub async fn housekeeping(state: &AppState) -> mr_provisioner_core::Result<()> {
    let now = mr_provisioner_core::model::now();
    let days = state.config.events.retention_days;
    if days > 0 {
        let cutoff =
            now - chrono::TimeDelta::days(i64::try_from(days).unwrap_or(i64::MAX / 86_400_000));
        let purged = state.store().event_purge(cutoff).await?;
        if purged > 0 {
            tracing::info!(purged, "purged old machine events");
        }
    }
    state.store().console_token_purge(now).await?;
    Ok(())
}

/// Runs `job` now and then every `every` until `stop`; failures are logged and retried on
/// the next round.
async fn repeat<F, Fut>(name: &'static str, every: Duration, stop: CancellationToken, job: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = mr_provisioner_core::Result<()>>,
{
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if let Err(error) = job().await {
            tracing::warn!(task = name, %error, "background task failed; retrying later");
        }
    }
}
