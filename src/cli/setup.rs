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
    for step in install::run(&ctx.paths, &options)? {
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
