//! Headless commands: thin wrappers over the services, one file per command.

pub mod ask;
pub mod config_cmd;
pub mod curate_cmd;
pub mod dataset;
pub mod docs;
pub mod doctor;
pub mod eval;
pub mod eval_compare;
mod eval_compare_print;
pub mod finetune;
pub mod ingest;
pub mod jobs;
pub mod models;
pub mod progress;
pub mod reembed;
pub mod search;
pub mod setup;

use crate::args::{Command, GlobalArgs};
use crate::services::Context;

/// Opens the database for a command that writes, creating it when missing and saying so on
/// stderr (stdout may be JSON a script reads).
pub(crate) fn open_for_writing(ctx: &Context) -> anyhow::Result<crate::store::Store> {
    let (store, created) = ctx.store(crate::services::context::Access::CreateIfMissing)?;
    if created {
        eprintln!(
            "created a new database at {}",
            crate::util::safe::path(&ctx.db_path())
        );
    }
    Ok(store)
}

/// Runs one headless command. (The console, the server and the benchmarks are front ends of
/// their own; `main.rs` hands those commands to them.)
pub fn run(global: &GlobalArgs, command: Command) -> anyhow::Result<()> {
    run_command(global, command).map_err(safe_error)
}

/// An error may quote a file name, a document or a server's body, and `main.rs` prints and
/// logs it: its control characters are escaped here (a clean error passes untouched).
fn safe_error(err: anyhow::Error) -> anyhow::Error {
    match crate::util::safe::multi_line(&format!("{err:#}")) {
        std::borrow::Cow::Borrowed(_) => err,
        std::borrow::Cow::Owned(clean) => anyhow::anyhow!(clean),
    }
}

fn run_command(global: &GlobalArgs, command: Command) -> anyhow::Result<()> {
    if let Command::Config(cmd) = &command {
        // Config commands must work even when the config itself is broken: load it inside.
        return config_cmd::run(global, cmd);
    }
    let ctx = Context::new(&global.overrides())?;
    match command {
        Command::Setup(a) => setup::run(&ctx, &a),
        Command::Ingest(a) => ingest::run(&ctx, &a),
        Command::Search(a) => search::run(&ctx, &a),
        Command::Why(a) => search::why(&ctx, &a),
        Command::Ask(a) => ask::run(&ctx, &a),
        Command::Models(c) => models::run(&ctx, c),
        Command::Chats(c) => ask::chats(&ctx, c),
        Command::Eval(c) => eval::dispatch(&ctx, c),
        Command::Doctor(a) => doctor::run(&ctx, a.json),
        Command::Collections(a) => docs::collections(&ctx, a.json),
        Command::Docs(c) => docs::run(&ctx, c),
        Command::Chunk(c) => docs::chunk(&ctx, c),
        Command::Sync(a) => curate_cmd::sync(&ctx, &a),
        Command::Dupes(a) => curate_cmd::dupes(&ctx, &a),
        Command::Histogram(a) => curate_cmd::histogram(&ctx, &a),
        Command::Reembed(a) => reembed::run(&ctx, &a),
        Command::Jobs(c) => jobs::run(&ctx, c),
        Command::Finetune(a) => finetune::run(&ctx, &a),
        Command::Dataset(c) => dataset::run(&ctx, c),
        Command::Config(_) | Command::Console(_) | Command::Serve(_) | Command::Bench(_) => {
            anyhow::bail!("this command is not a headless one (a bug: main.rs routes it)")
        }
    }
}
