//! `lmdeck setup`

use crate::args::SetupArgs;
use crate::services::Context;
use crate::setup::install::{self, SetupOptions};
use crate::setup::Outcome;

pub fn run(ctx: &Context, args: &SetupArgs) -> anyhow::Result<()> {
    if args.training {
        let (env, done) = crate::setup::training::install(&ctx.paths, args.force)?;
        let what = match done {
            crate::setup::training::Installed::Reused => "already installed (imports checked)",
            crate::setup::training::Installed::Installed => "installed",
        };
        println!("training environment: {what} -> {}", env.dir.display());
        return Ok(());
    }
    let options = SetupOptions {
        from: args.from.as_deref(),
        force: args.force,
    };
    let mut steps = install::run(&ctx.paths, &options)?;
    let model_dir = ctx
        .paths
        .models_dir()
        .join(crate::setup::pins::DEFAULT_EMBED_MODEL);
    steps.push(crate::setup::fuse::fuse_embed_model(
        &ctx.paths,
        &model_dir,
        args.force,
        |dir| fused_difference(ctx, dir),
    )?);
    for step in steps {
        let what = match &step.outcome {
            Outcome::AlreadyInstalled => "already installed (verified)".to_string(),
            Outcome::Installed => "installed".to_string(),
            Outcome::Skipped(why) => format!("skipped: {why}"),
        };
        println!(
            "{}: {} -> {}",
            step.component,
            what,
            step.location.display()
        );
    }
    Ok(())
}

/// Largest difference between the vectors of the fused and the exported graph of the model in
/// `dir`, on texts of several lengths, computed by lmdeck's own runtime.
fn fused_difference(ctx: &Context, dir: &std::path::Path) -> Result<f32, String> {
    use crate::embed::fused::GraphChoice;
    use crate::embed::{EmbedOptions, Embedder, OnnxEmbedder};
    let runtime = ctx.runtime().map_err(|e| e.to_string())?;
    let start = |graph| {
        let options = EmbedOptions {
            graph,
            sessions: 1,
            ..EmbedOptions::default()
        };
        OnnxEmbedder::start(dir, &runtime, options).map_err(|e| e.to_string())
    };
    let (fused, exported) = (start(GraphChoice::Fused)?, start(GraphChoice::Original)?);
    if fused.graph() != "fused" {
        return Err("the fused graph was not picked up".into());
    }
    let texts: Vec<String> = [
        "How do I reset my password?",
        "",
        "GPU nodes drain when the scheduler finds an unhealthy device; pods move elsewhere.",
        "Ünïcode, numbers 12345 and punctuation!?",
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| t.repeat(1 + 8 * i))
    .collect();
    let a = fused.embed(&texts).map_err(|e| e.to_string())?;
    let b = exported.embed(&texts).map_err(|e| e.to_string())?;
    Ok(a.iter()
        .zip(&b)
        .flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs()))
        .fold(0f32, f32::max))
}
