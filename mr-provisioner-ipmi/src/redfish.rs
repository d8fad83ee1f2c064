//! `RedfishBmc`: the DMTF Redfish driver, over HTTPS (or HTTP) with HTTP Basic auth.
//!
//! # Requests
//!
//! - The system is found once: the configured id (`/redfish/v1/Systems/<id>`, or an
//!   `@odata.id` path when it starts with `/`), else the first member of
//!   `/redfish/v1/Systems`. Its first GET is cached: the system's `@odata.id`, the reset
//!   action's target and `ResetType@Redfish.AllowableValues`, and whether it advertises
//!   `Boot.BootSourceOverrideMode`. A failed discovery is not cached; the next call retries.
//! - `power_status` GETs the system and reads `PowerState`: `On` and `PoweringOn` (and
//!   `Paused`, a powered machine) are [`PowerState::On`]; `Off` and `PoweringOff` are
//!   [`PowerState::Off`]. A transition in progress thus reads as the state it is heading for,
//!   so a caller polling for the result of `power(On)` stops at `PoweringOn`, as it would at
//!   IPMI's "power is on".
//! - `power` POSTs `{"ResetType": …}` to the system's `Actions."#ComputerSystem.Reset".target`
//!   (default `<system>/Actions/ComputerSystem.Reset`): `On` → `On`, `Off` → `ForceOff`,
//!   `Cycle` → `PowerCycle`, `Reset` → `ForceRestart`, `Soft` → `GracefulShutdown`. When the
//!   system lists its allowable reset types and the preferred one is missing, `Cycle` falls
//!   back to `ForceRestart` and `On` to `ForceOn`; otherwise the preferred value is sent and
//!   the BMC judges it. Any 2xx (200, 202 with a task, 204) counts as accepted.
//! - `set_boot_device` PATCHes the system with `Boot.BootSourceOverrideTarget` (`Pxe`, `Hdd`,
//!   `BiosSetup`) and `BootSourceOverrideEnabled: Once`, plus `BootSourceOverrideMode`
//!   (`UEFI` when `efi`, else `Legacy`) only when the system advertises that property and,
//!   if it lists allowable modes, the wanted one is among them. A BMC answering 428
//!   (Precondition Required) gets the PATCH again with `If-Match` set to the system's ETag.
//! - `sol_deactivate` succeeds without a request: Redfish has no Serial-over-LAN session to
//!   end (consoles are reached through the manager's own services, if at all).
//!
//! # Errors
//!
//! Each call, discovery included, is bounded by the deadline given to [`RedfishBmc::new`]:
//! past it, [`BmcError::Timeout`]. 401 and 403 are [`BmcError::Auth`]; connection failures
//! (refused, no route, reset before an answer) are [`BmcError::Unreachable`]; other non-2xx
//! answers are [`BmcError::Failed`] carrying the status and the Redfish message
//! (`error.message` and `@Message.ExtendedInfo[].Message`). A rejected TLS certificate is
//! [`BmcError::Failed`] too, since retrying cannot help: pass `accept_invalid_certs` for a
//! BMC with a self-signed certificate. Messages never contain the password: it travels only
//! in the `Authorization` header, and a BMC message quoting it (one of 4 characters or more)
//! has it replaced by `<redacted>`.
//!
//! Redirects are followed only within the BMC's own origin (at most five), so credentials
//! are never sent elsewhere. Environment proxies are ignored: BMCs live on management
//! networks that are reached directly.

#[cfg(test)]
mod tests;

use std::error::Error as StdError;
use std::fmt;
use std::net::Ipv6Addr;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{ACCEPT, ETAG, IF_MATCH, LOCATION};
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::{Bmc, BmcError, BootDevice, PowerAction, PowerState};

/// The collection of computer systems every Redfish service exposes.
const SYSTEMS_PATH: &str = "/redfish/v1/Systems";

/// The longest BMC message kept in an error, in characters.
const MAX_MESSAGE_CHARS: usize = 400;

/// The shortest password removed from error messages, in characters.
const MIN_REDACTED_CHARS: usize = 4;

/// A BMC driven through the Redfish REST API.
///
/// Cheap to share behind an `Arc<dyn Bmc>`; it holds one HTTP client (with its connection
/// pool) and the system discovered on first use.
pub struct RedfishBmc {
    client: reqwest::Client,
    base: Url,
    username: String,
    password: SecretString,
    system: Option<String>,
    deadline: Duration,
    info: OnceCell<SystemInfo>,
}

/// What the first GET of the system taught us.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SystemInfo {
    /// The system's `@odata.id`.
    path: String,
    /// Where `ComputerSystem.Reset` is POSTed.
    reset_target: String,
    /// `ResetType@Redfish.AllowableValues`, when listed (and not empty).
    reset_types: Option<Vec<String>>,
    /// Whether `Boot.BootSourceOverrideMode` is present.
    boot_mode: bool,
    /// `Boot.BootSourceOverrideMode@Redfish.AllowableValues`, when listed (and not empty).
    boot_modes: Option<Vec<String>>,
}

impl fmt::Debug for RedfishBmc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedfishBmc")
            .field("base", &self.base.as_str())
            .field("username", &self.username)
            .field("system", &self.system)
            .field("deadline", &self.deadline)
            .field("discovered", &self.info.get().map(|i| i.path.as_str()))
            .finish_non_exhaustive()
    }
}

impl RedfishBmc {
    /// A driver for the Redfish service at `base_url` (`https://10.0.0.5`,
    /// `http://127.0.0.1:8000`; see [`redfish_base_url`]), logging in as `username`.
    ///
    /// `system` is the id of the computer system to drive (its last path segment, or its full
    /// `@odata.id`); `None` takes the first member of `/redfish/v1/Systems`. `deadline`
    /// bounds each call. `accept_invalid_certs` skips TLS certificate verification, for BMCs
    /// with self-signed certificates; otherwise the platform's trust store decides.
    ///
    /// Makes no request: the BMC is first contacted by the first call. Fails with
    /// [`BmcError::Failed`] when the URL is not an `http`/`https` URL with a host, or carries
    /// credentials of its own.
    pub fn new(
        base_url: &str,
        username: &str,
        password: SecretString,
        system: Option<String>,
        deadline: Duration,
        accept_invalid_certs: bool,
    ) -> Result<Self, BmcError> {
        let base = parse_base_url(base_url)?;
        if let Some(id) = &system
            && id.trim().is_empty()
        {
            return Err(failed("the Redfish system id is empty"));
        }
        let origin = base.origin();
        let client = reqwest::Client::builder()
            .tls_danger_accept_invalid_certs(accept_invalid_certs)
            .timeout(deadline)
            .connect_timeout(deadline)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() > 5 {
                    attempt.error("too many redirects")
                } else if attempt.url().origin() == origin {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .user_agent(concat!("mr-provisioner/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| failed(format!("cannot build the HTTP client: {}", error_chain(&e))))?;
        Ok(RedfishBmc {
            client,
            base,
            username: username.to_string(),
            password,
            system,
            deadline,
            info: OnceCell::new(),
        })
    }

    /// The service this driver talks to, as given to [`RedfishBmc::new`] (normalised).
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// The discovered system's `@odata.id`, once a call has found it.
    pub fn system_path(&self) -> Option<&str> {
        self.info.get().map(|i| i.path.as_str())
    }

    /// Runs one call under the deadline.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, BmcError>>,
    ) -> Result<T, BmcError> {
        tokio::time::timeout(self.deadline, call)
            .await
            .unwrap_or_else(|_| Err(self.timeout()))
    }

    fn timeout(&self) -> BmcError {
        BmcError::Timeout {
            after_ms: u64::try_from(self.deadline.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// The cached system, discovering it on first use.
    async fn info(&self) -> Result<&SystemInfo, BmcError> {
        self.info
            .get_or_try_init(|| async { self.discover().await.map(|(info, _)| info) })
            .await
    }

    /// Finds the system and GETs it: what to cache, and the body read.
    async fn discover(&self) -> Result<(SystemInfo, Value), BmcError> {
        let path = match &self.system {
            Some(id) if id.starts_with('/') => id.clone(),
            Some(id) => self.member_path(id)?,
            None => {
                let systems = self.get_json(SYSTEMS_PATH).await?;
                first_member(&systems)?
            }
        };
        let body = self.get_json(&path).await?;
        Ok((SystemInfo::from_system(&path, &body), body))
    }

    /// `/redfish/v1/Systems/<id>`, the id percent-encoded as one path segment.
    fn member_path(&self, id: &str) -> Result<String, BmcError> {
        let mut url = self.base.clone();
        url.set_path(SYSTEMS_PATH);
        url.path_segments_mut()
            .map_err(|()| failed("the BMC URL cannot hold a path"))?
            .push(id);
        Ok(url.path().to_string())
    }

    /// An absolute URL for `path`, refusing any that leaves the BMC's origin.
    fn url(&self, path: &str) -> Result<Url, BmcError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| failed(format!("bad Redfish path {path:?}: {e}")))?;
        if url.origin() != self.base.origin() {
            return Err(failed(format!(
                "the BMC points to another host ({}); refusing to send credentials there",
                url.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }

    /// Sends one request; any 2xx is returned, anything else becomes the matching error.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<reqwest::Response, BmcError> {
        let response = self.send_raw(&method, path, body, if_match).await?;
        self.check(&method, path, response).await
    }

    /// Sends one request and returns whatever the BMC answered; only transport failures
    /// are errors.
    async fn send_raw(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<reqwest::Response, BmcError> {
        let url = self.url(path)?;
        let mut request = self
            .client
            .request(method.clone(), url)
            .basic_auth(&self.username, Some(self.password.expose_secret()))
            .header(ACCEPT, "application/json")
            .header("OData-Version", "4.0");
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(tag) = if_match {
            request = request.header(IF_MATCH, tag);
        }
        request
            .send()
            .await
            .map_err(|e| self.transport_error(method, path, &e))
    }

    /// Passes a 2xx answer through; turns any other into the matching error.
    async fn check(
        &self,
        method: &Method,
        path: &str,
        response: reqwest::Response,
    ) -> Result<reqwest::Response, BmcError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_string);
        // The status alone is worth reporting if the body cannot be read.
        let body = response.bytes().await.unwrap_or_default();
        Err(self.status_error(method, path, status, &body, location.as_deref()))
    }

    /// GETs `path` and parses its JSON body.
    async fn get_json(&self, path: &str) -> Result<Value, BmcError> {
        let (body, _) = self.get_json_with_etag(path).await?;
        Ok(body)
    }

    /// GETs `path`: its JSON body and its `ETag` header.
    async fn get_json_with_etag(&self, path: &str) -> Result<(Value, Option<String>), BmcError> {
        let response = self.send(Method::GET, path, None, None).await?;
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|t| t.to_str().ok())
            .map(str::to_string);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(&Method::GET, path, &e))?;
        let body = serde_json::from_slice(&bytes).map_err(|e| {
            self.redacted_failed(format!("GET {path}: the BMC's answer is not JSON: {e}"))
        })?;
        Ok((body, etag))
    }

    /// PATCHes `path`, retrying once with `If-Match` when the BMC demands it (428).
    async fn patch(&self, path: &str, body: &Value) -> Result<(), BmcError> {
        let method = Method::PATCH;
        let response = self.send_raw(&method, path, Some(body), None).await?;
        let status = response.status();
        let refused = match self.check(&method, path, response).await {
            Ok(_) => return Ok(()),
            Err(refused) if status == StatusCode::PRECONDITION_REQUIRED => refused,
            Err(other) => return Err(other),
        };
        let (current, etag) = self.get_json_with_etag(path).await?;
        let tag = etag.or_else(|| {
            current
                .get("@odata.etag")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        match tag {
            Some(tag) => self
                .send(method, path, Some(body), Some(&tag))
                .await
                .map(drop),
            None => Err(refused),
        }
    }

    fn transport_error(&self, method: &Method, path: &str, error: &reqwest::Error) -> BmcError {
        if error.is_timeout() {
            return self.timeout();
        }
        if let Some(tls) = tls_rejection(error) {
            return self.redacted_failed(format!(
                "{method} {path}: TLS handshake failed: {tls} (for a self-signed BMC \
                 certificate, accept invalid certificates)"
            ));
        }
        let message = self.redact(format!("{method} {path}: {}", error_chain(error)));
        if error.is_connect() || error.is_request() || error.is_body() {
            BmcError::Unreachable { message }
        } else {
            BmcError::Failed { message }
        }
    }

    fn status_error(
        &self,
        method: &Method,
        path: &str,
        status: StatusCode,
        body: &[u8],
        location: Option<&str>,
    ) -> BmcError {
        let mut message = format!("{method} {path}: HTTP {status}");
        if let Some(said) = redfish_message(body) {
            message.push_str(": ");
            message.push_str(&said);
        } else if status.is_redirection()
            && let Some(location) = location
        {
            message.push_str(&format!(
                " to {location} (another host: fix the BMC address)"
            ));
        }
        let message = self.redact(message);
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            BmcError::Auth { message }
        } else {
            BmcError::Failed { message }
        }
    }

    fn redacted_failed(&self, message: String) -> BmcError {
        BmcError::Failed {
            message: self.redact(message),
        }
    }

    /// Shortens a message and removes the password from it, should anything quote it.
    ///
    /// Passwords shorter than [`MIN_REDACTED_CHARS`] are not searched for: replacing every
    /// `a` would garble the message, and so short a secret protects little anyway.
    fn redact(&self, message: String) -> String {
        let password = self.password.expose_secret();
        let message = if password.chars().count() < MIN_REDACTED_CHARS {
            message
        } else {
            message.replace(password, "<redacted>")
        };
        truncate(message)
    }
}

#[async_trait]
impl Bmc for RedfishBmc {
    async fn power_status(&self) -> Result<PowerState, BmcError> {
        self.bounded(async {
            let system = match self.info.get() {
                Some(info) => self.get_json(&info.path).await?,
                None => {
                    let (info, body) = self.discover().await?;
                    // A concurrent call may have cached it first: same system either way.
                    let _ = self.info.set(info);
                    body
                }
            };
            power_state(&system).map_err(|m| self.redacted_failed(m))
        })
        .await
    }

    async fn power(&self, action: PowerAction) -> Result<(), BmcError> {
        self.bounded(async {
            let info = self.info().await?;
            let body = json!({ "ResetType": info.reset_type(action) });
            self.send(Method::POST, &info.reset_target, Some(&body), None)
                .await
                .map(drop)
        })
        .await
    }

    async fn set_boot_device(&self, device: BootDevice, efi: bool) -> Result<(), BmcError> {
        self.bounded(async {
            let info = self.info().await?;
            let mut boot = serde_json::Map::new();
            boot.insert(
                "BootSourceOverrideTarget".into(),
                boot_target(device).into(),
            );
            boot.insert("BootSourceOverrideEnabled".into(), "Once".into());
            if let Some(mode) = info.boot_mode(efi) {
                boot.insert("BootSourceOverrideMode".into(), mode.into());
            }
            self.patch(&info.path, &json!({ "Boot": boot })).await
        })
        .await
    }

    /// Redfish has no Serial-over-LAN session to end: succeeds without a request.
    async fn sol_deactivate(&self) -> Result<(), BmcError> {
        Ok(())
    }
}

impl SystemInfo {
    fn from_system(path: &str, system: &Value) -> SystemInfo {
        // The system's own id wins over the path we asked for (it is canonical).
        let path = system
            .get("@odata.id")
            .and_then(Value::as_str)
            .filter(|p| p.starts_with('/'))
            .unwrap_or(path)
            .trim_end_matches('/')
            .to_string();
        let reset = system.pointer("/Actions/#ComputerSystem.Reset");
        let reset_target = reset
            .and_then(|r| r.get("target"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{path}/Actions/ComputerSystem.Reset"));
        let boot = system.get("Boot");
        SystemInfo {
            reset_target,
            reset_types: string_list(
                reset.and_then(|r| r.get("ResetType@Redfish.AllowableValues")),
            ),
            boot_mode: boot.and_then(|b| b.get("BootSourceOverrideMode")).is_some(),
            boot_modes: string_list(
                boot.and_then(|b| b.get("BootSourceOverrideMode@Redfish.AllowableValues")),
            ),
            path,
        }
    }

    /// The `ResetType` for `action`: the preferred one, or the first listed fallback.
    fn reset_type(&self, action: PowerAction) -> &'static str {
        let choices: &[&'static str] = match action {
            PowerAction::On => &["On", "ForceOn"],
            PowerAction::Off => &["ForceOff"],
            PowerAction::Cycle => &["PowerCycle", "ForceRestart"],
            PowerAction::Reset => &["ForceRestart"],
            PowerAction::Soft => &["GracefulShutdown"],
        };
        let preferred = choices[0];
        match &self.reset_types {
            None => preferred,
            Some(allowed) => choices
                .iter()
                .copied()
                .find(|c| allowed.iter().any(|a| a == c))
                .unwrap_or(preferred),
        }
    }

    /// The `BootSourceOverrideMode` to send, if any.
    fn boot_mode(&self, efi: bool) -> Option<&'static str> {
        let mode = if efi { "UEFI" } else { "Legacy" };
        if !self.boot_mode {
            return None;
        }
        match &self.boot_modes {
            Some(allowed) if !allowed.iter().any(|a| a == mode) => None,
            _ => Some(mode),
        }
    }
}

/// The `BootSourceOverrideTarget` for `device`.
fn boot_target(device: BootDevice) -> &'static str {
    match device {
        BootDevice::Pxe => "Pxe",
        BootDevice::Disk => "Hdd",
        BootDevice::Bios => "BiosSetup",
    }
}

/// Reads `PowerState` (see the module's documentation for the mapping).
fn power_state(system: &Value) -> Result<PowerState, String> {
    match system.get("PowerState").and_then(Value::as_str) {
        Some("On" | "PoweringOn" | "Paused") => Ok(PowerState::On),
        Some("Off" | "PoweringOff") => Ok(PowerState::Off),
        Some(other) => Err(format!("unknown PowerState {other:?}")),
        None => Err("the system reports no PowerState".to_string()),
    }
}

/// `Members[0]."@odata.id"` of a collection.
fn first_member(collection: &Value) -> Result<String, BmcError> {
    let members = collection.get("Members").and_then(Value::as_array);
    match members.and_then(|m| m.first()) {
        Some(member) => member
            .get("@odata.id")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .ok_or_else(|| failed(format!("{SYSTEMS_PATH}: the first member has no @odata.id"))),
        None => Err(failed(format!(
            "{SYSTEMS_PATH}: the BMC lists no computer system"
        ))),
    }
}

/// A JSON array of strings, `None` when absent, empty or not an array.
fn string_list(value: Option<&Value>) -> Option<Vec<String>> {
    let list: Vec<String> = value?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    (!list.is_empty()).then_some(list)
}

/// What a Redfish error body says: `error.message`, then the `@Message.ExtendedInfo`
/// messages (under `error` or at the top level), joined; `None` for other bodies.
fn redfish_message(body: &[u8]) -> Option<String> {
    let body: Value = serde_json::from_slice(body).ok()?;
    let error = body.get("error");
    let mut parts: Vec<&str> = Vec::new();
    if let Some(message) = error.and_then(|e| e.get("message")).and_then(Value::as_str) {
        parts.push(message);
    }
    let extended = error
        .and_then(|e| e.get("@Message.ExtendedInfo"))
        .or_else(|| body.get("@Message.ExtendedInfo"))
        .and_then(Value::as_array);
    for info in extended.into_iter().flatten() {
        if let Some(message) = info.get("Message").and_then(Value::as_str)
            && !parts.contains(&message)
        {
            parts.push(message);
        }
    }
    let parts: Vec<&str> = parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn failed(message: impl Into<String>) -> BmcError {
    BmcError::Failed {
        message: message.into(),
    }
}

/// The TLS error behind a failed request, when the handshake was refused (a certificate
/// the trust store rejects, no common protocol version, …).
fn tls_rejection(error: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(tls) = as_rustls(e) {
            return Some(tls.to_string());
        }
        source = e.source();
    }
    None
}

/// `error` as a rustls error, looking through the wrappers that hide it from `source()`: an
/// `io::Error` (whose `source` skips what it wraps) and a boxed error.
fn as_rustls<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    if let Some(inner) = error
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        return as_rustls(inner);
    }
    None
}

/// An error and its sources, joined by `: `, without the URL reqwest adds.
fn error_chain(error: &reqwest::Error) -> String {
    let mut parts = vec![strip_url(error)];
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

/// reqwest's own message, without ` for url (…)`: the caller names the path itself.
fn strip_url(error: &reqwest::Error) -> String {
    let text = error.to_string();
    match text.find(" for url (") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

fn truncate(message: String) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((at, _)) => format!("{}…", &message[..at]),
        None => message,
    }
}

/// Checks a base URL: `http` or `https`, a host, no credentials; path, query and fragment
/// dropped (Redfish lives at `/redfish/v1` of the origin).
fn parse_base_url(base_url: &str) -> Result<Url, BmcError> {
    let mut url = Url::parse(base_url.trim()).map_err(|e| {
        // The URL itself is not echoed: it could carry a password.
        failed(format!("bad BMC URL: {e}"))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(failed(
            "the BMC URL must not carry credentials; pass the username and password apart",
        ));
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(failed(format!(
            "the BMC URL must be http or https, not {}",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(failed("the BMC URL has no host"));
    }
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// The base URL of the Redfish service of a BMC at `address`: `https://address[:port]`,
/// with an IPv6 address bracketed. An address that already has a scheme (`http://…`) is
/// kept as it is, `port` being added only when it names none; so is a port already in the
/// address.
///
/// ```
/// use mr_provisioner_ipmi::redfish::redfish_base_url;
///
/// assert_eq!(redfish_base_url("10.0.0.5", None), "https://10.0.0.5");
/// assert_eq!(redfish_base_url("fd00::5", Some(8443)), "https://[fd00::5]:8443");
/// assert_eq!(redfish_base_url("http://127.0.0.1:8000", None), "http://127.0.0.1:8000");
/// ```
pub fn redfish_base_url(address: &str, port: Option<u16>) -> String {
    let address = address.trim().trim_end_matches('/');
    let with_scheme = if address.contains("://") {
        address.to_string()
    } else if address.parse::<Ipv6Addr>().is_ok() {
        format!("https://[{address}]")
    } else {
        format!("https://{address}")
    };
    let Some(port) = port else {
        return with_scheme;
    };
    let mut url = match Url::parse(&with_scheme) {
        Ok(url) if url.port().is_none() => url,
        _ => return with_scheme,
    };
    if url.set_port(Some(port)).is_err() {
        return with_scheme;
    }
    // `Url` gives a bare origin a `/` path: drop it, as the address had none.
    url.as_str().trim_end_matches('/').to_string()
}
