//! What a comparison is computed from: runs with their items' metrics, as plain data (the
//! database is read by `load`; tests build these by hand).

use rusqlite::Connection;
use std::collections::{BTreeMap, BTreeSet};

use super::kinds::SPEED;
use crate::eval::pricing::Price;
use crate::eval::store::{self, EvalStoreError, ItemResult, Run};
use crate::generate::manifest::Lineage;

#[derive(Debug, Clone)]
pub struct RunInput {
    pub run: Run,
    /// The items the run evaluates, in set order.
    pub items: Vec<ItemInput>,
    /// Where the run's model came from, when it is a fine-tuned local model.
    pub lineage: Option<Lineage>,
    /// The normalised questions of the model's training data (`leak::training_questions`),
    /// when its lineage names a training file that is still there.
    pub trained_on: Option<BTreeSet<String>>,
    /// Prices of the run's model and of its judge (`eval::pricing`), when configured.
    pub price: Option<Price>,
    pub judge_price: Option<Price>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemInput {
    pub key: String,
    pub question: String,
    /// The item's successful result; None when it failed or has not run yet.
    pub result: Option<Outcome>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Metric values (an absent metric does not apply to the item); speed measures found only
    /// in the detail are copied in.
    pub metrics: BTreeMap<String, f64>,
    /// Numeric fields of the result's detail (latency_ms, prompt_tokens, ...).
    pub detail: BTreeMap<String, f64>,
}

impl Outcome {
    pub fn from_result(r: &ItemResult) -> Outcome {
        let detail: BTreeMap<String, f64> = r
            .detail
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
            .filter(|(_, v)| v.is_finite())
            .collect();
        let mut metrics: BTreeMap<String, f64> = r
            .metrics
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        for name in SPEED {
            if let Some(v) = detail.get(*name) {
                metrics.entry(name.to_string()).or_insert(*v);
            }
        }
        Outcome { metrics, detail }
    }
}

/// Reads the runs, their items and results (lineage and prices are left for the caller).
pub fn load(conn: &Connection, run_ids: &[i64]) -> Result<Vec<RunInput>, EvalStoreError> {
    let mut out = Vec::with_capacity(run_ids.len());
    for &id in run_ids {
        let run = store::get_run(conn, id)?;
        let results = store::results(conn, id)?;
        let items = store::run_items(conn, &run)?
            .into_iter()
            .map(|stored| ItemInput {
                result: results
                    .get(&stored.id)
                    .filter(|r| r.ok)
                    .map(Outcome::from_result),
                key: stored.item.key,
                question: stored.item.question,
            })
            .collect();
        out.push(RunInput {
            run,
            items,
            lineage: None,
            trained_on: None,
            price: None,
            judge_price: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_from_the_detail_fills_in_missing_metrics_only() {
        let r = ItemResult {
            item_id: 1,
            ok: true,
            answer: None,
            detail: serde_json::json!({"latency_ms": 120, "tokens_per_s": 30.5, "model": "x",
                "prompt_tokens": 400}),
            metrics: [("f1".to_string(), 0.5), ("tokens_per_s".to_string(), 31.0)]
                .into_iter()
                .collect(),
            error: None,
            attempts: 1,
            finished_ms: 0,
        };
        let o = Outcome::from_result(&r);
        assert_eq!(o.metrics["latency_ms"], 120.0);
        assert_eq!(o.metrics["tokens_per_s"], 31.0);
        assert!(!o.metrics.contains_key("prompt_tokens"));
        assert_eq!(o.detail["prompt_tokens"], 400.0);
        assert!(!o.detail.contains_key("model"));
    }
}
