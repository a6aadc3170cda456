//! Headless commands: thin wrappers over the services, one file per command.

pub mod args;
pub mod ask;
pub mod config_cmd;
pub mod context;
pub mod curate_cmd;
pub mod docs;
pub mod doctor;
pub mod eval;
pub mod ingest;
pub mod models;
pub mod progress;
pub mod reembed;
pub mod search;
pub mod serve;
pub mod setup;

pub use args::Cli;
pub use context::Context;

use args::Command;

/// Runs one command; no subcommand opens the console.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let Some(command) = cli.command else {
        use std::io::IsTerminal;
        if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
            // Scripts and pipes get the command list, not a screen they cannot use.
            use clap::CommandFactory;
            Cli::command().print_help()?;
            println!();
            return Ok(());
        }
        return crate::tui::run(Context::new(&cli.global)?, None);
    };
    if let Command::Config(cmd) = &command {
        // Config commands must work even when the config itself is broken: load it inside.
        return config_cmd::run(&cli.global, cmd);
    }
    let ctx = Context::new(&cli.global)?;
    match command {
        Command::Console(a) => crate::tui::run(ctx, a.collection.as_deref()),
        Command::Setup(a) => setup::run(&ctx, &a),
        Command::Ingest(a) => ingest::run(&ctx, &a),
        Command::Search(a) => search::run(&ctx, &a),
        Command::Why(a) => search::why(&ctx, &a),
        Command::Ask(a) => ask::run(&ctx, &a),
        Command::Models(c) => models::run(&ctx, c),
        Command::Chats(c) => ask::chats(&ctx, c),
        Command::Serve(a) => serve::run(&ctx, &a),
        Command::Eval(args::EvalCommand::Retrieval(a)) => eval::run(&ctx, &a),
        Command::Doctor(a) => doctor::run(&ctx, a.json),
        Command::Collections(a) => docs::collections(&ctx, a.json),
        Command::Docs(c) => docs::run(&ctx, c),
        Command::Chunk(c) => docs::chunk(&ctx, c),
        Command::Sync(a) => curate_cmd::sync(&ctx, &a),
        Command::Dupes(a) => curate_cmd::dupes(&ctx, &a),
        Command::Histogram(a) => curate_cmd::histogram(&ctx, &a),
        Command::Reembed(a) => reembed::run(&ctx, &a),
        Command::Bench(c) => crate::bench::run(&ctx, c),
        Command::Config(_) => Ok(()),
    }
}
