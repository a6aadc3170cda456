//! Binary entry: parse arguments, send logs to a file (the terminal belongs to the output),
//! run the command, print errors with their causes.

use clap::Parser;
use std::process::ExitCode;

use lmdeck::args::{Cli, Command};
use lmdeck::services::Context;

fn main() -> ExitCode {
    let cli = Cli::parse_from(lmdeck::args::eval_run_configs(std::env::args_os()));
    if !matches!(
        cli.command,
        Some(Command::Serve(_)) | Some(Command::Console(_))
    ) {
        quiet_on_closed_pipe();
    }
    let _guard = init_logging();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Hands each command to its front end: the console, the server, the benchmarks, or the
/// headless CLI. No command opens the console on a terminal and prints help elsewhere.
fn run(cli: Cli) -> anyhow::Result<()> {
    let overrides = cli.global.overrides();
    match cli.command {
        None => {
            use std::io::IsTerminal;
            if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
                // Scripts and pipes get the command list, not a screen they cannot use.
                use clap::CommandFactory;
                Cli::command().print_help()?;
                println!();
                return Ok(());
            }
            lmdeck::tui::run(Context::new(&overrides)?, None)
        }
        Some(Command::Console(a)) => {
            lmdeck::tui::run(Context::new(&overrides)?, a.collection.as_deref())
        }
        Some(Command::Serve(a)) => lmdeck::serve::run(&Context::new(&overrides)?, &a),
        Some(Command::Bench(lmdeck::args::BenchCommand::Console(a))) => {
            lmdeck::tui::bench::run(&Context::new(&overrides)?, &a)
        }
        Some(Command::Bench(c)) => lmdeck::bench::run(&Context::new(&overrides)?, c),
        Some(command) => lmdeck::cli::run(&cli.global, command),
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
