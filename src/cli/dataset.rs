//! `lmdeck dataset export`: chat-format JSONL (`{"messages": [...]}` per line, what
//! `lmdeck finetune` trains on) from an eval set or from a collection's chunks.
//!
//! The `rag` format puts the numbered sources in the prompt exactly as `ask` does
//! (`rag::prompt::messages`), and the answer cites the sources it rests on as `[n]`, so a
//! model trained on it learns the prompt it will see.

use anyhow::Context as _;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use crate::args::DatasetExportArgs;
use crate::embed::Embedder;
use crate::generate::ChatMessage;
use crate::rag::context::Source;
use crate::services::Context;
use crate::store::{collections, documents, Store};

/// One eval item (sample-data/eval/qa.jsonl's shape).
#[derive(Debug, Clone, serde::Deserialize)]
struct EvalItem {
    question: String,
    answer: String,
    #[serde(default)]
    doc_paths: Vec<String>,
}

fn read_eval(path: &Path) -> anyhow::Result<Vec<EvalItem>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("eval set {}", path.display()))?;
    let mut items = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let item: EvalItem = serde_json::from_str(line).with_context(|| {
            format!(
                "{}:{}: expected {{\"question\", \"answer\", \"doc_paths\"}}",
                path.display(),
                n + 1
            )
        })?;
        items.push(item);
    }
    Ok(items)
}

/// Whether a stored source path is one of the eval set's documents (given relative to the
/// corpus root, as in sample-data/eval/qa.jsonl).
fn is_gold(source_path: &str, gold: &[String]) -> bool {
    gold.iter()
        .any(|g| source_path == g || source_path.ends_with(&format!("/{g}")))
}

fn example(messages: Vec<ChatMessage>, answer: String) -> serde_json::Value {
    let mut list: Vec<serde_json::Value> = messages
        .into_iter()
        .map(|m| serde_json::json!({"role": m.role, "content": m.content}))
        .collect();
    list.push(serde_json::json!({"role": "assistant", "content": answer}));
    serde_json::json!({ "messages": list })
}

/// The answer with its citations appended (`... [2][3]`).
fn cited(answer: &str, numbers: &[usize]) -> String {
    let marks: String = numbers.iter().map(|n| format!("[{n}]")).collect();
    format!("{} {marks}", answer.trim())
}

/// Retrieval for the RAG format: the store, the embedder when the mode needs one, and k.
struct Retriever<'a> {
    store: &'a Store,
    embedder: Option<crate::embed::onnx::OnnxEmbedder>,
    params: crate::retrieve::SearchParams,
    collection: String,
}

impl<'a> Retriever<'a> {
    fn new(ctx: &Context, store: &'a Store, args: &DatasetExportArgs) -> anyhow::Result<Self> {
        let mut params = ctx.search_params()?;
        params.k = args.k.unwrap_or(ctx.config().generate.rag_k).max(1);
        let embedder = if params.mode.uses_vectors() {
            Some(ctx.embedder()?)
        } else {
            None
        };
        Ok(Retriever {
            store,
            embedder,
            params,
            collection: args.collection.clone(),
        })
    }

    fn sources(&self, question: &str) -> anyhow::Result<Vec<Source>> {
        let result = crate::retrieve::search(
            self.store,
            self.embedder.as_ref().map(|e| e as &dyn Embedder),
            &self.collection,
            question,
            &self.params,
        )?;
        Ok(result
            .hits
            .iter()
            .enumerate()
            .map(|(i, h)| Source::from_hit(i + 1, h))
            .collect())
    }
}

pub fn export(ctx: &Context, args: &DatasetExportArgs) -> anyhow::Result<()> {
    let eval = args.eval.as_deref().map(read_eval).transpose()?;
    let rag = args.format == "rag";
    let store = if rag || args.from == "corpus" {
        let store = ctx.open_store()?;
        // A missing collection fails before the embedder loads.
        collections::get(store.conn(), &args.collection)?;
        Some(store)
    } else {
        None
    };
    let retriever = match (&store, rag) {
        (Some(store), true) => Some(Retriever::new(ctx, store, args)?),
        _ => None,
    };
    let examples = match (args.from.as_str(), &store) {
        ("corpus", Some(store)) => {
            corpus_examples(store, args, eval.as_deref(), retriever.as_ref())?
        }
        _ => eval_examples(args, eval, retriever.as_ref())?,
    };
    if examples.is_empty() {
        anyhow::bail!(
            "nothing to export from `{}` with these options; nothing was written",
            args.from
        );
    }
    write_out(&args.out, &examples, args.json)
}

fn eval_examples(
    args: &DatasetExportArgs,
    eval: Option<Vec<EvalItem>>,
    retriever: Option<&Retriever>,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let items = eval.ok_or_else(|| anyhow::anyhow!("--from eval needs --eval FILE (JSONL with question, answer, doc_paths; e.g. sample-data/eval/qa.jsonl)"))?;
    let mut out = Vec::new();
    let mut unsupported = 0;
    for item in items {
        let Some(r) = retriever else {
            out.push(example(
                vec![ChatMessage::new("user", &item.question)],
                item.answer.trim().to_string(),
            ));
            continue;
        };
        let sources = r.sources(&item.question)?;
        let gold: Vec<usize> = sources
            .iter()
            .filter(|s| is_gold(&s.source_path, &item.doc_paths))
            .map(|s| s.n)
            .collect();
        // An answer must rest on a source it cites; without its document retrieved the item
        // would teach citing the wrong source.
        if gold.is_empty() {
            unsupported += 1;
            continue;
        }
        let messages = crate::rag::prompt::messages(&item.question, &[], &sources);
        out.push(example(messages, cited(&item.answer, &gold)));
    }
    if unsupported > 0 {
        eprintln!(
            "left out {unsupported} item(s) whose documents were not among the top {} sources in `{}`",
            args.k.map_or("k".into(), |k| k.to_string()),
            args.collection
        );
    }
    Ok(out)
}

/// A chunk as a training item: a question about its section, its text as the answer.
struct ChunkItem {
    chunk_id: i64,
    document_id: i64,
    source_path: String,
    title: String,
    heading_path: String,
    question: String,
    text: String,
}

fn corpus_chunks(
    store: &Store,
    args: &DatasetExportArgs,
    eval: Option<&[EvalItem]>,
) -> anyhow::Result<Vec<ChunkItem>> {
    let gold: Vec<String> = match (eval, args.include_eval) {
        (_, true) => Vec::new(),
        (Some(items), false) => items.iter().flat_map(|i| i.doc_paths.clone()).collect(),
        (None, false) => anyhow::bail!(
            "--from corpus needs --eval FILE, whose documents are left out so the eval set stays unseen, or --include-eval to export everything"
        ),
    };
    let coll = collections::get(store.conn(), &args.collection)?;
    let mut out = Vec::new();
    let mut left_out = HashSet::new();
    for doc in documents::list(store.conn(), coll.id)? {
        if doc.status == "excluded" {
            continue;
        }
        if is_gold(&doc.source_path, &gold) {
            left_out.insert(doc.id);
            continue;
        }
        for c in documents::chunks(store.conn(), doc.id)? {
            if c.excluded || c.text.trim().is_empty() {
                continue;
            }
            let section = if c.heading_path.is_empty() {
                doc.title.clone()
            } else {
                c.heading_path.clone()
            };
            let file = Path::new(&doc.source_path)
                .file_name()
                .map_or(doc.source_path.clone(), |f| {
                    f.to_string_lossy().into_owned()
                });
            out.push(ChunkItem {
                chunk_id: c.id,
                document_id: doc.id,
                source_path: doc.source_path.clone(),
                title: doc.title.clone(),
                heading_path: c.heading_path.clone(),
                question: format!("What does \"{section}\" in {file} say?"),
                text: c.text.trim().to_string(),
            });
        }
    }
    if !left_out.is_empty() {
        eprintln!(
            "left out {} document(s) of the eval set (--include-eval keeps them)",
            left_out.len()
        );
    }
    Ok(out)
}

fn corpus_examples(
    store: &Store,
    args: &DatasetExportArgs,
    eval: Option<&[EvalItem]>,
    retriever: Option<&Retriever>,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    for c in corpus_chunks(store, args, eval)? {
        let Some(r) = retriever else {
            out.push(example(vec![ChatMessage::new("user", &c.question)], c.text));
            continue;
        };
        let mut sources = r.sources(&c.question)?;
        // The chunk itself is always among the sources: retrieval may miss it, and the
        // answer must cite it. It takes the last place, the others keep their numbers.
        let n = match sources.iter().find(|s| s.chunk_id == c.chunk_id) {
            Some(s) => s.n,
            None => {
                sources.truncate(r.params.k.saturating_sub(1));
                let n = sources.len() + 1;
                sources.push(Source {
                    n,
                    chunk_id: c.chunk_id,
                    document_id: c.document_id,
                    source_path: c.source_path.clone(),
                    title: c.title.clone(),
                    heading_path: c.heading_path.clone(),
                    text: c.text.clone(),
                });
                n
            }
        };
        let messages = crate::rag::prompt::messages(&c.question, &[], &sources);
        out.push(example(messages, cited(&c.text, &[n])));
    }
    Ok(out)
}

fn write_out(path: &Path, examples: &[serde_json::Value], json: bool) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    // Written beside the target and renamed: a failed export never leaves half a file.
    let partial = path.with_extension("partial");
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&partial)
            .with_context(|| format!("writing {}", partial.display()))?,
    );
    for e in examples {
        serde_json::to_writer(&mut file, e)?;
        file.write_all(b"\n")?;
    }
    file.flush()
        .with_context(|| format!("writing {}", partial.display()))?;
    drop(file);
    std::fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))?;
    if json {
        println!(
            "{}",
            serde_json::json!({"out": path, "examples": examples.len()})
        );
    } else {
        println!("wrote {} example(s) to {}", examples.len(), path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gold_paths_match_whole_path_components_only() {
        let gold = vec!["handbook/pto.md".to_string()];
        assert!(is_gold("/data/corpus/handbook/pto.md", &gold));
        assert!(is_gold("handbook/pto.md", &gold));
        assert!(!is_gold("/data/corpus/old-handbook/pto.md", &gold));
        assert!(!is_gold("/data/corpus/handbook/pto.md.bak", &gold));
    }

    #[test]
    fn an_answer_cites_its_sources_and_the_example_ends_with_it() {
        let e = example(
            vec![ChatMessage::new("user", "q?")],
            cited(" Five days. ", &[2, 3]),
        );
        let msgs = e["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[1]["role"], "assistant");
        assert_eq!(msgs[1]["content"], "Five days. [2][3]");
    }
}
