//! The evaluation screen's background work on the read lane: sets, runs with their live
//! progress and mean F1, items, one item across runs, and the comparison. Reviews of drafted
//! items are changes: the change lane runs them (`review`).

use rusqlite::Connection;

use super::Shared;
use crate::eval::compare::Comparison;
use crate::eval::config::NO_MODEL;
use crate::eval::store::{self as es, EvalStoreError};
use crate::store::writer::DbWriter;
use crate::store::Store;
use crate::tui::eval_msg::{
    EvalEffect, EvalReply, ItemDetail, ItemRow, RunAnswer, RunRow, SetRow, SourceRow, HEADLINE,
};
use crate::tui::msg::Reply;

pub(super) fn read(shared: &Shared, store: Result<&Store, String>, effect: EvalEffect) {
    let reply = match effect {
        EvalEffect::LoadSets { id } => EvalReply::Sets {
            id,
            result: store.and_then(|s| load_sets(s.conn())),
        },
        EvalEffect::LoadRuns { id, set } => EvalReply::Runs {
            id,
            result: store.and_then(|s| load_runs(s.conn(), set)),
        },
        EvalEffect::LoadItems { id, set } => EvalReply::Items {
            id,
            result: store.and_then(|s| load_items(s.conn(), set)),
        },
        EvalEffect::Compare { id, runs } => EvalReply::Compared {
            id,
            result: store.and_then(|s| compare(shared.config.ctx.as_deref(), s, &runs)),
        },
        EvalEffect::LoadItem { id, set, key, runs } => EvalReply::Item {
            id,
            result: store.and_then(|s| load_item(s.conn(), set, &key, &runs)),
        },
        EvalEffect::Review { .. } => {
            tracing::error!("a review reached the read lane (a bug)");
            return;
        }
    };
    shared.send(Reply::Eval(reply));
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Bootstrap resamples and seed: `eval compare`'s defaults, so the console and the CLI
/// report the same intervals for the same runs.
const RESAMPLES: usize = 2000;
const SEED: u64 = 0;

/// Compares `runs` against the first, with the models' lineage (leakage warnings) and prices
/// when the console has the application context (as `lmdeck eval compare`).
fn compare(
    ctx: Option<&crate::services::Context>,
    store: &Store,
    runs: &[i64],
) -> Result<Comparison, String> {
    let mut inputs = crate::eval::compare::load(store.conn(), runs).map_err(err)?;
    if let Some(empty) = inputs
        .iter()
        .find(|r| r.items.iter().all(|i| i.result.is_none()))
    {
        let id = empty.run.id;
        return Err(format!(
            "run {id} has no results yet; wait for it or `lmdeck eval retry {id}`"
        ));
    }
    if let Some(ctx) = ctx {
        crate::services::eval_inputs::enrich(ctx, store, &mut inputs).map_err(err)?;
    }
    // F1 when some run answers; nDCG of documents for retrieval-only runs (as the CLI).
    let headline = if inputs.iter().any(|r| r.run.config.model != NO_MODEL) {
        HEADLINE
    } else {
        "doc_ndcg"
    };
    let baseline = runs.first().copied().unwrap_or_default();
    Ok(crate::eval::compare::compare(
        &inputs, baseline, headline, RESAMPLES, SEED,
    ))
}

fn load_sets(conn: &Connection) -> Result<Vec<SetRow>, String> {
    Ok(es::list_sets(conn)
        .map_err(err)?
        .into_iter()
        .map(|s| SetRow {
            id: s.id,
            name: s.name,
            items: s.items,
            drafts: s.drafts,
            status: s.status.as_str().to_string(),
            collection: s.collection,
        })
        .collect())
}

fn load_runs(conn: &Connection, set: i64) -> Result<Vec<RunRow>, String> {
    let mut out = Vec::new();
    for r in es::list_runs(conn, Some(set)).map_err(err)? {
        // Only runs with results pay for reading them.
        let mean_f1 = if r.done > 0 {
            let results = es::results(conn, r.id).map_err(err)?;
            es::summary(&results).get(HEADLINE).map(|(mean, _)| *mean)
        } else {
            None
        };
        out.push(RunRow {
            id: r.id,
            name: r.name,
            model: r.config.model,
            rag: r.config.rag,
            status: r.status.as_str().to_string(),
            done: r.done,
            failed: r.failed,
            total: r.total,
            job_id: r.job_id,
            mean_f1,
            error: r.error,
        });
    }
    Ok(out)
}

fn load_items(conn: &Connection, set: i64) -> Result<Vec<ItemRow>, String> {
    Ok(es::items(conn, set)
        .map_err(err)?
        .into_iter()
        .map(|i| ItemRow {
            key: i.item.key,
            question: i.item.question,
            answers: i.item.answers,
            draft: i.item.draft,
            unanswerable: i.item.unanswerable,
        })
        .collect())
}

fn load_item(conn: &Connection, set: i64, key: &str, runs: &[i64]) -> Result<ItemDetail, String> {
    let item = es::items(conn, set)
        .map_err(err)?
        .into_iter()
        .find(|i| i.item.key == key)
        .ok_or_else(|| format!("item {key} is no longer in the set"))?;
    let mut answers = Vec::new();
    for &id in runs {
        let run = es::get_run(conn, id).map_err(err)?;
        let results = es::results(conn, id).map_err(err)?;
        let r = results.get(&item.id);
        let detail = r.map(|r| &r.detail);
        answers.push(RunAnswer {
            run: id,
            name: run.name,
            rag: run.config.rag,
            answer: r.and_then(|r| r.answer.clone()),
            error: r.and_then(|r| r.error.clone()),
            metrics: r.map(|r| r.metrics.clone()).unwrap_or_default(),
            sources: detail.map(sources).unwrap_or_default(),
            latency_ms: detail.and_then(|d| d.get("latency_ms")?.as_f64()),
        });
    }
    Ok(ItemDetail {
        key: item.item.key,
        question: item.item.question,
        answers: item.item.answers,
        unanswerable: item.item.unanswerable,
        runs: answers,
    })
}

/// The `sources` of a result's detail; fields it lacks read as empty (older runs).
fn sources(detail: &serde_json::Value) -> Vec<SourceRow> {
    let Some(list) = detail.get("sources").and_then(|s| s.as_array()) else {
        return Vec::new();
    };
    let text = |v: &serde_json::Value, k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let flag = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_bool()) == Some(true);
    list.iter()
        .enumerate()
        .map(|(i, s)| SourceRow {
            n: s.get("n").and_then(|n| n.as_i64()).unwrap_or(i as i64 + 1),
            chunk_id: s.get("chunk_id").and_then(|c| c.as_i64()),
            source_path: text(s, "source_path"),
            heading_path: text(s, "heading_path"),
            cited: flag(s, "cited"),
            attributed: flag(s, "attributed"),
        })
        .collect()
}

/// Accepts or rejects drafted items through the writer; the message is the toast.
pub(super) fn review(
    writer: &DbWriter,
    set: i64,
    keys: Vec<String>,
    accept: bool,
) -> Result<String, String> {
    let label = keys.join(", ");
    let n = writer
        .call(move |tx| {
            let done = if accept {
                es::accept_items(tx, set, &keys)
            } else {
                es::reject_items(tx, set, &keys)
            };
            // A database error rolls the change back; any other is only reported.
            match done {
                Ok(n) => Ok(Ok(n)),
                Err(EvalStoreError::Store(e)) => Err(e),
                Err(other) => Ok(Err(other.to_string())),
            }
        })
        .map_err(err)??;
    let items = if n > 1 {
        format!("{n} items ({label})")
    } else {
        format!("item {label}")
    };
    Ok(match (n, accept) {
        (0, _) => format!("item {label} is no longer a draft: nothing changed"),
        (_, true) => format!("accepted {items}"),
        (_, false) => format!("rejected {items}: removed from the set"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::set::{Item, NewSet, SetStatus};
    use crate::store::writer::WriterOptions;

    fn item(key: &str, draft: bool) -> Item {
        Item {
            key: key.into(),
            question: format!("question {key}?"),
            answers: vec![format!("answer {key}")],
            gold_docs: Default::default(),
            gold_chunks: vec![],
            unanswerable: false,
            draft,
        }
    }

    #[test]
    fn sets_items_and_reviews_go_through_a_real_store() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("lmdeck.db");
        let writer = DbWriter::open(&db, WriterOptions::default()).unwrap();
        let set = writer
            .call(|tx| {
                es::insert_set(
                    tx,
                    &NewSet {
                        name: "drafts".into(),
                        source: "draft:docs".into(),
                        format: "draft".into(),
                        sha256: "0".into(),
                        collection: Some("docs".into()),
                        status: SetStatus::Draft,
                        meta: serde_json::Value::Null,
                        items: vec![item("q1", true), item("q2", true), item("q3", false)],
                    },
                )
                .map_err(|e| match e {
                    EvalStoreError::Store(s) => s,
                    other => panic!("{other}"),
                })
            })
            .unwrap();
        let store = Store::open(&db).unwrap();
        let sets = load_sets(store.conn()).unwrap();
        assert_eq!((sets[0].items, sets[0].drafts), (3, 2));
        assert_eq!(sets[0].status, "draft");
        assert!(load_runs(store.conn(), set).unwrap().is_empty());

        let said = review(&writer, set, vec!["q1".into()], true).unwrap();
        assert_eq!(said, "accepted item q1");
        let said = review(&writer, set, vec!["q2".into()], false).unwrap();
        assert!(said.starts_with("rejected item q2"), "{said}");
        let said = review(&writer, set, vec!["q3".into()], true).unwrap();
        assert!(said.contains("no longer a draft"), "{said}");
        let items = load_items(store.conn(), set).unwrap();
        let keys: Vec<(&str, bool)> = items.iter().map(|i| (i.key.as_str(), i.draft)).collect();
        assert_eq!(keys, vec![("q1", false), ("q3", false)]);
        assert_eq!(load_sets(store.conn()).unwrap()[0].status, "accepted");
        assert!(load_item(store.conn(), set, "q2", &[]).is_err());
        let detail = load_item(store.conn(), set, "q1", &[]).unwrap();
        assert_eq!(detail.answers, vec!["answer q1"]);
    }

    #[test]
    fn compare_reads_the_runs_results_and_needs_some() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("lmdeck.db")).unwrap();
        let conn = store.conn();
        let items = (1..=6).map(|i| item(&format!("q{i}"), false)).collect();
        let set = es::insert_set(
            conn,
            &NewSet {
                name: "qa".into(),
                source: "qa.jsonl".into(),
                format: "jsonl".into(),
                sha256: "0".into(),
                collection: None,
                status: SetStatus::Accepted,
                meta: serde_json::Value::Null,
                items,
            },
        )
        .unwrap();
        let stored = es::items(conn, set).unwrap();
        let mut runs = Vec::new();
        for (name, f1) in [("base", 0.25), ("rag", 0.75), ("empty", 0.0)] {
            let config = serde_json::from_value(serde_json::json!({
                "name": name, "model": "m", "rag": true, "mode": "hybrid", "k": 5,
                "candidates": 50, "rrf_k": 60.0, "temperature": 0.0, "top_k": 0, "top_p": 1.0,
                "repetition_penalty": 1.0, "seed": 1, "max_tokens": 8, "context_tokens": 512,
                "metrics_k": 5
            }))
            .unwrap();
            let run = es::create_run(conn, set, &config, None).unwrap();
            if name != "empty" {
                for it in &stored {
                    let result = es::ItemResult {
                        item_id: it.id,
                        ok: true,
                        answer: Some("a".into()),
                        detail: serde_json::json!({}),
                        metrics: [("f1".to_string(), f1)].into_iter().collect(),
                        error: None,
                        attempts: 1,
                        finished_ms: 1,
                    };
                    es::save_result(conn, run, &result).unwrap();
                }
            }
            runs.push(run);
        }
        let c = compare(None, &store, &runs[..2]).unwrap();
        assert_eq!((c.baseline, c.paired_items, c.runs.len()), (runs[0], 6, 2));
        let f1 = c.metrics.iter().find(|m| m.metric == "f1").unwrap();
        let delta = f1.cells[1].delta.as_ref().unwrap();
        assert!((delta.diff - 0.5).abs() < 1e-9, "{delta:?}");
        let e = compare(None, &store, &runs).unwrap_err();
        assert!(e.contains("has no results yet"), "{e}");
        let rows = load_runs(conn, set).unwrap();
        let means: Vec<Option<f64>> = rows.iter().map(|r| r.mean_f1).collect();
        assert_eq!(means, vec![None, Some(0.75), Some(0.25)], "newest first");
    }

    #[test]
    fn sources_read_what_the_detail_has() {
        let detail = serde_json::json!({"sources": [
            {"n": 2, "chunk_id": 7, "source_path": "a.md", "heading_path": "A > B", "cited": true},
            {"source_path": "b.md"}
        ]});
        let s = sources(&detail);
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].n, s[0].chunk_id, s[0].cited, s[0].attributed),
            (2, Some(7), true, false)
        );
        assert_eq!((s[1].n, s[1].heading_path.as_str()), (2, ""));
        assert!(sources(&serde_json::json!({})).is_empty());
    }
}
