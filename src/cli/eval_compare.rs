//! `lmdeck eval compare RUN...`: loads the runs, finds what their models were trained on and
//! what they cost, compares them and prints the table (or JSON, or CSV).

use anyhow::Context as _;

use crate::args::EvalCompareArgs;
use crate::eval::compare::{self, RunInput};
use crate::eval::config::NO_MODEL;
use crate::services::Context;

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
    crate::services::eval_inputs::enrich(ctx, &store, &mut inputs)?;
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
