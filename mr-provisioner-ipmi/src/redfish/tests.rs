//! Unit tests of the Redfish driver, against a small in-process HTTP/1.1 fake.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::*;

const USER: &str = "admin";
const PASSWORD: &str = "s3cret-Pa55";
/// `Basic base64("admin:s3cret-Pa55")`.
const AUTH: &str = "Basic YWRtaW46czNjcmV0LVBhNTU=";
const SYSTEM: &str = "/redfish/v1/Systems/sys-1";
const DEADLINE: Duration = Duration::from_secs(5);

// ----------------------------------------------------------------------------------------
// The fake: one request per connection, answered by a closure, every request logged.

#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    fn is(&self, method: &str, path: &str) -> bool {
        self.method == method && self.path == path
    }
}

enum Answer {
    Reply {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Read the request, then never answer.
    Silence,
}

fn reply(status: u16, body: Value) -> Answer {
    Answer::Reply {
        status,
        headers: Vec::new(),
        body: if body.is_null() {
            String::new()
        } else {
            body.to_string()
        },
    }
}

fn no_content() -> Answer {
    reply(204, Value::Null)
}

/// A Redfish error body, as BMCs (and sushy-tools) shape it.
fn redfish_error(message: &str, extended: &[&str]) -> Value {
    let extended: Vec<Value> = extended
        .iter()
        .map(|m| json!({ "MessageId": "Base.1.0.GeneralError", "Message": m }))
        .collect();
    json!({ "error": {
        "code": "Base.1.0.GeneralError",
        "message": message,
        "@Message.ExtendedInfo": extended,
    }})
}

type Handler = dyn Fn(&Request) -> Answer + Send + Sync;

struct Fake {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Request>>>,
    task: JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    async fn start(handler: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let task = {
            let log = log.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let (log, handler) = (log.clone(), handler.clone());
                    tokio::spawn(async move {
                        let _ = serve(stream, log, handler).await;
                    });
                }
            })
        };
        Fake { addr, log, task }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    fn last(&self, method: &str) -> Request {
        self.requests()
            .into_iter()
            .rev()
            .find(|r| r.method == method)
            .unwrap_or_else(|| panic!("no {method} request"))
    }

    fn bmc(&self, system: Option<&str>) -> RedfishBmc {
        bmc_at(&self.url(), PASSWORD, system, DEADLINE)
    }
}

async fn serve(
    stream: TcpStream,
    log: Arc<Mutex<Vec<Request>>>,
    handler: Arc<Handler>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or_default().to_string();
    let path = words.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 || line.trim_end().is_empty() {
            break;
        }
        if let Some((name, value)) = line.trim_end().split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    let request = Request {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    log.lock().unwrap().push(request.clone());
    match handler(&request) {
        Answer::Silence => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
        Answer::Reply {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} Whatever\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            if !body.is_empty() {
                head.push_str("Content-Type: application/json\r\n");
            }
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let mut stream = reader.into_inner();
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(body.as_bytes()).await?;
            stream.shutdown().await
        }
    }
}

fn bmc_at(url: &str, password: &str, system: Option<&str>, deadline: Duration) -> RedfishBmc {
    RedfishBmc::new(
        url,
        USER,
        SecretString::from(password),
        system.map(str::to_string),
        deadline,
        false,
    )
    .unwrap()
}

// ----------------------------------------------------------------------------------------
// A Redfish service with one system (and a second member never used).

fn system(power: &str) -> Value {
    json!({
        "@odata.id": SYSTEM,
        "Id": "sys-1",
        "PowerState": power,
        "Boot": {
            "BootSourceOverrideEnabled": "Disabled",
            "BootSourceOverrideTarget": "None",
            "BootSourceOverrideMode": "UEFI",
        },
        "Actions": { "#ComputerSystem.Reset": {
            "target": format!("{SYSTEM}/Actions/ComputerSystem.Reset"),
            "ResetType@Redfish.AllowableValues":
                ["On", "ForceOff", "GracefulShutdown", "ForceRestart", "PowerCycle", "Nmi"],
        }},
    })
}

/// The standard routes, serving `system` (whose `@odata.id` is its path).
fn standard(request: &Request, system: &Value) -> Answer {
    if request.header("authorization") != Some(AUTH) {
        return reply(401, redfish_error("Incorrect username or password", &[]));
    }
    let path = system["@odata.id"].as_str().unwrap_or(SYSTEM);
    match request.method.as_str() {
        "GET" if request.path == SYSTEMS_PATH => reply(
            200,
            json!({ "Members": [{ "@odata.id": path }, { "@odata.id": "/redfish/v1/Systems/other" }] }),
        ),
        "GET" if request.path == path => reply(200, system.clone()),
        "POST" | "PATCH" => no_content(),
        _ => reply(
            404,
            redfish_error(&format!("{} not found", request.path), &[]),
        ),
    }
}

/// A fake serving `system`, which the test may change as it goes.
async fn service(system: Value) -> (Fake, Arc<Mutex<Value>>) {
    let state = Arc::new(Mutex::new(system));
    let shared = state.clone();
    let fake = Fake::start(move |r| standard(r, &shared.lock().unwrap())).await;
    (fake, state)
}

fn assert_no_password(error: &BmcError) {
    let text = format!("{error} {error:?}");
    assert!(!text.contains(PASSWORD), "password leaked: {text}");
    assert!(!text.contains(&AUTH[6..]), "credentials leaked: {text}");
}

// ----------------------------------------------------------------------------------------
// Discovery and power status.

#[tokio::test]
async fn discovers_the_first_member_once_and_authenticates_every_request() {
    let (fake, _) = service(system("On")).await;
    let bmc = fake.bmc(None);
    assert_eq!(bmc.system_path(), None);
    assert_eq!(bmc.power_status().await.unwrap(), PowerState::On);
    assert_eq!(bmc.power_status().await.unwrap(), PowerState::On);
    assert_eq!(bmc.system_path(), Some(SYSTEM));

    let requests = fake.requests();
    let paths: Vec<_> = requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        paths,
        [
            "GET /redfish/v1/Systems".to_string(),
            format!("GET {SYSTEM}"),
            format!("GET {SYSTEM}"),
        ]
    );
    for request in &requests {
        assert_eq!(request.header("authorization"), Some(AUTH));
        assert_eq!(request.header("accept"), Some("application/json"));
        assert_eq!(request.header("odata-version"), Some("4.0"));
    }
}

#[tokio::test]
async fn a_given_system_id_skips_the_collection() {
    let mut named = system("Off");
    named["@odata.id"] = json!("/redfish/v1/Systems/node%207");
    let (fake, _) = service(named).await;

    // A bare id is one percent-encoded path segment.
    let bmc = fake.bmc(Some("node 7"));
    assert_eq!(bmc.power_status().await.unwrap(), PowerState::Off);
    bmc.power(PowerAction::On).await.unwrap();
    let paths: Vec<_> = fake.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/redfish/v1/Systems/node%207",
            "/redfish/v1/Systems/sys-1/Actions/ComputerSystem.Reset"
        ]
    );

    // A full path is taken as the system's @odata.id.
    let bmc = fake.bmc(Some("/redfish/v1/Systems/node%207"));
    assert_eq!(bmc.power_status().await.unwrap(), PowerState::Off);
    assert_eq!(bmc.system_path(), Some("/redfish/v1/Systems/node%207"));
    assert_eq!(fake.last("GET").path, "/redfish/v1/Systems/node%207");
}

#[tokio::test]
async fn power_states_map_to_on_and_off() {
    let (fake, state) = service(system("Off")).await;
    let bmc = fake.bmc(None);
    for (reported, expected) in [
        ("On", PowerState::On),
        ("PoweringOn", PowerState::On),
        ("Paused", PowerState::On),
        ("Off", PowerState::Off),
        ("PoweringOff", PowerState::Off),
    ] {
        state.lock().unwrap()["PowerState"] = json!(reported);
        assert_eq!(bmc.power_status().await.unwrap(), expected, "{reported}");
    }

    state.lock().unwrap()["PowerState"] = json!("Exploded");
    let err = bmc.power_status().await.unwrap_err();
    assert!(matches!(&err, BmcError::Failed { message } if message.contains("\"Exploded\"")));

    state.lock().unwrap()["PowerState"] = Value::Null;
    let err = bmc.power_status().await.unwrap_err();
    assert!(matches!(&err, BmcError::Failed { message } if message.contains("no PowerState")));
}

#[tokio::test]
async fn a_failed_discovery_is_retried_and_an_empty_collection_is_an_error() {
    let calls = Arc::new(Mutex::new(0));
    let counter = calls.clone();
    let fake = Fake::start(move |r| {
        let mut calls = counter.lock().unwrap();
        *calls += 1;
        match *calls {
            1 => reply(503, redfish_error("Service is starting", &[])),
            2 => reply(200, json!({ "Members": [] })),
            _ => standard(r, &system("On")),
        }
    })
    .await;
    let bmc = fake.bmc(None);
    let err = bmc.power(PowerAction::On).await.unwrap_err();
    assert_eq!(
        err,
        BmcError::Failed {
            message: "GET /redfish/v1/Systems: HTTP 503 Service Unavailable: Service is starting"
                .into()
        }
    );
    let err = bmc.power_status().await.unwrap_err();
    assert_eq!(
        err,
        BmcError::Failed {
            message: "/redfish/v1/Systems: the BMC lists no computer system".into()
        }
    );
    assert_eq!(bmc.power_status().await.unwrap(), PowerState::On);
}

// ----------------------------------------------------------------------------------------
// Power actions.

#[tokio::test]
async fn each_action_posts_its_reset_type_to_the_advertised_target() {
    let mut custom = system("On");
    custom["Actions"]["#ComputerSystem.Reset"]["target"] = json!("/redfish/v1/Oem/Reset");
    let (fake, _) = service(custom).await;
    let bmc = fake.bmc(None);
    for (action, reset_type) in [
        (PowerAction::On, "On"),
        (PowerAction::Off, "ForceOff"),
        (PowerAction::Cycle, "PowerCycle"),
        (PowerAction::Reset, "ForceRestart"),
        (PowerAction::Soft, "GracefulShutdown"),
    ] {
        bmc.power(action).await.unwrap();
        let post = fake.last("POST");
        assert_eq!(post.path, "/redfish/v1/Oem/Reset");
        assert_eq!(post.json(), json!({ "ResetType": reset_type }), "{action}");
        assert_eq!(post.header("content-type"), Some("application/json"));
        assert_eq!(post.header("authorization"), Some(AUTH));
    }
    // Discovery happened once: the collection, the system, then five POSTs.
    assert_eq!(fake.requests().len(), 7);
}

#[tokio::test]
async fn cycle_falls_back_to_force_restart_and_on_to_force_on() {
    // The allowable values sushy-tools lists: no PowerCycle.
    let mut sushy = system("On");
    sushy["Actions"]["#ComputerSystem.Reset"]["ResetType@Redfish.AllowableValues"] = json!([
        "On",
        "ForceOff",
        "GracefulShutdown",
        "GracefulRestart",
        "ForceRestart",
        "Nmi",
        "ForceOn"
    ]);
    let (fake, _) = service(sushy).await;
    let bmc = fake.bmc(None);
    bmc.power(PowerAction::Cycle).await.unwrap();
    assert_eq!(
        fake.last("POST").json(),
        json!({ "ResetType": "ForceRestart" })
    );
    bmc.power(PowerAction::On).await.unwrap();
    assert_eq!(fake.last("POST").json(), json!({ "ResetType": "On" }));

    let mut force_only = system("Off");
    force_only["Actions"]["#ComputerSystem.Reset"]["ResetType@Redfish.AllowableValues"] =
        json!(["ForceOn", "ForceOff", "ForceRestart"]);
    let (fake, _) = service(force_only).await;
    let bmc = fake.bmc(None);
    bmc.power(PowerAction::On).await.unwrap();
    assert_eq!(fake.last("POST").json(), json!({ "ResetType": "ForceOn" }));
    // Nothing fits: the preferred value goes, and the BMC judges.
    bmc.power(PowerAction::Soft).await.unwrap();
    assert_eq!(
        fake.last("POST").json(),
        json!({ "ResetType": "GracefulShutdown" })
    );
}

#[tokio::test]
async fn without_actions_the_conventional_target_and_power_cycle_are_used() {
    let mut bare = system("On");
    bare.as_object_mut().unwrap().remove("Actions");
    let (fake, _) = service(bare).await;
    let bmc = fake.bmc(None);
    bmc.power(PowerAction::Cycle).await.unwrap();
    let post = fake.last("POST");
    assert_eq!(post.path, format!("{SYSTEM}/Actions/ComputerSystem.Reset"));
    assert_eq!(post.json(), json!({ "ResetType": "PowerCycle" }));
}

// ----------------------------------------------------------------------------------------
// Boot override.

#[tokio::test]
async fn boot_override_sends_target_once_and_mode() {
    let (fake, _) = service(system("Off")).await;
    let bmc = fake.bmc(None);
    for (device, efi, target, mode) in [
        (BootDevice::Pxe, true, "Pxe", "UEFI"),
        (BootDevice::Disk, false, "Hdd", "Legacy"),
        (BootDevice::Bios, true, "BiosSetup", "UEFI"),
    ] {
        bmc.set_boot_device(device, efi).await.unwrap();
        let patch = fake.last("PATCH");
        assert_eq!(patch.path, SYSTEM);
        assert_eq!(patch.header("if-match"), None);
        assert_eq!(
            patch.json(),
            json!({ "Boot": {
                "BootSourceOverrideTarget": target,
                "BootSourceOverrideEnabled": "Once",
                "BootSourceOverrideMode": mode,
            }}),
            "{device} efi={efi}"
        );
    }
}

#[tokio::test]
async fn boot_override_leaves_out_a_mode_the_system_does_not_offer() {
    let mut no_mode = system("Off");
    no_mode["Boot"]
        .as_object_mut()
        .unwrap()
        .remove("BootSourceOverrideMode");
    let (fake, _) = service(no_mode).await;
    fake.bmc(None)
        .set_boot_device(BootDevice::Pxe, true)
        .await
        .unwrap();
    assert_eq!(
        fake.last("PATCH").json(),
        json!({ "Boot": { "BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once" }})
    );

    let mut uefi_only = system("Off");
    uefi_only["Boot"]["BootSourceOverrideMode@Redfish.AllowableValues"] = json!(["UEFI"]);
    let (fake, _) = service(uefi_only).await;
    let bmc = fake.bmc(None);
    bmc.set_boot_device(BootDevice::Disk, false).await.unwrap();
    assert_eq!(
        fake.last("PATCH").json(),
        json!({ "Boot": { "BootSourceOverrideTarget": "Hdd", "BootSourceOverrideEnabled": "Once" }})
    );
    bmc.set_boot_device(BootDevice::Disk, true).await.unwrap();
    assert_eq!(
        fake.last("PATCH").json()["Boot"]["BootSourceOverrideMode"],
        "UEFI"
    );
}

#[tokio::test]
async fn a_patch_refused_for_want_of_if_match_is_retried_with_the_etag() {
    let fake = Fake::start(|r| {
        if r.method == "PATCH" && r.header("if-match") != Some("W/\"42\"") {
            return reply(
                428,
                redfish_error("The request did not provide the If-Match header", &[]),
            );
        }
        match standard(r, &system("On")) {
            Answer::Reply { status, body, .. } if r.method == "GET" => Answer::Reply {
                status,
                headers: vec![("ETag", "W/\"42\"".to_string())],
                body,
            },
            other => other,
        }
    })
    .await;
    fake.bmc(None)
        .set_boot_device(BootDevice::Pxe, true)
        .await
        .unwrap();
    let methods: Vec<_> = fake
        .requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.header("if-match").unwrap_or("-")))
        .collect();
    assert_eq!(
        methods,
        ["GET -", "GET -", "PATCH -", "GET -", "PATCH W/\"42\""]
    );
}

// ----------------------------------------------------------------------------------------
// Errors.

#[tokio::test]
async fn refused_credentials_are_auth_errors_without_the_password() {
    let (fake, _) = service(system("On")).await;
    let bmc = bmc_at(&fake.url(), "s3cret-Pa55-wrong", None, DEADLINE);
    let err = bmc.power_status().await.unwrap_err();
    assert_eq!(
        err,
        BmcError::Auth {
            message: "GET /redfish/v1/Systems: HTTP 401 Unauthorized: \
                      Incorrect username or password"
                .into()
        }
    );
    assert!(!err.to_string().contains("s3cret"));
    assert!(!err.is_transient());

    let fake = Fake::start(|_| reply(403, Value::Null)).await;
    let err = fake.bmc(None).power(PowerAction::Off).await.unwrap_err();
    assert_eq!(
        err,
        BmcError::Auth {
            message: "GET /redfish/v1/Systems: HTTP 403 Forbidden".into()
        }
    );
    assert_no_password(&err);
}

#[tokio::test]
async fn bmc_failures_carry_the_redfish_message() {
    let fake = Fake::start(|r| match r.method.as_str() {
        "POST" => reply(
            500,
            redfish_error(
                "A general error has occurred. See ExtendedInfo for more information.",
                &["The action ComputerSystem.Reset failed: chassis is locked."],
            ),
        ),
        "PATCH" => reply(
            400,
            json!({ "@Message.ExtendedInfo": [
                { "Message": "The value 'Hdd' for BootSourceOverrideTarget is not supported." }
            ]}),
        ),
        _ => standard(r, &system("On")),
    })
    .await;
    let bmc = fake.bmc(None);
    let err = bmc.power(PowerAction::Reset).await.unwrap_err();
    assert_eq!(
        err,
        BmcError::Failed {
            message: format!(
                "POST {SYSTEM}/Actions/ComputerSystem.Reset: HTTP 500 Internal Server Error: \
                 A general error has occurred. See ExtendedInfo for more information.; \
                 The action ComputerSystem.Reset failed: chassis is locked."
            )
        }
    );
    assert!(!err.is_transient());
    assert_no_password(&err);

    let err = bmc
        .set_boot_device(BootDevice::Disk, true)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        BmcError::Failed {
            message: format!(
                "PATCH {SYSTEM}: HTTP 400 Bad Request: \
                 The value 'Hdd' for BootSourceOverrideTarget is not supported."
            )
        }
    );

    // A body that is not a Redfish error: the status alone.
    let fake = Fake::start(|_| Answer::Reply {
        status: 502,
        headers: Vec::new(),
        body: "<html>proxy error</html>".into(),
    })
    .await;
    let err = fake.bmc(None).power_status().await.unwrap_err();
    assert_eq!(
        err,
        BmcError::Failed {
            message: "GET /redfish/v1/Systems: HTTP 502 Bad Gateway".into()
        }
    );
}

#[tokio::test]
async fn a_password_quoted_by_the_bmc_is_redacted() {
    let fake = Fake::start(|r| {
        let echoed = format!("bad credentials admin:{PASSWORD}");
        match r.method.as_str() {
            "POST" => reply(400, redfish_error(&echoed, &[])),
            _ => standard(r, &system("On")),
        }
    })
    .await;
    let err = fake.bmc(None).power(PowerAction::On).await.unwrap_err();
    assert!(
        matches!(&err, BmcError::Failed { message } if message.ends_with("bad credentials admin:<redacted>")),
        "{err:?}"
    );
    assert_no_password(&err);
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let bmc = bmc_at(&format!("http://{addr}"), PASSWORD, None, DEADLINE);
    let err = bmc.power_status().await.unwrap_err();
    assert!(
        matches!(&err, BmcError::Unreachable { message }
            if message.starts_with("GET /redfish/v1/Systems: ")
                && message.contains("onnection refused")),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_no_password(&err);
}

#[tokio::test]
async fn a_silent_bmc_times_out_within_the_deadline() {
    let deadline = Duration::from_millis(300);
    // Silent from the start, and silent after discovery.
    let discovered = Arc::new(Mutex::new(false));
    let flag = discovered.clone();
    let fake = Fake::start(move |r| {
        if *flag.lock().unwrap() && r.method != "GET" {
            Answer::Silence
        } else {
            standard(r, &system("On"))
        }
    })
    .await;

    let silent = Fake::start(|_| Answer::Silence).await;
    let bmc = bmc_at(&silent.url(), PASSWORD, None, deadline);
    for call in 0..3 {
        let started = Instant::now();
        let result = match call {
            0 => bmc.power_status().await.map(drop),
            1 => bmc.power(PowerAction::On).await,
            _ => bmc.set_boot_device(BootDevice::Pxe, true).await,
        };
        let elapsed = started.elapsed();
        assert_eq!(result, Err(BmcError::Timeout { after_ms: 300 }));
        assert!(elapsed >= deadline, "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    }

    let bmc = bmc_at(&fake.url(), PASSWORD, None, deadline);
    assert_eq!(bmc.power_status().await.unwrap(), PowerState::On);
    *discovered.lock().unwrap() = true;
    let started = Instant::now();
    let err = bmc.power(PowerAction::Off).await.unwrap_err();
    assert_eq!(err, BmcError::Timeout { after_ms: 300 });
    assert!(err.is_transient());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn redirects_are_followed_only_within_the_bmc() {
    let fake = Fake::start(|r| {
        if r.is("GET", "/redfish/v1/Systems/alias") {
            Answer::Reply {
                status: 307,
                headers: vec![("Location", SYSTEM.to_string())],
                body: String::new(),
            }
        } else if r.is("GET", "/redfish/v1/Systems/elsewhere") {
            Answer::Reply {
                status: 307,
                headers: vec![("Location", "http://192.0.2.1/redfish/v1".to_string())],
                body: String::new(),
            }
        } else {
            standard(r, &system("On"))
        }
    })
    .await;
    let bmc = fake.bmc(Some("alias"));
    assert_eq!(bmc.power_status().await.unwrap(), PowerState::On);
    // The system's own @odata.id is what is cached.
    assert_eq!(bmc.system_path(), Some(SYSTEM));

    let err = fake
        .bmc(Some("elsewhere"))
        .power_status()
        .await
        .unwrap_err();
    assert_eq!(
        err,
        BmcError::Failed {
            message: "GET /redfish/v1/Systems/elsewhere: HTTP 307 Temporary Redirect to \
                      http://192.0.2.1/redfish/v1 (another host: fix the BMC address)"
                .into()
        }
    );
}

#[tokio::test]
async fn sol_deactivate_asks_nothing() {
    let fake = Fake::start(|_| Answer::Silence).await;
    fake.bmc(None).sol_deactivate().await.unwrap();
    assert!(fake.requests().is_empty());
}

// ----------------------------------------------------------------------------------------
// Construction.

#[test]
fn bad_base_urls_and_ids_are_refused_without_echoing_secrets() {
    let new = |url: &str, system: Option<&str>| {
        RedfishBmc::new(
            url,
            USER,
            SecretString::from(PASSWORD),
            system.map(str::to_string),
            DEADLINE,
            true,
        )
    };
    for (url, expected) in [
        (
            "ftp://10.0.0.5",
            "the BMC URL must be http or https, not ftp",
        ),
        ("10.0.0.5", "bad BMC URL: relative URL without a base"),
        (
            "https://admin:s3cret-Pa55@10.0.0.5",
            "the BMC URL must not carry credentials; pass the username and password apart",
        ),
    ] {
        let err = new(url, None).unwrap_err();
        assert_eq!(
            err,
            BmcError::Failed {
                message: expected.into()
            }
        );
        assert_no_password(&err);
    }
    assert!(new("https://10.0.0.5", Some(" ")).is_err());

    let bmc = new("https://[fd00::5]:8443/some/path?x=1", None).unwrap();
    assert_eq!(bmc.base_url(), "https://[fd00::5]:8443/");
    let debug = format!("{bmc:?}");
    assert!(
        debug.contains("fd00::5") && !debug.contains(PASSWORD),
        "{debug}"
    );
}

#[test]
fn base_urls_default_to_https_and_keep_a_given_scheme() {
    for (address, port, expected) in [
        ("10.0.0.5", None, "https://10.0.0.5"),
        ("10.0.0.5", Some(8443), "https://10.0.0.5:8443"),
        ("bmc1.lab.example", None, "https://bmc1.lab.example"),
        (
            "bmc1.lab.example:8443",
            Some(9443),
            "https://bmc1.lab.example:8443",
        ),
        ("fd00::5", None, "https://[fd00::5]"),
        ("fd00::5", Some(8443), "https://[fd00::5]:8443"),
        ("[fd00::5]", Some(8443), "https://[fd00::5]:8443"),
        ("http://127.0.0.1:8000", None, "http://127.0.0.1:8000"),
        (
            "http://127.0.0.1:8000/",
            Some(9000),
            "http://127.0.0.1:8000",
        ),
        ("http://127.0.0.1", Some(8000), "http://127.0.0.1:8000"),
        (" https://10.0.0.5 ", None, "https://10.0.0.5"),
    ] {
        assert_eq!(
            redfish_base_url(address, port),
            expected,
            "{address} {port:?}"
        );
    }
}

#[test]
fn redfish_messages_are_read_from_either_place() {
    assert_eq!(redfish_message(b"not json"), None);
    assert_eq!(redfish_message(b"{}"), None);
    assert_eq!(
        redfish_message(br#"{"error":{"message":"m","@Message.ExtendedInfo":[{"Message":"m"},{"Message":" x "}]}}"#),
        Some("m; x".into())
    );
    // sushy-tools: ExtendedInfo without a Message.
    assert_eq!(
        redfish_message(
            br#"{"error":{"message":"Fake system nope was not found","@Message.ExtendedInfo":[{"MessageId":"Base.1.0.GeneralError"}]}}"#
        ),
        Some("Fake system nope was not found".into())
    );
    let long = "é".repeat(1000);
    assert_eq!(truncate(long).chars().count(), MAX_MESSAGE_CHARS + 1);
}

#[test]
fn only_passwords_of_four_characters_or_more_are_searched_for() {
    let bmc = |password: &str| {
        RedfishBmc::new(
            "https://10.0.0.5",
            USER,
            SecretString::from(password),
            None,
            DEADLINE,
            false,
        )
        .unwrap()
    };
    assert_eq!(bmc("a").redact("a bad password".into()), "a bad password");
    assert_eq!(
        bmc("calvin").redact("user root:calvin refused".into()),
        "user root:<redacted> refused"
    );
}
