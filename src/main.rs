//! Binary entry: parse arguments, send logs to a file (the terminal belongs to the output),
//! run the command, print errors with their causes.

use clap::Parser;
use std::process::ExitCode;

use lmdeck::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(
        cli.command,
        Some(cli::args::Command::Serve(_)) | Some(cli::args::Command::Console(_))
    ) {
        quiet_on_closed_pipe();
    }
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

/// Rust ignores SIGPIPE, so `lmdeck docs list | head` would panic when `head` closes the pipe.
/// Commands that print end quietly instead, as `cat` or `grep` do. (Not the server or the
/// console: they must outlive a closed connection.)
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal at start-up, before any thread
    // exists, is what every C command-line tool does.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
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
