//! What a comparison needs beyond the database, shared by `lmdeck eval compare` and the
//! console: each run's model lineage with the questions of its training file (leakage
//! warnings), and the prices of its model and judge (`<config dir>/pricing.toml`).

use std::path::Path;

use super::models::{self, ModelChoice};
use super::Context;
use crate::eval::compare::{leak, RunInput};
use crate::eval::config::NO_MODEL;
use crate::eval::pricing::{self, Prices, PricingError};
use crate::generate::manifest::Lineage;
use crate::store::Store;

/// The pricing file's place.
pub fn pricing_path(ctx: &Context) -> std::path::PathBuf {
    ctx.paths.config_dir.join("pricing.toml")
}

/// Fills in lineage, training questions and prices. A pricing file with a mistake is an
/// error (it names the line); a missing one means no costs.
pub fn enrich(ctx: &Context, store: &Store, inputs: &mut [RunInput]) -> Result<(), PricingError> {
    let prices = pricing::load(&pricing_path(ctx))?;
    for input in inputs.iter_mut() {
        add_lineage(ctx, store, input);
        if let Some(prices) = &prices {
            add_prices(ctx, store, prices, input);
        }
    }
    Ok(())
}

fn is_local(ctx: &Context, store: &Store, model: &str) -> bool {
    matches!(
        models::resolve(ctx, Some(store), model),
        Ok(ModelChoice::Local(_))
    )
}

fn add_prices(ctx: &Context, store: &Store, prices: &Prices, input: &mut RunInput) {
    let config = &input.run.config;
    if config.generates() {
        input.price = prices.of(&config.model, is_local(ctx, store, &config.model));
    }
    if let Some(judge) = config.judge() {
        input.judge_price = prices.of(judge, is_local(ctx, store, judge));
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
