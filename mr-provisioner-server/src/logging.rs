//! Structured logging with `tracing`, as text or JSON, to stdout, stderr or a file.

use std::fs::OpenOptions;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber. `RUST_LOG`, when set, overrides the configured level.
pub fn init(config: &LogConfig) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(f) if !f.is_empty() => EnvFilter::try_new(f)?,
        _ => EnvFilter::try_new(&config.level)?,
    };
    use std::io::IsTerminal;
    // Colours only for a terminal: escape codes in files and journals are noise.
    let ansi = match config.file.as_str() {
        "stdout" => std::io::stdout().is_terminal(),
        "stderr" => std::io::stderr().is_terminal(),
        _ => false,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    let result = match (config.file.as_str(), config.format) {
        ("stdout", LogFormat::Text) => builder.with_writer(std::io::stdout).try_init(),
        ("stdout", LogFormat::Json) => builder.json().with_writer(std::io::stdout).try_init(),
        ("stderr", LogFormat::Text) => builder.with_writer(std::io::stderr).try_init(),
        ("stderr", LogFormat::Json) => builder.json().with_writer(std::io::stderr).try_init(),
        (path, format) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| anyhow::anyhow!("cannot open log file {path}: {e}"))?;
            let writer = Mutex::new(file);
            match format {
                LogFormat::Text => builder.with_writer(writer).try_init(),
                LogFormat::Json => builder.json().with_writer(writer).try_init(),
            }
        }
    };
    result.map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}
