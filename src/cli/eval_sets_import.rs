//! `lmdeck eval sets import PATH [--name] [-c] [--split] [--json]`: QA JSONL, BEIR folders
//! and SQuAD files (whose contexts are written out and ingested as the set's corpus).

use std::path::Path;

use super::progress::CliProgress;
use crate::eval::import::{self, beir_set, save, squad, squad_corpus, Source};
use crate::eval::set::NewSet;
use crate::ingest::{pipeline, IngestRequest};
use crate::services::Context;
use crate::util::safe::{self, one_line};

pub struct ImportArgs<'a> {
    pub path: &'a Path,
    pub name: Option<&'a str>,
    pub collection: Option<&'a str>,
    pub split: &'a str,
    pub json: bool,
}

pub fn run(ctx: &Context, args: &ImportArgs) -> anyhow::Result<()> {
    let source = import::detect(args.path)?;
    let store = super::open_for_writing(ctx)?;
    let (set, ingest) = match &source {
        Source::Squad(path) => {
            let name = import::set_name(path, args.name)?;
            let mut data = squad::read(path, &name, args.collection)?;
            if let Some(same) = save::existing(store.conn(), &name, &data.set.sha256)? {
                return already(&same, args.json);
            }
            let collection = data
                .set
                .collection
                .clone()
                .unwrap_or_else(|| squad::default_collection(&name));
            let dir = squad_corpus::corpora_dir(&ctx.paths.data_dir).join(&name);
            let dir = squad_corpus::write_corpus(&data, &dir)?;
            let request = IngestRequest {
                collection: collection.clone(),
                roots: vec![dir.clone()],
                settings: ctx.chunk_settings()?,
                max_file_bytes: ctx.config().ingest.max_file_mb * 1024 * 1024,
                prune: true,
            };
            let writer = super::ingest::open_writer(ctx)?;
            let report = pipeline::run(
                &store,
                &writer,
                &ctx.embedder()?,
                &ctx.chunk_tokenizer()?,
                &request,
                &CliProgress::new(),
            )?;
            let missing =
                squad_corpus::fill_gold_chunks(store.conn(), &collection, &dir, &mut data)?;
            if missing > 0 {
                eprintln!("note: {missing} answerable question(s) got no gold chunk (their context was not ingested, or the answer was not found in its chunks)");
            }
            (data.set, Some((report, dir)))
        }
        other => {
            let mut set = import::read_simple(other, args.name, args.collection, args.split)?;
            if set.collection.is_none() && is_sample(&set.source) {
                set.collection = Some("sample".into());
            }
            if let Some(same) = save::existing(store.conn(), &set.name, &set.sha256)? {
                return already(&same, args.json);
            }
            (set, None)
        }
    };
    let summary = Summary::of(&set);
    let writer = super::ingest::open_writer(ctx)?;
    let id = save::save(&writer, set)?;
    if args.json {
        let mut value = serde_json::json!({
            "id": id, "name": summary.name, "items": summary.items,
            "unanswerable": summary.unanswerable, "format": summary.format,
            "collection": summary.collection, "sha256": summary.sha256, "already": false,
        });
        if let Some((report, dir)) = &ingest {
            value["ingest"] = serde_json::to_value(report)?;
            value["corpus"] = serde_json::json!(dir);
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    if let Some((report, dir)) = &ingest {
        println!(
            "corpus: {} contexts written to {}",
            summary.contexts,
            safe::path(dir)
        );
        for line in report.lines() {
            println!("{}", one_line(&line));
        }
    }
    println!(
        "imported set {id} `{}` ({}): {} items, {} unanswerable, collection {}",
        one_line(&summary.name),
        summary.format,
        summary.items,
        summary.unanswerable,
        one_line(
            summary
                .collection
                .as_deref()
                .unwrap_or("- (give one with -c, or at `eval run`)")
        )
    );
    if let Source::Beir(dir) = &source {
        let collection = summary
            .collection
            .clone()
            .unwrap_or_else(|| beir_set::default_collection(dir));
        println!(
            "the corpus is not ingested by an import; ingest it with `lmdeck eval retrieval --beir {}` or `lmdeck ingest {} -c {}`",
            safe::path(dir),
            safe::path(&dir.join("corpus.jsonl")),
            one_line(&collection)
        );
    }
    Ok(())
}

struct Summary {
    name: String,
    items: usize,
    unanswerable: usize,
    format: String,
    collection: Option<String>,
    sha256: String,
    contexts: u64,
}

impl Summary {
    fn of(set: &NewSet) -> Summary {
        Summary {
            name: set.name.clone(),
            items: set.items.len(),
            unanswerable: set.items.iter().filter(|i| i.unanswerable).count(),
            format: set.format.clone(),
            collection: set.collection.clone(),
            sha256: set.sha256.clone(),
            contexts: set.meta["contexts"].as_u64().unwrap_or(0),
        }
    }
}

fn already(set: &crate::eval::set::EvalSet, json: bool) -> anyhow::Result<()> {
    if json {
        let value = serde_json::json!({
            "id": set.id, "name": set.name, "items": set.items,
            "unanswerable": set.unanswerable, "format": set.format,
            "collection": set.collection, "sha256": set.sha256, "already": true,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!(
            "set {} `{}` is already there with the same content (sha256 {}): {} items, nothing changed",
            set.id,
            one_line(&set.name),
            set.sha256,
            set.items
        );
    }
    Ok(())
}

/// The sample set's documents are in `sample-data/corpus`, ingested as `sample` (README).
fn is_sample(source: &str) -> bool {
    source.ends_with("sample-data/eval/qa.jsonl")
}
