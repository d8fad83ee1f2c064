//! Running external tools under a deadline: the `CommandRunner` trait, the real tokio
//! implementation and a recording fake for tests.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncReadExt};

/// How much of each output stream is kept; the rest is read and dropped, so a chatty child
/// can neither block on a full pipe nor fill our memory.
pub const OUTPUT_LIMIT: usize = 64 * 1024;

/// How long the real runner waits for a killed child to be reaped.
const REAP_LIMIT: Duration = Duration::from_secs(5);

/// Spawns a program and collects what it printed, within a deadline.
///
/// Object-safe, so drivers hold an `Arc<dyn CommandRunner>`: [`TokioRunner`] for real,
/// [`RecordingRunner`] in tests.
#[async_trait]
pub trait CommandRunner: Send + Sync + fmt::Debug {
    /// Runs `program` with `args`, the extra environment `env`, stdin from `/dev/null`, and
    /// waits for it to exit. When `deadline` passes first, the child is killed and reaped,
    /// and the result is [`RunError::Timeout`]. A non-zero exit is an [`Output`], not an
    /// error.
    async fn run(
        &self,
        program: &Path,
        args: &[String],
        env: &[(String, SecretString)],
        deadline: Duration,
    ) -> Result<Output, RunError>;
}

/// What a finished program printed, and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// The exit code, or `None` when a signal ended it.
    pub code: Option<i32>,
    /// Its standard output, as UTF-8 (invalid bytes replaced), at most [`OUTPUT_LIMIT`]
    /// bytes.
    pub stdout: String,
    /// Its standard error, likewise.
    pub stderr: String,
}

impl Output {
    /// Whether it exited with code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Why a program could not be run to its end.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// It could not be started (missing, not executable, out of resources).
    #[error("cannot run {program}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// It did not exit within its deadline, and was killed.
    #[error("{program} did not finish within {} ms and was killed", after.as_millis())]
    Timeout {
        /// The program.
        program: PathBuf,
        /// The deadline that passed.
        after: Duration,
    },
    /// Waiting for it or reading its output failed.
    #[error("lost track of {program}")]
    Io {
        /// The program.
        program: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// Runs programs with `tokio::process`.
///
/// The child gets stdin from `/dev/null` (ipmitool would otherwise prompt for a password on
/// a terminal), piped stdout and stderr, and a minimal environment: our `PATH`, `LC_ALL=C`
/// (so messages are not translated, and can be classified), and the `env` given. Nothing
/// else of the server's environment reaches it: not its secrets, and not a stray
/// `IPMITOOL_PASSWORD`, which ipmitool would prefer over `IPMI_PASSWORD`. The child is
/// killed when the deadline passes (explicitly, then reaped before `run` returns) and when
/// the call is cancelled (`kill_on_drop`; tokio then reaps it in the background).
///
/// Only the child itself is killed, not processes it started; ipmitool starts none.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioRunner {
    _private: (),
}

impl TokioRunner {
    /// The runner.
    pub fn new() -> Self {
        TokioRunner::default()
    }
}

#[async_trait]
impl CommandRunner for TokioRunner {
    async fn run(
        &self,
        program: &Path,
        args: &[String],
        env: &[(String, SecretString)],
        deadline: Duration,
    ) -> Result<Output, RunError> {
        let mut command = tokio::process::Command::new(program);
        command.args(args).env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        command.env("LC_ALL", "C");
        for (name, value) in env {
            command.env(name, value.expose_secret());
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);

        let mut child = command.spawn().map_err(|source| RunError::Spawn {
            program: program.to_path_buf(),
            source,
        })?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();

        let finished = tokio::time::timeout(deadline, async {
            let (stdout, stderr, status) =
                tokio::join!(read_capped(stdout), read_capped(stderr), child.wait());
            Ok::<_, io::Error>(Output {
                code: status?.code(),
                stdout: stdout?,
                stderr: stderr?,
            })
        })
        .await;

        match finished {
            Ok(output) => output.map_err(|source| RunError::Io {
                program: program.to_path_buf(),
                source,
            }),
            Err(_elapsed) => {
                // Kill it now and reap it, so no zombie outlives the call. Should the kill
                // fail (it exited meanwhile), waiting still reaps it.
                if let Err(error) = child.start_kill() {
                    tracing::debug!(program = %program.display(), %error, "kill after deadline");
                }
                if tokio::time::timeout(REAP_LIMIT, child.wait())
                    .await
                    .is_err()
                {
                    tracing::warn!(program = %program.display(), "killed child not reaped in time");
                }
                Err(RunError::Timeout {
                    program: program.to_path_buf(),
                    after: deadline,
                })
            }
        }
    }
}

/// Reads a stream to its end, keeping the first [`OUTPUT_LIMIT`] bytes.
async fn read_capped(stream: Option<impl AsyncRead + Unpin>) -> io::Result<String> {
    let Some(mut stream) = stream else {
        return Ok(String::new());
    };
    let mut kept = Vec::new();
    (&mut stream)
        .take(OUTPUT_LIMIT as u64)
        .read_to_end(&mut kept)
        .await?;
    tokio::io::copy(&mut stream, &mut tokio::io::sink()).await?;
    Ok(String::from_utf8_lossy(&kept).into_owned())
}

/// One call a [`RecordingRunner`] received.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// The extra environment.
    pub env: Vec<(String, SecretString)>,
    /// The deadline it was given.
    pub deadline: Duration,
}

impl RecordedCall {
    /// The value of the environment variable `name`, if it was passed.
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.expose_secret())
    }
}

/// What a [`RecordingRunner`] answers to one call.
#[derive(Debug, Clone)]
pub enum FakeReply {
    /// The program exits with `output` after `after` (on the tokio clock). When `after` is
    /// past the call's deadline, the call fails with [`RunError::Timeout`] at the deadline,
    /// as the real runner would.
    Exit {
        /// What it printed and its exit code.
        output: Output,
        /// How long it runs.
        after: Duration,
    },
    /// The runner itself never returns, whatever the deadline: a broken runner, which the
    /// drivers must survive.
    Hang,
    /// The program cannot be started; `message` becomes the [`RunError::Spawn`] source.
    SpawnFails {
        /// The I/O error's text.
        message: String,
    },
}

impl FakeReply {
    /// Exits 0 at once, printing `stdout`.
    pub fn stdout(stdout: &str) -> Self {
        FakeReply::Exit {
            output: Output {
                code: Some(0),
                stdout: stdout.to_string(),
                stderr: String::new(),
            },
            after: Duration::ZERO,
        }
    }

    /// Exits with `code` at once, printing `stderr`.
    pub fn stderr(code: i32, stderr: &str) -> Self {
        FakeReply::Exit {
            output: Output {
                code: Some(code),
                stdout: String::new(),
                stderr: stderr.to_string(),
            },
            after: Duration::ZERO,
        }
    }

    /// The same exit, `after` later. No effect on [`FakeReply::Hang`] and
    /// [`FakeReply::SpawnFails`].
    pub fn after(self, delay: Duration) -> Self {
        match self {
            FakeReply::Exit { output, .. } => FakeReply::Exit {
                output,
                after: delay,
            },
            other => other,
        }
    }
}

/// A [`CommandRunner`] that spawns nothing: it records every call and answers from a script
/// of [`FakeReply`]s (first in, first out), then with a default reply (exit 0, no output,
/// unless [`RecordingRunner::set_default`] changed it).
#[derive(Debug)]
pub struct RecordingRunner {
    state: Mutex<RecordingState>,
}

#[derive(Debug)]
struct RecordingState {
    calls: Vec<RecordedCall>,
    script: VecDeque<FakeReply>,
    default: FakeReply,
}

impl Default for RecordingRunner {
    fn default() -> Self {
        RecordingRunner {
            state: Mutex::new(RecordingState {
                calls: Vec::new(),
                script: VecDeque::new(),
                default: FakeReply::stdout(""),
            }),
        }
    }
}

impl RecordingRunner {
    /// A runner with an empty script.
    pub fn new() -> Self {
        RecordingRunner::default()
    }

    /// Answers the next unanswered call with `reply`.
    pub fn push(&self, reply: FakeReply) {
        self.lock().script.push_back(reply);
    }

    /// Answers calls with `reply` once the script is used up.
    pub fn set_default(&self, reply: FakeReply) {
        self.lock().default = reply;
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.lock().calls.clone()
    }

    /// The arguments of every call so far.
    pub fn argvs(&self) -> Vec<Vec<String>> {
        self.lock().calls.iter().map(|c| c.args.clone()).collect()
    }

    fn lock(&self) -> MutexGuard<'_, RecordingState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl CommandRunner for RecordingRunner {
    async fn run(
        &self,
        program: &Path,
        args: &[String],
        env: &[(String, SecretString)],
        deadline: Duration,
    ) -> Result<Output, RunError> {
        let reply = {
            let mut state = self.lock();
            state.calls.push(RecordedCall {
                program: program.to_path_buf(),
                args: args.to_vec(),
                env: env.to_vec(),
                deadline,
            });
            let default = state.default.clone();
            state.script.pop_front().unwrap_or(default)
        };
        match reply {
            FakeReply::Exit { output, after } if after <= deadline => {
                tokio::time::sleep(after).await;
                Ok(output)
            }
            FakeReply::Exit { .. } => {
                tokio::time::sleep(deadline).await;
                Err(RunError::Timeout {
                    program: program.to_path_buf(),
                    after: deadline,
                })
            }
            FakeReply::Hang => std::future::pending().await,
            FakeReply::SpawnFails { message } => Err(RunError::Spawn {
                program: program.to_path_buf(),
                source: io::Error::other(message),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::Instant;

    fn sh(script: &str) -> Vec<String> {
        vec!["-c".to_string(), script.to_string()]
    }

    #[tokio::test]
    async fn real_runner_collects_output_and_exit_code() {
        let out = TokioRunner::new()
            .run(
                Path::new("/bin/sh"),
                &sh("echo out; echo err >&2; exit 3"),
                &[],
                Duration::from_secs(10),
            )
            .await
            .unwrap();
        assert_eq!(
            out,
            Output {
                code: Some(3),
                stdout: "out\n".into(),
                stderr: "err\n".into()
            }
        );
        assert!(!out.success());
    }

    #[tokio::test]
    async fn real_runner_environment_is_minimal_and_stdin_is_null() {
        let env = [("IPMI_PASSWORD".to_string(), SecretString::from("s3cret"))];
        let out = TokioRunner::new()
            .run(
                Path::new("/bin/sh"),
                &sh("env | sort; cat; echo stdin-done"),
                &env,
                Duration::from_secs(10),
            )
            .await
            .unwrap();
        assert!(out.success(), "{out:?}");
        let mut names: Vec<&str> = out
            .stdout
            .lines()
            .filter_map(|l| l.split_once('=').map(|(n, _)| n))
            .collect();
        // The shell adds a few of its own (PWD, SHLVL, `_`); none of ours leaks.
        names.retain(|n| !matches!(*n, "PWD" | "SHLVL" | "_" | "OLDPWD"));
        names.sort();
        let mut expected = vec!["IPMI_PASSWORD", "LC_ALL"];
        if std::env::var_os("PATH").is_some() {
            expected.push("PATH");
        }
        expected.sort();
        assert_eq!(names, expected);
        assert!(out.stdout.contains("IPMI_PASSWORD=s3cret\n"));
        assert!(out.stdout.contains("LC_ALL=C\n"));
        assert!(
            out.stdout.ends_with("stdin-done\n"),
            "stdin is /dev/null: cat ends at once"
        );
    }

    #[tokio::test]
    async fn real_runner_caps_output() {
        let out = TokioRunner::new()
            .run(
                Path::new("/bin/sh"),
                &sh("head -c 200000 /dev/zero | tr '\\0' x"),
                &[],
                Duration::from_secs(10),
            )
            .await
            .unwrap();
        assert!(out.success());
        assert_eq!(out.stdout.len(), OUTPUT_LIMIT);
    }

    #[tokio::test]
    async fn real_runner_reports_a_missing_program() {
        let err = TokioRunner::new()
            .run(
                Path::new("/nonexistent/ipmitool"),
                &[],
                &[],
                Duration::from_secs(1),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, RunError::Spawn { .. }), "{err:?}");
        assert_eq!(err.to_string(), "cannot run /nonexistent/ipmitool");
    }

    /// The deadline kills the child and reaps it: `/proc/<pid>` is gone (a zombie would
    /// still have one) when `run` returns.
    #[tokio::test]
    async fn real_runner_kills_and_reaps_at_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let script = format!("echo $$ > '{}'; exec sleep 30", pid_file.display());
        let started = Instant::now();
        let err = TokioRunner::new()
            .run(
                Path::new("/bin/sh"),
                &sh(&script),
                &[],
                Duration::from_millis(300),
            )
            .await
            .unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(err, RunError::Timeout { after, .. } if after == Duration::from_millis(300))
        );
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let pid: u32 = pid.trim().parse().unwrap();
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} still exists (running or a zombie)"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn recording_runner_records_and_answers_in_order() {
        let runner = RecordingRunner::new();
        runner.push(FakeReply::stdout("one"));
        runner.push(FakeReply::stderr(1, "two"));
        runner.push(FakeReply::SpawnFails {
            message: "no such file".into(),
        });
        let env = [("K".to_string(), SecretString::from("v"))];
        let run = |arg: &str| {
            let args = vec![arg.to_string()];
            let runner = &runner;
            let env = &env;
            async move {
                runner
                    .run(Path::new("/bin/tool"), &args, env, Duration::from_secs(1))
                    .await
            }
        };
        assert_eq!(run("a").await.unwrap().stdout, "one");
        assert_eq!(run("b").await.unwrap().stderr, "two");
        assert!(matches!(run("c").await, Err(RunError::Spawn { .. })));
        assert_eq!(run("d").await.unwrap(), FakeReply::stdout("").into_output());
        let calls = runner.calls();
        assert_eq!(runner.argvs(), [["a"], ["b"], ["c"], ["d"]]);
        assert_eq!(calls[0].program, Path::new("/bin/tool"));
        assert_eq!(calls[0].env_var("K"), Some("v"));
        assert_eq!(calls[0].env_var("L"), None);
        assert_eq!(calls[0].deadline, Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn recording_runner_honours_the_deadline_like_the_real_one() {
        let runner = RecordingRunner::new();
        runner.push(FakeReply::stdout("slow").after(Duration::from_secs(5)));
        let started = tokio::time::Instant::now();
        let err = runner
            .run(Path::new("/bin/tool"), &[], &[], Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(matches!(err, RunError::Timeout { .. }));
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }

    impl FakeReply {
        fn into_output(self) -> Output {
            match self {
                FakeReply::Exit { output, .. } => output,
                other => panic!("not an exit: {other:?}"),
            }
        }
    }
}
