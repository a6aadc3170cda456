//! `lmdeck eval sets list|show|import|rm|accept|reject`

use crate::args::EvalSetsCommand;
use crate::eval::import::save::write;
use crate::eval::set::{EvalSet, StoredItem};
use crate::eval::store;
use crate::services::Context;
use crate::util::safe::one_line;

pub fn run(ctx: &Context, command: EvalSetsCommand) -> anyhow::Result<()> {
    match command {
        EvalSetsCommand::List(a) => list(ctx, a.json),
        EvalSetsCommand::Show { set, limit, json } => show(ctx, &set, limit, json),
        EvalSetsCommand::Import {
            path,
            name,
            collection,
            split,
            json,
        } => super::eval_sets_import::run(
            ctx,
            &super::eval_sets_import::ImportArgs {
                path: &path,
                name: name.as_deref(),
                collection: collection.as_deref(),
                split: &split,
                json,
            },
        ),
        EvalSetsCommand::Rm { set } => rm(ctx, &set),
        EvalSetsCommand::Accept { set, items } => accept(ctx, &set, items),
        EvalSetsCommand::Reject { set, items } => reject(ctx, &set, items),
    }
}

fn list(ctx: &Context, json: bool) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let sets = store::list_sets(store.conn())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&sets)?);
        return Ok(());
    }
    if sets.is_empty() {
        println!("no evaluation sets; `lmdeck eval sets import FILE` adds one, `lmdeck eval draft -c COLLECTION` drafts one");
        return Ok(());
    }
    println!(
        "{:>4}  {:<24} {:>6} {:>6} {:>6}  {:<8} {:<6} {:<20} source",
        "id", "name", "items", "unans", "drafts", "status", "format", "collection"
    );
    for s in &sets {
        println!(
            "{:>4}  {:<24} {:>6} {:>6} {:>6}  {:<8} {:<6} {:<20} {}",
            s.id,
            one_line(&s.name),
            s.items,
            s.unanswerable,
            s.drafts,
            s.status.as_str(),
            one_line(&s.format),
            one_line(s.collection.as_deref().unwrap_or("-")),
            one_line(&s.source)
        );
    }
    Ok(())
}

fn show(ctx: &Context, name: &str, limit: usize, json: bool) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let set = store::get_set(store.conn(), name)?;
    let items = store::items(store.conn(), set.id)?;
    if json {
        let value = serde_json::json!({"set": set, "items": items});
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    print_header(&set);
    for item in items.iter().take(limit) {
        print_item(item);
    }
    if items.len() > limit {
        println!(
            "... {} more (--limit {} shows them, --json all)",
            items.len() - limit,
            items.len()
        );
    }
    Ok(())
}

pub(super) fn print_header(set: &EvalSet) {
    println!(
        "set {} `{}`: {} items ({} unanswerable, {} drafts), {}, format {}, collection {}",
        set.id,
        one_line(&set.name),
        set.items,
        set.unanswerable,
        set.drafts,
        set.status.as_str(),
        one_line(&set.format),
        one_line(set.collection.as_deref().unwrap_or("-"))
    );
    println!("source {}  sha256 {}", one_line(&set.source), set.sha256);
    if !set.meta.is_null() {
        println!("meta {}", set.meta);
    }
}

fn print_item(stored: &StoredItem) {
    let item = &stored.item;
    let mut flags = Vec::new();
    if item.unanswerable {
        flags.push("unanswerable");
    }
    if item.draft {
        flags.push("draft");
    }
    let flags = if flags.is_empty() {
        String::new()
    } else {
        format!("  [{}]", flags.join(", "))
    };
    println!(
        "\n{}{}  {}",
        one_line(&item.key),
        flags,
        one_line(&item.question)
    );
    if !item.answers.is_empty() {
        let answers: Vec<_> = item
            .answers
            .iter()
            .map(|a| one_line(a).to_string())
            .collect();
        println!("    answers: {}", answers.join(" | "));
    }
    if !item.gold_docs.is_empty() {
        let docs: Vec<_> = item
            .gold_docs
            .iter()
            .map(|(d, g)| {
                if *g == 1 {
                    one_line(d).to_string()
                } else {
                    format!("{} ({g})", one_line(d))
                }
            })
            .collect();
        println!("    gold docs: {}", docs.join(", "));
    }
    if !item.gold_chunks.is_empty() {
        let chunks: Vec<_> = item.gold_chunks.iter().map(i64::to_string).collect();
        println!("    gold chunks: {}", chunks.join(", "));
    }
}

fn rm(ctx: &Context, name: &str) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let set = store::get_set(store.conn(), name)?;
    let writer = super::ingest::open_writer(ctx)?;
    let id = set.id;
    write(&writer, move |tx| store::remove_set(tx, id))?;
    println!(
        "removed set `{}` ({} items, with its runs and results)",
        one_line(&set.name),
        set.items
    );
    if set.format.starts_with("squad") {
        // Collections can be shared with other sets and chats: they are never removed here.
        println!(
            "its corpus stays: collection {} and {}",
            one_line(set.collection.as_deref().unwrap_or("-")),
            crate::util::safe::path(
                &crate::eval::import::squad_corpus::corpora_dir(&ctx.paths.data_dir)
                    .join(&set.name)
            )
        );
    }
    Ok(())
}

fn accept(ctx: &Context, name: &str, keys: Vec<String>) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let set = store::get_set(store.conn(), name)?;
    check_keys(ctx, &set, &keys)?;
    let writer = super::ingest::open_writer(ctx)?;
    let id = set.id;
    let n = write(&writer, move |tx| store::accept_items(tx, id, &keys))?;
    let now = store::get_set_by_id(store.conn(), set.id)?;
    println!(
        "accepted {n} item(s) of `{}`; {} draft(s) left, set {}",
        one_line(&set.name),
        now.drafts,
        now.status.as_str()
    );
    Ok(())
}

fn reject(ctx: &Context, name: &str, keys: Vec<String>) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let set = store::get_set(store.conn(), name)?;
    check_keys(ctx, &set, &keys)?;
    let writer = super::ingest::open_writer(ctx)?;
    let id = set.id;
    let n = write(&writer, move |tx| store::reject_items(tx, id, &keys))?;
    println!(
        "removed {n} rejected draft item(s) from `{}`",
        one_line(&set.name)
    );
    Ok(())
}

/// Every key named must be an item of the set (a typo would otherwise accept nothing).
fn check_keys(ctx: &Context, set: &EvalSet, keys: &[String]) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let items = store::items(store.conn(), set.id)?;
    for key in keys {
        if !items.iter().any(|i| &i.item.key == key) {
            anyhow::bail!(
                "set `{}` has no item `{}`; `lmdeck eval sets show {}` lists its items",
                one_line(&set.name),
                one_line(key),
                one_line(&set.name)
            );
        }
    }
    Ok(())
}
