//! The `mr-provisioner` binary end to end: a fresh data directory, the first administrator,
//! tokens, the machine list over HTTP, bad configuration, the database at start, and the
//! user, token, db and inventory commands.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_mr-provisioner");

/// A command in `dir` with no `MRP_` variables from the caller's environment.
fn mrp(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).kill_on_drop(true);
    for (k, _) in std::env::vars() {
        if k.starts_with("MRP_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Runs a command to completion, with `stdin` as its input.
async fn run(mut cmd: Command, args: &[&str], stdin: &str) -> Output {
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn mr-provisioner");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("write stdin");
    drop(input);
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("command finished in time")
        .expect("command output")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// Runs a command that must succeed; returns its stdout.
async fn ok(cmd: Command, args: &[&str], stdin: &str) -> String {
    let out = run(cmd, args, stdin).await;
    assert!(
        out.status.success(),
        "{args:?} failed: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Runs a command that must fail; returns its stderr.
async fn fails(cmd: Command, args: &[&str]) -> String {
    let out = run(cmd, args, "").await;
    assert!(
        !out.status.success(),
        "{args:?} succeeded: {}",
        text(&out.stdout)
    );
    text(&out.stderr)
}

/// A running `mr-provisioner serve`.
struct Served {
    child: Child,
    base: String,
    stdout_before_listen: Vec<String>,
}

async fn serve(mut cmd: Command) -> Served {
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("MRP_LOG_LEVEL", "warn")
        .env("MRP_TFTP_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().expect("spawn serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut before = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = tokio::time::timeout_at(deadline.into(), lines.next_line())
            .await
            .expect("server started in time")
            .expect("read stdout")
            .expect("server exited before listening");
        if let Some(addr) = line.strip_prefix("mr-provisioner listening on ") {
            // Keep draining stdout so the server never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Served {
                child,
                base: addr.to_string(),
                stdout_before_listen: before,
            };
        }
        before.push(line);
    }
}

impl Served {
    async fn get(&self, path: &str, auth: Option<&str>) -> reqwest::Response {
        let mut req = reqwest::Client::new().get(format!("{}{path}", self.base));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        req.send().await.expect("HTTP request")
    }

    /// Sends SIGTERM and expects a clean exit.
    async fn stop(mut self) {
        let pid = self.child.id().expect("pid").to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("stopped in time after SIGTERM")
            .expect("wait");
        assert!(exit.success(), "exit status after SIGTERM: {exit}");
    }
}

/// The token printed alone on the last line of `token create`.
fn last_line(stdout: &str) -> String {
    stdout.lines().last().expect("output").to_string()
}

fn data_dir(dir: &Path) -> PathBuf {
    dir.join("mr-provisioner-data")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_start_then_a_token_lists_machines() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(mrp(dir.path())).await;
    // The first start creates `admin` with a random password, printed once and kept in a
    // file only its owner can read.
    let intro = served.stdout_before_listen.join("\n");
    let password = intro
        .split("with the password ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no password in {intro:?}"))
        .to_string();
    assert!(password.len() >= 16, "{password}");
    let file = data_dir(dir.path()).join("initial-admin-password");
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), password);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(data_dir(dir.path()).join("mr-provisioner.db").exists());
    assert!(data_dir(dir.path()).join("tftp").is_dir());

    let health = served.get("/healthz", None).await;
    assert_eq!(health.status(), 200);

    let out = ok(
        mrp(dir.path()),
        &["token", "create", "admin", "--description", "tour"],
        "",
    )
    .await;
    let token = last_line(&out);
    assert_eq!(token.len(), 44, "{out}");
    for auth in [token.clone(), format!("Bearer {token}")] {
        let resp = served
            .get("/api/v1/machine?show_all=true", Some(&auth))
            .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.text().await.unwrap(), "[]");
    }
    assert_eq!(served.get("/api/v1/machine", None).await.status(), 401);
    served.stop().await;

    // A second start keeps the administrator and prints no password.
    let again = serve(mrp(dir.path())).await;
    assert!(
        !again.stdout_before_listen.join("\n").contains("password"),
        "{:?}",
        again.stdout_before_listen
    );
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_password_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = mrp(dir.path());
    cmd.env("MRP_ADMIN_PASSWORD", "correct horse battery");
    let served = serve(cmd).await;
    assert!(
        !served
            .stdout_before_listen
            .join("\n")
            .contains("correct horse")
    );
    assert!(!data_dir(dir.path()).join("initial-admin-password").exists());
    served.stop().await;
    // The password works: check it the way a login would.
    let location = mr_provisioner_core::store::sea::DatabaseLocation::Sqlite(
        data_dir(dir.path()).join("mr-provisioner.db"),
    );
    let store = mr_provisioner_core::store::sea::connect(&location, &Default::default())
        .await
        .unwrap();
    let user = mr_provisioner_core::accounts::login(&store, "admin", "correct horse battery")
        .await
        .unwrap();
    assert!(user.admin);
    assert!(
        mr_provisioner_core::accounts::login(&store, "admin", "wrong")
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mrp.toml");
    std::fs::write(&config, "[http]\nlisten = \"everywhere\"\n").unwrap();
    let err = fails(
        mrp(dir.path()),
        &["--config", config.to_str().unwrap(), "serve"],
    )
    .await;
    assert!(err.contains(config.to_str().unwrap()), "{err}");
    assert!(err.contains("http.listen"), "{err}");
    assert!(err.contains("invalid socket address"), "{err}");

    std::fs::write(&config, "[databse]\nurl = \"x\"\n").unwrap();
    let err = fails(
        mrp(dir.path()),
        &["--config", config.to_str().unwrap(), "db", "status"],
    )
    .await;
    assert!(err.contains("unknown field `databse`"), "{err}");

    let mut cmd = mrp(dir.path());
    cmd.env("MRP_CONFIG", dir.path().join("missing.toml"));
    let err = fails(cmd, &["serve"]).await;
    assert!(
        err.contains("missing.toml") && err.contains("cannot read"),
        "{err}"
    );

    let mut cmd = mrp(dir.path());
    cmd.env("MRP_DATABASE_MAX_CONNECTIONS", "lots");
    let err = fails(cmd, &["serve"]).await;
    assert!(
        err.contains("MRP_DATABASE_MAX_CONNECTIONS") && err.contains("database.max_connections"),
        "{err}"
    );
    assert!(
        !data_dir(dir.path()).exists(),
        "nothing is created on a bad configuration"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_url_mistakes_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = mrp(dir.path());
    cmd.env("MRP_DATABASE_URL", "postgress://postgres@127.0.0.1/x");
    let err = fails(cmd, &["serve"]).await;
    assert!(
        err.contains("unsupported database URL scheme \"postgress\""),
        "{err}"
    );

    // A typo in an explicit SQLite path is an error, never a new empty database.
    let mut cmd = mrp(dir.path());
    cmd.env("MRP_DATABASE_URL", "sqlite://./prodcution.db");
    let err = fails(cmd, &["serve"]).await;
    assert!(
        err.contains("prodcution.db") && err.contains("does not exist"),
        "{err}"
    );
    assert!(!dir.path().join("prodcution.db").exists());
    // `db upgrade` is how a new explicit database is made.
    let mut cmd = mrp(dir.path());
    cmd.env("MRP_DATABASE_URL", "sqlite://./production.db");
    ok(cmd, &["db", "upgrade"], "").await;
    assert!(dir.path().join("production.db").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_database_is_retried_then_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = mrp(dir.path());
    cmd.env(
        "MRP_DATABASE_URL",
        "postgres://postgres@127.0.0.1:1/nothing",
    )
    .env("MRP_DATABASE_CONNECT_TIMEOUT_SECS", "5");
    let started = Instant::now();
    let err = fails(cmd, &["serve"]).await;
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(err.matches("retrying").count() >= 1, "{err}");
    assert!(
        err.contains("cannot open the database postgres://postgres@127.0.0.1:1/nothing"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_need_an_upgraded_schema() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(mrp(dir.path()), &["user", "list"]).await;
    assert!(err.contains("db upgrade"), "{err}");
    let out = ok(mrp(dir.path()), &["db", "status"], "").await;
    assert!(out.contains("pending m20261125_000001_initial"), "{out}");
    let out = ok(mrp(dir.path()), &["db", "upgrade"], "").await;
    assert!(out.contains("applied m20261125_000001_initial"), "{out}");
    let out = ok(mrp(dir.path()), &["db", "upgrade"], "").await;
    assert!(out.contains("up to date"), "{out}");
    let out = ok(mrp(dir.path()), &["db", "status"], "").await;
    assert!(
        out.contains("applied m20261125_000001_initial") && out.contains("up to date"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_and_token_commands() {
    let dir = tempfile::tempdir().unwrap();
    ok(mrp(dir.path()), &["db", "upgrade"], "").await;
    let out = ok(
        mrp(dir.path()),
        &[
            "user",
            "add",
            "alice",
            "--email",
            "alice@example.com",
            "--password-stdin",
        ],
        "first password\n",
    )
    .await;
    assert!(out.contains("created user alice"), "{out}");
    assert!(!out.contains("first password"));
    let out = ok(mrp(dir.path()), &["user", "add", "bob", "--admin"], "").await;
    assert!(
        out.contains("administrator") && out.contains("password: "),
        "{out}"
    );
    let err = fails(mrp(dir.path()), &["user", "add", "alice"]).await;
    assert!(
        err.contains("user with this username already exists"),
        "{err}"
    );
    let err = run(
        mrp(dir.path()),
        &["user", "add", "carol", "--password-stdin"],
        "short\n",
    )
    .await;
    assert!(
        text(&err.stderr).contains("8 to 1024 characters"),
        "{}",
        text(&err.stderr)
    );

    let list = ok(mrp(dir.path()), &["user", "list"], "").await;
    assert!(
        list.contains("alice") && list.contains("alice@example.com") && list.contains("bob"),
        "{list}"
    );
    assert!(!list.contains("carol"));

    ok(
        mrp(dir.path()),
        &["user", "passwd", "alice", "--password-stdin"],
        "second password\n",
    )
    .await;
    let err = fails(
        mrp(dir.path()),
        &["user", "passwd", "nobody", "--password-stdin"],
    )
    .await;
    assert!(err.contains("no user named \"nobody\""), "{err}");

    let out = ok(
        mrp(dir.path()),
        &["token", "create", "alice", "--description", "ci runner"],
        "",
    )
    .await;
    let token = last_line(&out);
    let list = ok(mrp(dir.path()), &["token", "list", "alice"], "").await;
    assert!(
        list.contains("ci runner") && list.contains(&token[..6]),
        "{list}"
    );
    assert!(
        !list.contains(&token),
        "token list must never show the secret"
    );
    let id = list
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();

    let served = serve(mrp(dir.path())).await;
    assert_eq!(
        served.get("/api/v1/machine", Some(&token)).await.status(),
        200
    );
    ok(mrp(dir.path()), &["token", "revoke", &id], "").await;
    // The server reuses an authentication for at most 2 s (docs/deployment.md): a token
    // revoked by another process stops working within that.
    let revoked_at = Instant::now();
    loop {
        let status = served.get("/api/v1/machine", Some(&token)).await.status();
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            revoked_at.elapsed() < Duration::from_secs(3),
            "the revoked token still works"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    served.stop().await;
    let err = fails(mrp(dir.path()), &["token", "revoke", &id]).await;
    assert!(err.contains("token not found"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_apply_is_idempotent_and_transactional() {
    let dir = tempfile::tempdir().unwrap();
    ok(mrp(dir.path()), &["db", "upgrade"], "").await;
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/inventory.toml");
    let with_secret = || {
        let mut c = mrp(dir.path());
        c.env("MOONSHOT_BMC_PASSWORD", "s3cret");
        c
    };
    let out = ok(
        with_secret(),
        &["inventory", "apply", example, "--dry-run"],
        "",
    )
    .await;
    assert!(
        out.contains("dry run") && out.contains("total: 17 created"),
        "{out}"
    );
    let out = ok(with_secret(), &["inventory", "apply", example], "").await;
    assert!(
        out.contains("machines: 3 created, 0 updated, 0 unchanged"),
        "{out}"
    );
    assert!(
        out.contains("total: 17 created, 0 updated, 0 unchanged"),
        "{out}"
    );
    let out = ok(with_secret(), &["inventory", "apply", example], "").await;
    assert!(
        out.contains("no changes: all 17 entries already as described"),
        "{out}"
    );

    // Without the BMC password's variable the file is wrong: it says where, changes nothing.
    let before = ok(mrp(dir.path()), &["user", "list"], "").await;
    let broken = dir.path().join("broken.toml");
    let text = std::fs::read_to_string(example)
        .unwrap()
        .replace("alice@example.com", "alice@lab.example");
    std::fs::write(&broken, text).unwrap();
    let err = fails(
        mrp(dir.path()),
        &["inventory", "apply", broken.to_str().unwrap()],
    )
    .await;
    assert!(
        err.contains("bmc \"moonshot-chassis\"") && err.contains("MOONSHOT_BMC_PASSWORD"),
        "{err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(ok(mrp(dir.path()), &["user", "list"], "").await, before);

    let err = fails(
        mrp(dir.path()),
        &[
            "inventory",
            "apply",
            dir.path().join("none.toml").to_str().unwrap(),
        ],
    )
    .await;
    assert!(err.contains("none.toml"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_on_postgresql() {
    let Some(db) = mr_provisioner_core::testing::TestDb::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = mrp(dir.path());
    cmd.env("MRP_DATABASE_URL", &db.url);
    let served = serve(cmd).await;
    assert!(
        served
            .stdout_before_listen
            .join("\n")
            .contains("created the administrator")
    );
    let mut cmd = mrp(dir.path());
    cmd.env("MRP_DATABASE_URL", &db.url);
    let token = last_line(&ok(cmd, &["token", "create", "admin"], "").await);
    let resp = served.get("/api/v1/machine", Some(&token)).await;
    assert_eq!(resp.status(), 200);
    served.stop().await;
    // No SQLite file appears when PostgreSQL is configured.
    assert!(!data_dir(dir.path()).join("mr-provisioner.db").exists());
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_in_use_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let err = fails(mrp(dir.path()), &["serve", "--listen", &addr]).await;
    assert!(
        err.contains(&format!("cannot listen on {addr}")) && err.contains("another process"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_systemd_unit_verifies() {
    if std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        mr_provisioner_core::testing::skip("systemd-analyze is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/systemd/mr-provisioner.service"
    ))
    .unwrap()
    .replace("/usr/local/bin/mr-provisioner", BIN);
    let path = dir.path().join("mr-provisioner.service");
    std::fs::write(&path, unit).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let report = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{report}");
    // It must not warn about anything in our unit either.
    assert!(!report.contains("mr-provisioner.service:"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tftp_port_in_use_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut cmd = mrp(dir.path());
    cmd.env("MRP_TFTP_LISTEN", &addr);
    let err = fails(cmd, &["serve", "--listen", "127.0.0.1:0"]).await;
    assert!(
        err.contains(&format!("cannot listen for TFTP on udp/{addr}"))
            && err.contains("another TFTP server"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_tftp_from_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = data_dir(dir.path()).join("tftp");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("hello.txt"), "hello over tftp\n").unwrap();
    let served = serve(mrp(dir.path())).await;
    let line = served
        .stdout_before_listen
        .iter()
        .find_map(|l| l.strip_prefix("mr-provisioner serving TFTP on udp/"))
        .unwrap_or_else(|| panic!("no TFTP line in {:?}", served.stdout_before_listen))
        .to_string();
    let out = std::process::Command::new("curl")
        .args(["-sS", &format!("tftp://{line}/hello.txt")])
        .output()
        .expect("curl");
    assert_eq!(
        text(&out.stdout),
        "hello over tftp\n",
        "{}",
        text(&out.stderr)
    );
    served.stop().await;
}

/// Port 69 left at its default and unavailable (taken here, or not ours to take without
/// root): `serve` says why and serves HTTP without TFTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_tftp_port_unavailable_is_reported_and_http_runs() {
    let dir = tempfile::tempdir().unwrap();
    let _taken = std::net::UdpSocket::bind("0.0.0.0:69");
    let mut cmd = mrp(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("MRP_LOG_LEVEL", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("started in time")
            .unwrap()
            .expect("serve exited before listening");
        if let Some(addr) = line.strip_prefix("mr-provisioner listening on ") {
            break addr.to_string();
        }
        assert!(!line.contains("serving TFTP"), "{line}");
    };
    let r = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    child.start_kill().unwrap();
    let out = child.wait_with_output().await.unwrap();
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot listen for TFTP on udp/0.0.0.0:69")
            && err.contains("serving without TFTP"),
        "{err}"
    );
}
