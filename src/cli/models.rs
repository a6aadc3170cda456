//! `lmdeck models ...`: the chat models this host can run, and which one a name means.

use anyhow::Context as _;

use crate::args::ModelsCommand;
use crate::generate::manifest::DecoderManifest;
use crate::services::models::{all, endpoint_entries, resolve, ModelChoice};
use crate::services::Context;
use crate::store::models;
use crate::util::safe::{one_line as safe, path as safe_path};

pub fn run(ctx: &Context, cmd: ModelsCommand) -> anyhow::Result<()> {
    // Listing works without a database; adding a model creates one.
    let existing = ctx.existing_store()?;
    let store = existing.as_ref();
    match cmd {
        ModelsCommand::List(a) => {
            let mut list = all(ctx, store)?;
            list.extend(endpoint_entries(ctx)?);
            if a.json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            if list.is_empty() {
                println!(
                    "no chat models; `lmdeck setup` installs the default ({})",
                    crate::setup::convert::DEFAULT_CHAT_MODEL
                );
            }
            let default = &ctx.config().generate.model;
            for m in list {
                let lineage = m
                    .base_model
                    .map_or(String::new(), |b| format!(", fine-tuned from {}", safe(&b)));
                let mark = if &m.name == default { " (default)" } else { "" };
                println!(
                    "{}{mark}: {} [{}{lineage}]",
                    safe(&m.name),
                    safe_path(&m.path),
                    m.origin
                );
            }
        }
        ModelsCommand::Add { dir, name, base } => {
            let dir = std::fs::canonicalize(&dir)
                .with_context(|| format!("model folder {}", dir.display()))?;
            let (manifest, _) = DecoderManifest::load(&dir)?;
            let name = name.unwrap_or(manifest.name);
            register(ctx, &name, &dir, base, "added".into())?;
            println!("registered {} -> {}", safe(&name), safe_path(&dir));
        }
        ModelsCommand::Remove { name } => {
            let removed = match store {
                Some(_) => {
                    let name = name.clone();
                    super::ingest::open_writer(ctx)?.call(move |tx| models::remove(tx, &name))?
                }
                None => false,
            };
            if !removed {
                anyhow::bail!("no registered model `{name}` (installed models are removed by deleting their folder)");
            }
            println!(
                "removed {} from the registry (its files are untouched)",
                safe(&name)
            );
        }
        ModelsCommand::Show { name, json } => {
            let dir = match resolve(ctx, store, &name)? {
                ModelChoice::Local(dir) => dir,
                ModelChoice::Remote(name, e) => {
                    let value = serde_json::json!({"name": name, "endpoint": e.shown_url(), "model": e.model, "api_key_env": e.api_key_env,
                        "connect_timeout_s": e.connect_timeout_s, "read_timeout_s": e.read_timeout_s, "context_tokens": e.context_tokens});
                    println!("{}", serde_json::to_string_pretty(&value)?);
                    return Ok(());
                }
            };
            let (manifest, config) = DecoderManifest::load(&dir)?;
            let template = config.template();
            if json {
                let value = serde_json::json!({
                    "name": manifest.name, "path": dir, "architecture": manifest.architecture,
                    "context_length": manifest.context_length, "eos_tokens": manifest.eos_tokens,
                    "chat_template": template, "lineage": manifest.lineage,
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
                return Ok(());
            }
            println!("{}: {}", safe(&manifest.name), safe_path(&dir));
            println!(
                "architecture: {}",
                safe(manifest.architecture.as_deref().unwrap_or("unknown"))
            );
            println!(
                "context: {}",
                manifest
                    .context_length
                    .map_or("unknown".into(), |c| c.to_string())
            );
            println!("end of sequence: {}", safe(&manifest.eos_tokens.join(", ")));
            println!(
                "chat template: {}",
                if template.is_some() {
                    "from tokenizer_config.json"
                } else {
                    "none (ChatML is used)"
                }
            );
            if let Some(l) = &manifest.lineage {
                print_lineage(l);
            }
        }
        ModelsCommand::ImportGguf {
            file,
            name,
            int8_activations,
        } => {
            let name = name.unwrap_or_else(|| {
                file.file_stem().map_or("imported".into(), |s| {
                    s.to_string_lossy().to_lowercase().replace(['.', ' '], "-")
                })
            });
            let precision = if int8_activations {
                crate::setup::convert::Precision::Int8Activations
            } else {
                crate::setup::convert::Precision::Exact
            };
            let dir = crate::setup::convert::import_gguf(&ctx.paths, &file, &name, precision)?;
            register(
                ctx,
                &name,
                &dir,
                None,
                format!("import-gguf {}", file.display()),
            )?;
            println!(
                "converted {} -> {} (registered as {})",
                safe_path(&file),
                safe_path(&dir),
                safe(&name)
            );
        }
    }
    Ok(())
}

fn print_lineage(l: &crate::generate::manifest::Lineage) {
    let text = |v: &Option<String>| safe(v.as_deref().unwrap_or("unknown")).into_owned();
    println!("fine-tuned from: {}", text(&l.base_model));
    println!(
        "dataset: {} (sha256 {})",
        text(&l.dataset),
        text(&l.dataset_sha256)
    );
    if let Some(job) = l.job_id {
        println!("job: {job}");
    }
    if !l.metrics.is_empty() {
        let shown: Vec<String> = l
            .metrics
            .iter()
            .map(|(k, v)| format!("{}={v:.4}", safe(k)))
            .collect();
        println!("metrics: {}", shown.join(", "));
    }
    if let Some(s) = &l.selection {
        println!("selection: {}", selection_line(s));
    }
}

/// `chosen by f1 on eval set qa: step 10 (step 10 0.4120 run 3, step 20 0.3900 run 4; ties: earliest step)`.
fn selection_line(s: &crate::generate::manifest::Selection) -> String {
    let step = s.chosen_step.map_or("?".into(), |n| n.to_string());
    let (Some(metric), Some(set)) = (&s.metric, &s.eval_set) else {
        return format!(
            "{} (step {step})",
            safe(s.by.as_deref().unwrap_or("final step"))
        );
    };
    let points: Vec<String> = s
        .points()
        .iter()
        .map(|(n, v, run)| match run {
            Some(r) => format!("step {n} {v:.4} run {r}"),
            None => format!("step {n} {v:.4}"),
        })
        .collect();
    let ties = s.tie_rule.as_deref().unwrap_or("unknown");
    format!(
        "chosen by {} on eval set {}: step {step} ({}; ties: {})",
        safe(metric),
        safe(set),
        points.join(", "),
        safe(ties)
    )
}

/// Records a model folder in the registry (creating the database when missing).
fn register(
    ctx: &Context,
    name: &str,
    dir: &std::path::Path,
    base: Option<String>,
    source: String,
) -> anyhow::Result<()> {
    drop(super::open_for_writing(ctx)?);
    let (name, path) = (name.to_string(), dir.display().to_string());
    super::ingest::open_writer(ctx)?
        .call(move |tx| models::add(tx, &name, &path, base.as_deref(), &source))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selection_line_names_the_metric_set_step_and_every_value_in_step_order() {
        let s: crate::generate::manifest::Selection = serde_json::from_value(serde_json::json!({
            "by": "task metric", "metric": "f1", "eval_set": "qa", "chosen_step": 10,
            "tie_rule": "earliest step", "values": {"20": 0.25, "10": 0.5, "5": 0.5},
            "eval_runs": {"5": 2, "10": 3, "20": 4}, "items": 2
        }))
        .unwrap();
        assert_eq!(
            selection_line(&s),
            "chosen by f1 on eval set qa: step 10 (step 5 0.5000 run 2, step 10 0.5000 run 3, \
             step 20 0.2500 run 4; ties: earliest step)"
        );
        assert_eq!(s.other["items"], 2, "fields beyond the known ones are kept");
        let plain: crate::generate::manifest::Selection =
            serde_json::from_value(serde_json::json!({"by": "final step", "chosen_step": 20}))
                .unwrap();
        assert_eq!(selection_line(&plain), "final step (step 20)");
    }
}
