//! `lmdeck eval compare RUN...`: loads the runs, finds what their models were trained on,
//! compares them and prints the table (or JSON, or CSV).

use anyhow::Context as _;
use std::path::Path;

use crate::args::EvalCompareArgs;
use crate::eval::compare::{self, leak, RunInput};
use crate::eval::config::NO_MODEL;
use crate::generate::manifest::Lineage;
use crate::services::models::{self, ModelChoice};
use crate::services::Context;
use crate::store::Store;

pub fn run(ctx: &Context, args: &EvalCompareArgs) -> anyhow::Result<()> {
    let mut ids: Vec<i64> = Vec::new();
    for id in &args.runs {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    if ids.len() < 2 {
        anyhow::bail!(
            "`eval compare` needs two or more different runs; `lmdeck eval runs` lists them"
        );
    }
    let baseline = args.baseline.unwrap_or(ids[0]);
    if !ids.contains(&baseline) {
        anyhow::bail!("--baseline {baseline} is not one of the compared runs");
    }
    let store = ctx.open_store()?;
    let mut inputs = compare::load(store.conn(), &ids)?;
    if let Some(empty) = inputs
        .iter()
        .find(|r| r.items.iter().all(|i| i.result.is_none()))
    {
        let id = empty.run.id;
        anyhow::bail!("run {id} has no results yet; wait for it or `lmdeck eval retry {id}`");
    }
    for input in &mut inputs {
        add_lineage(ctx, &store, input);
    }
    let headline = args
        .metric
        .clone()
        .unwrap_or_else(|| default_headline(&inputs));
    let c = compare::compare(&inputs, baseline, &headline, args.resamples, args.seed);
    if let Some(path) = &args.csv {
        std::fs::write(path, super::eval_compare_print::csv(&c))
            .with_context(|| format!("cannot write {}", crate::util::safe::path(path)))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        super::eval_compare_print::table(&c);
    }
    Ok(())
}

/// f1 when some run answers; nDCG of documents for retrieval-only runs.
fn default_headline(inputs: &[RunInput]) -> String {
    if inputs.iter().any(|r| r.run.config.model != NO_MODEL) {
        "f1".into()
    } else {
        "doc_ndcg".into()
    }
}

/// The lineage of the run's model when it is a local folder lmdeck fine-tuned, and the
/// questions of its training file when that file is still there. Anything missing or
/// unreadable means no lineage: the comparison does not depend on it.
fn add_lineage(ctx: &Context, store: &Store, input: &mut RunInput) {
    let model = &input.run.config.model;
    if model == NO_MODEL {
        return;
    }
    let Ok(ModelChoice::Local(dir)) = models::resolve(ctx, Some(store), model) else {
        return;
    };
    let Some(lineage) = read_lineage(&dir) else {
        return;
    };
    input.trained_on = lineage
        .dataset
        .as_deref()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .map(|text| leak::training_questions(&text));
    input.lineage = Some(lineage);
}

fn read_lineage(dir: &Path) -> Option<Lineage> {
    let text = std::fs::read_to_string(dir.join("lmdeck-model.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    serde_json::from_value(value.get("lineage")?.clone()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lineage_is_read_from_the_model_folder_and_absent_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_lineage(dir.path()), None);
        std::fs::write(
            dir.path().join("lmdeck-model.json"),
            r#"{"name": "t", "lineage": {"base_model": "qwen", "dataset": "/d/train.jsonl", "job_id": 4}}"#,
        )
        .unwrap();
        let l = read_lineage(dir.path()).unwrap();
        assert_eq!(l.base_model.as_deref(), Some("qwen"));
        assert_eq!(
            (l.dataset.as_deref(), l.job_id),
            (Some("/d/train.jsonl"), Some(4))
        );
    }
}
