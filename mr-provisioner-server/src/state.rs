//! The state every request handler shares.

use std::sync::Arc;

use mr_provisioner_core::files::ImageFiles;
use mr_provisioner_core::kea::{KeaSettings, KeaSync};
use std::time::Duration;

use mr_provisioner_core::service::{
    BmcConnector, ConnectorSettings, DefaultConnector, Provisioner, Settings,
};
use mr_provisioner_core::store::Store;

use crate::config::Config;
use mr_provisioner_netboot::render::{JinjaRenderer, NetbootRenderer, RenderError};

/// How the BMC connector is set up by `config`.
pub fn connector_settings(config: &Config) -> ConnectorSettings {
    ConnectorSettings {
        ipmitool: config.tools.ipmitool.clone(),
        deadline: Duration::from_secs(config.bmc.deadline_secs),
        max_in_flight: config.bmc.max_in_flight as usize,
        status_ttl: Duration::from_secs(config.bmc.status_cache_secs),
    }
}

/// The boot-config renderer `config` asks for: `None` for the built-in templates, else
/// those of `files.netboot_templates_dir` over them (each checked now).
pub fn renderer(config: &Config) -> Result<Option<Arc<dyn NetbootRenderer>>, RenderError> {
    let dir = &config.files.netboot_templates_dir;
    if dir.as_os_str().is_empty() {
        return Ok(None);
    }
    Ok(Some(Arc::new(JinjaRenderer::with_overrides(dir)?)))
}

/// What handlers need: the use-cases (with the store) and the configuration. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The use-cases.
    pub provisioner: Arc<Provisioner>,
    /// The configuration in effect.
    pub config: Arc<Config>,
    /// Recently authenticated API tokens.
    pub(crate) auth_cache: Arc<crate::api::auth_cache::AuthCache>,
    /// Stock Kea's databases kept in step (`[kea]`), when configured. Its task is started
    /// by [`crate::tasks::spawn`].
    pub kea: Option<Arc<KeaSync>>,
}

impl AppState {
    /// The state for `config` over `store`, with the default BMC connector set up from it.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        let connector = DefaultConnector::with_settings(connector_settings(&config));
        Self::with_connector(store, Arc::new(connector), config)
    }

    /// The same with a given BMC connector (tests use it to reach simulated BMCs).
    pub fn with_connector(
        store: Arc<dyn Store>,
        bmcs: Arc<dyn BmcConnector>,
        config: Config,
    ) -> Self {
        let public_url = config.http.public_url.trim_end_matches('/').to_string();
        let settings = Settings {
            console_ext_host: config.console.ext_host.clone(),
            console_ext_port: config.console.ext_port,
            max_upload_size: config.files.max_upload_size,
            power_off_on_expiry: config.reservations.power_off_on_expiry,
            public_url,
            preseed_dns: config.provisioning.preseed_dns.clone(),
            next_server: config.dhcp.next_server.clone(),
            default_bootfile: config.dhcp.default_bootfile.clone(),
            dhcp_answer_max_age: Duration::from_millis(config.dhcp.answer_cache_ms),
            ..Settings::default()
        };
        let mut provisioner =
            Provisioner::new(store, bmcs, ImageFiles::new(config.tftp_root()), settings);
        match renderer(&config) {
            Ok(Some(r)) => provisioner = provisioner.with_renderer(r),
            Ok(None) => {}
            // `serve` checks the templates before it builds the state; this is a directory
            // that changed since.
            Err(error) => {
                tracing::error!(%error, "netboot templates: using the built-in ones");
            }
        }
        let kea = kea_settings(&config)
            .map(KeaSync::new)
            .transpose()
            .unwrap_or_else(|error| {
                // The configuration check refuses such URLs before the state is built.
                tracing::error!(%error, "Kea integration off");
                None
            });
        AppState {
            provisioner: Arc::new(provisioner),
            config: Arc::new(config),
            auth_cache: Arc::default(),
            kea,
        }
    }

    /// Reports a change that may alter DHCP answers and Kea's host reservations (any
    /// successful change through the API): the hook's recent answers are forgotten and the
    /// Kea task makes a pass now rather than at its next check.
    pub fn changed(&self) {
        self.provisioner.dhcp_changed();
        if let Some(kea) = &self.kea {
            kea.poke();
        }
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.provisioner.store.as_ref()
    }
}

/// The `[kea]` settings, or `None` when neither of Kea's databases is configured.
pub fn kea_settings(config: &Config) -> Option<KeaSettings> {
    let k = &config.kea;
    let settings = KeaSettings {
        hosts_url: k.hosts_database_url.clone(),
        leases_url: k.leases_database_url.clone(),
        check_interval: Duration::from_secs(k.check_interval_secs.max(1)),
        timeout: Duration::from_secs(k.connect_timeout_secs.max(1)),
        http_boot: k.http_boot,
    };
    settings.enabled().then_some(settings)
}
