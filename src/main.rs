//! Binary entry: parse arguments, send logs to a file (the terminal belongs to the output),
//! run the command, print errors with their causes.

use clap::Parser;
use std::process::ExitCode;

use lmdeck::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _guard = init_logging();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to `<data dir>/logs/lmdeck.log`; level from LMDECK_LOG (default info).
fn init_logging() -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let paths = lmdeck::paths::Paths::resolve().ok()?;
    let dir = paths.log_dir();
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::never(&dir, "lmdeck.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("LMDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    Some(guard)
}
