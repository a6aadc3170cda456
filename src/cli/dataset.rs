//! `lmdeck dataset export`: training JSONL from an evaluation set, the corpus or rated chats.

use crate::args::{DatasetCommand, DatasetExportArgs, ExportFormat, ExportSource};
use crate::dataset::{examples, split, write_jsonl, DatasetError, Format, Skipped};
use crate::embed::Embedder;
use crate::eval::qa_set;
use crate::retrieve::{self, Hit};
use crate::services::Context;
use crate::store::{chat, collections, documents};

pub fn run(ctx: &Context, command: DatasetCommand) -> anyhow::Result<()> {
    match command {
        DatasetCommand::Export(args) => export(ctx, &args),
    }
}

fn export(ctx: &Context, args: &DatasetExportArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.holdout),
        "--holdout must be between 0 and 1 (the fraction of the evaluation set kept for evaluation), not {}",
        args.holdout
    );
    let format = match args.format {
        ExportFormat::Chat => Format::Chat,
        ExportFormat::Rag => Format::Rag,
    };
    let eval_items = match &args.eval {
        Some(path) => qa_set::load(path)?,
        None if args.from == ExportSource::Eval => {
            anyhow::bail!("--from eval needs the evaluation set: --eval FILE (QA JSONL)")
        }
        None => Vec::new(),
    };
    let needs_store = format == Format::Rag || args.from != ExportSource::Eval;
    let store = if needs_store {
        Some(ctx.open_store()?)
    } else {
        None
    };
    // Chat answers keep the sources they were given: nothing is retrieved for them.
    let embedder = if format == Format::Rag && args.from != ExportSource::Chats {
        Some(ctx.embedder()?)
    } else {
        None
    };
    let params = ctx.search_params()?;
    // What evaluation will ask: the held-out items. Their documents stay out of training
    // data entirely, as answers and as retrieved sources alike.
    let fraction = if args.include_eval { 0.0 } else { args.holdout };
    let (train, held) = split::split(&eval_items, fraction);
    let mut retrieve = |question: &str| -> Result<Vec<Hit>, DatasetError> {
        let Some(store) = &store else {
            return Ok(Vec::new());
        };
        let embedder = embedder.as_ref().map(|e| e as &dyn Embedder);
        let found = retrieve::search(store, embedder, &args.collection, question, &params)?;
        Ok(found
            .hits
            .into_iter()
            .filter(|hit| {
                !held
                    .iter()
                    .any(|item| item.names_document(&hit.source_path))
            })
            .collect())
    };

    let mut skipped = Skipped::default();
    let (examples, held_out) = match args.from {
        ExportSource::Eval => {
            skipped.held_out = held.len();
            let out = examples::from_qa(&train, format, args.sources, &mut retrieve, &mut skipped)?;
            (out, held.clone())
        }
        ExportSource::Corpus => {
            anyhow::ensure!(
                args.eval.is_some() || args.include_eval,
                "name the evaluation set whose documents must stay out of training (--eval FILE), \
                 or pass --include-eval to export every document"
            );
            let store = store
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("no database"))?;
            let coll = collections::get(store.conn(), &args.collection)?;
            let mut docs = Vec::new();
            for doc in documents::list(store.conn(), coll.id)? {
                if doc.status == "excluded" {
                    continue;
                }
                let chunks = documents::chunks(store.conn(), doc.id)?;
                docs.push((doc, chunks));
            }
            let keep_apart = &held[..];
            let out = examples::from_corpus(
                &docs,
                keep_apart,
                format,
                args.sources,
                args.limit,
                &mut retrieve,
                &mut skipped,
            )?;
            (out, Vec::new())
        }
        ExportSource::Chats => {
            let store = store
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("no database"))?;
            let answers = chat::rated_answers(store.conn(), chat::Rating::Good)?;
            let held_questions: Vec<String> = held
                .iter()
                .map(|i| examples::normalise_question(&i.question))
                .collect();
            let out = examples::from_chats(&answers, &held_questions, format, &mut skipped);
            (out, held.clone())
        }
    };
    let examples: Vec<_> = match args.limit {
        Some(n) => examples.into_iter().take(n).collect(),
        None => examples,
    };
    write_jsonl(&args.out, &examples)?;
    if let Some(path) = &args.heldout_out {
        let rows: Vec<serde_json::Value> = held_out
            .iter()
            .map(|i| {
                serde_json::json!({"id": i.id, "question": i.question, "answer": i.answer, "doc_paths": i.doc_paths})
            })
            .collect();
        write_jsonl(path, &rows)?;
    }
    let sha256 = crate::util::sha256_file(&args.out)?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "out": args.out,
                "examples": examples.len(),
                "sha256": sha256,
                "held_out": held_out.len(),
                "skipped": skipped,
            })
        );
    } else {
        println!(
            "wrote {} example(s) to {} (sha256 {})",
            examples.len(),
            args.out.display(),
            &sha256[..12.min(sha256.len())]
        );
        if skipped.held_out > 0 {
            let to = args
                .heldout_out
                .as_ref()
                .map_or_else(String::new, |p| format!(", written to {}", p.display()));
            println!(
                "  {} evaluation item(s) held out for evaluation{to}",
                skipped.held_out
            );
        }
        let left_out = [
            (
                skipped.eval_documents,
                "chunk(s) left out: held-out evaluation questions ask about their documents \
                 (--include-eval keeps them; evaluate on the held-out part, --heldout-out)",
            ),
            (
                skipped.source_not_retrieved,
                "left out: retrieval did not find the document holding the answer",
            ),
            (
                skipped.eval_questions,
                "answer(s) left out: their question is in the evaluation set (--include-eval keeps them)",
            ),
            (
                skipped.sources_gone,
                "answer(s) left out: a source chunk they were given no longer exists",
            ),
            (
                skipped.no_question,
                "answer(s) with no question before them",
            ),
            (skipped.too_short, "chunk(s) too short to use"),
        ];
        for (count, why) in left_out.into_iter().filter(|(n, _)| *n > 0) {
            println!("  {count} {why}");
        }
    }
    Ok(())
}
