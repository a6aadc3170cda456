//! Executing a run: every item of the set not yet evaluated (a stored `ok` result is never
//! redone; an `error` is), through the same `rag::ask` as `lmdeck ask`, or through the
//! retriever alone for `model = "none"`. Each item's answer, sources, ranking, timings and
//! every metric are stored as it finishes, so a killed run resumes where it stopped and the
//! same seed gives the same results.

use std::collections::BTreeMap;
use std::time::Instant;

use super::config::RunConfig;
use super::set::StoredItem;
use super::store::{self, EvalStoreError, ItemResult, Run, RunStatus};
use super::{judge, score};
use crate::embed::Embedder;
use crate::generate::{Cancel, Generator, SamplingParams};
use crate::jobs::queue::now_ms;
use crate::rag::{self, AskOptions, Source};
use crate::retrieve::{self, Mode, SearchParams};
use crate::store::{DbWriter, Store};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] EvalStoreError),
    #[error(transparent)]
    Db(#[from] crate::store::StoreError),
    #[error(transparent)]
    Retrieve(#[from] retrieve::RetrieveError),
    #[error(transparent)]
    Embed(#[from] crate::embed::EmbedError),
    #[error("run {run} ({name}) retrieves but names no collection, and set `{set}` has none: add `--set collection=NAME` (or -c NAME)")]
    NoCollection { run: i64, name: String, set: String },
    #[error("run {run} ({name}) generates answers but no chat model was loaded")]
    NoGenerator { run: i64, name: String },
    #[error("run {run} ({name}) is graded by judge `{judge}`, but no judge model was loaded")]
    NoJudge {
        run: i64,
        name: String,
        judge: String,
    },
}

/// What a run needs, loaded once by the caller (models are heavy; a process executing several
/// runs of one model shares them).
pub struct Engines<'a> {
    /// The configured search settings that run configurations do not name (oversampling,
    /// common-term cut-off).
    pub search: SearchParams,
    pub store: &'a Store,
    pub writer: &'a DbWriter,
    pub embedder: Option<&'a dyn Embedder>,
    pub generator: Option<&'a dyn Generator>,
    /// The run's judge (`RunConfig::judge`), when it has one.
    pub judge: Option<&'a dyn Generator>,
}

/// Told after each item is stored.
pub trait Progress {
    fn item(&mut self, done: usize, failed: usize, total: usize, result: &ItemResult);
}

impl<F: FnMut(usize, usize, usize, &ItemResult)> Progress for F {
    fn item(&mut self, done: usize, failed: usize, total: usize, result: &ItemResult) {
        self(done, failed, total, result)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Items evaluated now, items kept from before, items that failed now.
    pub evaluated: usize,
    pub kept: usize,
    pub failed: usize,
    pub cancelled: bool,
}

/// The collection a run retrieves from: its own, else its set's.
pub fn collection_of(run: &Run, set_collection: Option<&str>) -> Option<String> {
    run.config
        .collection
        .clone()
        .or_else(|| set_collection.map(str::to_string))
}

/// Whether the run needs the embedder: vector retrieval, or attribution of answers to sources.
pub fn needs_embedder(config: &RunConfig) -> bool {
    let retrieves = config.rag || !config.generates();
    retrieves && (config.mode != "keyword" || config.generates())
}

pub fn execute(
    engines: &Engines,
    run_id: i64,
    cancel: &Cancel,
    progress: &mut dyn Progress,
) -> Result<Outcome, RunError> {
    let result = execute_inner(engines, run_id, cancel, progress);
    if let Err(e) = &result {
        // A run never stays `running` after its executor gave up: it says why.
        let error = format!("{e}; `lmdeck eval retry {run_id}` continues");
        let _ = engines
            .writer
            .call_with(move |tx| store::mark_run(tx, run_id, RunStatus::Failed, Some(&error)));
    }
    result
}

fn execute_inner(
    engines: &Engines,
    run_id: i64,
    cancel: &Cancel,
    progress: &mut dyn Progress,
) -> Result<Outcome, RunError> {
    let conn = engines.store.conn();
    let run = store::get_run(conn, run_id)?;
    let set = store::get_set_by_id(conn, run.set_id)?;
    let config = &run.config;
    let retrieves = config.rag || !config.generates();
    let collection = collection_of(&run, set.collection.as_deref());
    if retrieves && collection.is_none() {
        return Err(RunError::NoCollection {
            run: run.id,
            name: run.name.clone(),
            set: set.name.clone(),
        });
    }
    if config.generates() && engines.generator.is_none() {
        return Err(RunError::NoGenerator {
            run: run.id,
            name: run.name.clone(),
        });
    }
    if let (Some(judge), None) = (config.judge(), engines.judge) {
        return Err(RunError::NoJudge {
            run: run.id,
            name: run.name.clone(),
            judge: judge.to_string(),
        });
    }
    let items = store::run_items(conn, &run)?;
    let done_before = store::results(conn, run.id)?;
    let pending: Vec<&StoredItem> = items
        .iter()
        .filter(|i| !done_before.get(&i.id).is_some_and(|r| r.ok))
        .collect();
    let kept = items.len() - pending.len();
    {
        let id = run.id;
        engines
            .writer
            .call_with(move |tx| store::mark_run(tx, id, RunStatus::Running, None))?;
    }
    let mut outcome = Outcome {
        evaluated: 0,
        kept,
        failed: 0,
        cancelled: false,
    };
    let total = items.len();
    let params = search_params(&engines.search, config)?;
    let collection = collection.unwrap_or_default();
    if config.generates() {
        for item in pending {
            if cancel.is_cancelled() {
                outcome.cancelled = true;
                break;
            }
            let result = answer_item(engines, config, &collection, &params, item, cancel);
            if cancel.is_cancelled() && !result.ok {
                // A cancelled answer is not a result, nor an error of the item.
                outcome.cancelled = true;
                break;
            }
            save(engines.writer, run.id, vec![result.clone()])?;
            outcome.evaluated += 1;
            outcome.failed += usize::from(!result.ok);
            progress.item(kept + outcome.evaluated, outcome.failed, total, &result);
        }
    } else {
        // Retrieval only: the questions are embedded in one call (the embedder batches them by
        // length itself, as `eval retrieval` always did, so its figures stay the same to the
        // last digit); results are written 64 at a time.
        let vectors = match (params.mode.uses_vectors(), engines.embedder) {
            (true, Some(embedder)) => {
                let texts: Vec<String> = pending.iter().map(|i| i.item.question.clone()).collect();
                let vectors = embedder.embed(&texts)?;
                if vectors.len() != texts.len() {
                    return Err(RunError::Embed(crate::embed::EmbedError::Inference(
                        format!("{} vectors for {} questions", vectors.len(), texts.len()),
                    )));
                }
                Some(vectors)
            }
            _ => None,
        };
        for (b, batch) in pending.chunks(64).enumerate() {
            if cancel.is_cancelled() {
                outcome.cancelled = true;
                break;
            }
            let vectors = vectors
                .as_ref()
                .map(|v| &v[b * 64..(b * 64 + batch.len()).min(v.len())]);
            let results = rank_batch(engines, config, &collection, &params, batch, vectors);
            save(engines.writer, run.id, results.clone())?;
            for result in &results {
                outcome.evaluated += 1;
                outcome.failed += usize::from(!result.ok);
                progress.item(kept + outcome.evaluated, outcome.failed, total, result);
            }
        }
    }
    let after = store::results(conn, run.id)?;
    let failed: Vec<&ItemResult> = after.values().filter(|r| !r.ok).collect();
    let unfinished = items.iter().filter(|i| !after.contains_key(&i.id)).count();
    let (status, error) = if failed.is_empty() && unfinished == 0 {
        (RunStatus::Succeeded, None)
    } else if outcome.cancelled && failed.is_empty() {
        (
            RunStatus::Failed,
            Some(format!(
                "stopped with {unfinished} items left; `lmdeck eval retry {}` continues",
                run.id
            )),
        )
    } else {
        let first = failed
            .first()
            .and_then(|r| r.error.clone())
            .unwrap_or_default();
        (
            RunStatus::Failed,
            Some(format!(
                "{} items failed (first: {first}); `lmdeck eval retry {}` evaluates them again",
                failed.len(),
                run.id
            )),
        )
    };
    let id = run.id;
    engines
        .writer
        .call_with(move |tx| store::mark_run(tx, id, status, error.as_deref()))?;
    Ok(outcome)
}

fn save(writer: &DbWriter, run_id: i64, results: Vec<ItemResult>) -> Result<(), RunError> {
    writer.call_with(move |tx| {
        for r in &results {
            store::save_result(tx, run_id, r)?;
        }
        Ok::<(), EvalStoreError>(())
    })?;
    Ok(())
}

fn search_params(base: &SearchParams, config: &RunConfig) -> Result<SearchParams, RunError> {
    let mode: Mode = config.mode.parse()?;
    // A retrieval-only run scores its ranking @metrics_k: it must rank that deep.
    let k = if config.generates() {
        config.k
    } else {
        config.k.max(config.metrics_k)
    };
    Ok(SearchParams {
        k,
        mode,
        candidates: config.candidates.max(k),
        rrf_k: config.rrf_k,
        ..*base
    })
}

fn failed(item: &StoredItem, error: String) -> ItemResult {
    ItemResult {
        item_id: item.id,
        ok: false,
        answer: None,
        detail: serde_json::json!({}),
        metrics: BTreeMap::new(),
        error: Some(error),
        attempts: 1,
        finished_ms: now_ms(),
    }
}

/// Ranks of the retrieval-only runs: the ranking's documents (the first 100) and chunks are
/// kept, so metrics at other cut-offs can be computed again from the stored result.
fn rank_batch(
    engines: &Engines,
    config: &RunConfig,
    collection: &str,
    params: &SearchParams,
    batch: &[&StoredItem],
    vectors: Option<&[Vec<f32>]>,
) -> Vec<ItemResult> {
    let mut out = Vec::with_capacity(batch.len());
    for (i, item) in batch.iter().enumerate() {
        let vector = vectors.and_then(|v| v.get(i)).map(Vec::as_slice);
        let started = Instant::now();
        let result = match retrieve::search_embedded(
            engines.store,
            collection,
            &item.item.question,
            vector,
            params,
        ) {
            Ok(r) => r,
            Err(e) => {
                out.push(failed(item, e.to_string()));
                continue;
            }
        };
        let ms = started.elapsed().as_secs_f64() * 1e3;
        let ranking = score::Ranking::of_hits(&result.hits, &item.item);
        let mut metrics = ranking.metrics(&item.item, config.metrics_k);
        metrics.insert("retrieval_ms".into(), ms);
        out.push(ItemResult {
            item_id: item.id,
            ok: true,
            answer: None,
            detail: serde_json::json!({
                "ranking": ranking.documents.iter().take(100).collect::<Vec<_>>(),
                "chunks": ranking.chunks.iter().take(100).collect::<Vec<_>>(),
                "retrieval_ms": ms,
            }),
            metrics,
            error: None,
            attempts: 1,
            finished_ms: now_ms(),
        });
    }
    out
}

fn answer_item(
    engines: &Engines,
    config: &RunConfig,
    collection: &str,
    params: &SearchParams,
    item: &StoredItem,
    cancel: &Cancel,
) -> ItemResult {
    let Some(generator) = engines.generator else {
        return failed(item, "no chat model loaded".into());
    };
    let options = AskOptions {
        rag: config.rag,
        collection: config.rag.then(|| collection.to_string()),
        search: *params,
        sampling: SamplingParams {
            temperature: config.temperature as f32,
            top_k: config.top_k,
            top_p: config.top_p as f32,
            repetition_penalty: config.repetition_penalty as f32,
            // Every item starts from the run's seed, so an item's answer does not depend on
            // which items ran before it (a resumed run gives the same answers).
            seed: config.seed,
        },
        max_new_tokens: config.max_tokens,
        context_tokens: config.context_tokens,
        pinned: Vec::new(),
        history: Vec::new(),
        instructions: config.prompt.clone(),
    };
    let started = Instant::now();
    let mut timing = Timing::default();
    let answer = rag::ask(
        engines.store,
        engines.embedder,
        generator,
        &item.item.question,
        &options,
        cancel,
        &mut TimingSink {
            started,
            timing: &mut timing,
        },
    );
    let answer = match answer {
        Ok(a) if a.stats.finish == crate::generate::FinishReason::Cancelled => {
            return failed(item, "cancelled".into())
        }
        Ok(a) => a,
        Err(e) => return failed(item, e.to_string()),
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut metrics = score::answer_metrics(&item.item, &answer, config.metrics_k);
    // Graded after the answer's own timings are taken: the judge's time is not the system's.
    let judged = match (config.judge(), engines.judge) {
        (Some(name), Some(judge)) => {
            match judge_item(judge, name, config, item, &answer.text, &metrics, cancel) {
                Ok(j) => Some(j),
                Err(e) => return failed(item, e),
            }
        }
        _ => None,
    };
    if let Some((judge_metrics, _)) = &judged {
        metrics.extend(judge_metrics.clone());
    }
    let stats = &answer.stats;
    let first_token_ms = timing.first_token_ms.unwrap_or(latency_ms);
    let retrieval_ms = timing.sources_ms.unwrap_or(0.0);
    metrics.insert("latency_ms".into(), latency_ms);
    metrics.insert("first_token_ms".into(), first_token_ms);
    if stats.decode_tokens_per_s.is_finite() && stats.completion_tokens > 1 {
        metrics.insert("tokens_per_s".into(), stats.decode_tokens_per_s);
    }
    let sources: Vec<serde_json::Value> = answer
        .sources
        .iter()
        .map(|s: &Source| {
            serde_json::json!({
                "n": s.n,
                "chunk_id": s.chunk_id,
                "source_path": s.source_path,
                "heading_path": s.heading_path,
                "cited": answer.cited.contains(&s.n),
                "attributed": score::attributed(&answer).contains(&s.n),
                "gold": score::source_is_gold(&item.item, s),
            })
        })
        .collect();
    let ranking = answer
        .retrieval
        .as_ref()
        .map(|r| score::Ranking::of_hits(&r.hits, &item.item));
    let mut detail = serde_json::json!({
            "sources": sources,
            "cited": answer.cited,
            "attribution": score::attribution_json(&answer),
            "ranking": ranking.as_ref().map(|r| r.documents.clone()),
            "trace": answer.retrieval.as_ref().map(|r| serde_json::json!({
                "mode": r.mode, "k": r.k, "rrf_k": r.rrf_k, "fts_query": r.fts_query,
                "hits": r.hits.iter().map(|h| serde_json::json!({
                    "rank": h.rank, "chunk_id": h.chunk_id, "source_path": h.source_path,
                    "trace": h.trace,
                })).collect::<Vec<_>>(),
                "timings": r.timings,
            })),
            "model": answer.model,
            "backend": answer.backend,
            "finish": format!("{:?}", stats.finish),
            "latency_ms": latency_ms,
            "first_token_ms": first_token_ms,
            "retrieval_ms": retrieval_ms,
            "prefill_ms": stats.time_to_first_token_ms,
            "decode_ms": (stats.total_ms - stats.time_to_first_token_ms).max(0.0),
            "tokens_per_s": stats.decode_tokens_per_s,
            "prompt_tokens": stats.prompt_tokens,
            "answer_tokens": stats.completion_tokens,
    });
    if let Some((_, judge_detail)) = judged {
        // Flat numbers too: the comparison prices the judge's tokens and time from them.
        for (flat, key) in [
            ("judge_prompt_tokens", "prompt_tokens"),
            ("judge_answer_tokens", "answer_tokens"),
            ("judge_ms", "ms"),
        ] {
            detail[flat] = judge_detail[key].clone();
        }
        if let Some(label) = judge_detail["label"].as_bool() {
            detail["judge_label"] = serde_json::json!(u8::from(label));
        }
        detail["judge"] = judge_detail;
    }
    ItemResult {
        item_id: item.id,
        ok: true,
        answer: Some(answer.text.clone()),
        detail,
        metrics,
        error: None,
        attempts: 1,
        finished_ms: now_ms(),
    }
}

/// The judge's metrics and detail for one answer; an unreachable judge is the item's error.
fn judge_item(
    judge: &dyn Generator,
    name: &str,
    config: &RunConfig,
    item: &StoredItem,
    answer: &str,
    metrics: &BTreeMap<String, f64>,
    cancel: &Cancel,
) -> Result<(BTreeMap<String, f64>, serde_json::Value), String> {
    let settings = judge::Settings {
        runs: config.judge_runs,
        temperature: config.judge_temperature,
        seed: config.seed,
        max_tokens: config.judge_max_tokens,
    };
    let grading = judge::grade(judge, &item.item, answer, &settings, cancel)
        .map_err(|e| format!("judge {name}: {e}"))?;
    if cancel.is_cancelled() {
        return Err("cancelled".into());
    }
    let label = judge::label(&item.item, metrics);
    Ok((grading.metrics(label), grading.detail(name, label)))
}

#[derive(Default)]
struct Timing {
    sources_ms: Option<f64>,
    first_token_ms: Option<f64>,
}

/// Times, from the request: sources chosen (retrieval and prompt done) and the first token.
struct TimingSink<'a> {
    started: Instant,
    timing: &'a mut Timing,
}

impl rag::answer::AnswerSink for TimingSink<'_> {
    fn sources(&mut self, _sources: &[Source]) {
        self.timing.sources_ms = Some(self.started.elapsed().as_secs_f64() * 1e3);
    }

    fn text(&mut self, piece: &str) {
        if self.timing.first_token_ms.is_none() && !piece.is_empty() {
            self.timing.first_token_ms = Some(self.started.elapsed().as_secs_f64() * 1e3);
        }
    }
}
