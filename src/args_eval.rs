//! `lmdeck eval ...` arguments.

use clap::{Args, Subcommand};
use std::path::PathBuf;

use super::{EvalRetrievalArgs, JsonFlag};

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// nDCG@10, Recall@100 and MRR@10 for vector, keyword and hybrid on a BEIR dataset.
    Retrieval(EvalRetrievalArgs),
    /// Labelled evaluation sets stored in the database.
    #[command(subcommand)]
    Sets(EvalSetsCommand),
    /// Draft question/answer pairs from sampled chunks of a collection, for a person to review
    /// (the set stays a draft until accepted: `eval sets accept`, or in the console).
    Draft(EvalDraftArgs),
    /// Evaluate one or more configurations on a set, each run as a job (waits and shows
    /// progress unless --detach).
    Run(EvalRunArgs),
    /// List evaluation runs (newest first).
    Runs(EvalRunsArgs),
    /// A run's configuration, metrics and per-item results.
    Show(EvalShowArgs),
    /// Evaluate a run's failed and unfinished items again (finished items are kept).
    Retry(EvalRetryArgs),
    /// Compare runs item by item: deltas with 95 % intervals, the 2x2 RAG x fine-tuning
    /// effects, and a verdict.
    Compare(EvalCompareArgs),
    /// Execute a run in this process (what a run's job runs).
    #[command(hide = true)]
    Exec(EvalExecArgs),
}

#[derive(Debug, Subcommand)]
pub enum EvalSetsCommand {
    /// Sets with their source, items and status.
    List(JsonFlag),
    /// A set's items.
    Show {
        /// Set name or id.
        set: String,
        /// Items shown at most (all with --json).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Import a set: QA JSONL ({id, question, answers[], gold_doc_ids[]?, gold_chunk_ids[]?,
    /// unanswerable?}), a BEIR folder (queries + qrels), or SQuAD v1.1/v2.0 JSON (its contexts
    /// become a collection).
    Import {
        /// A .jsonl file, a BEIR folder, or a SQuAD .json file.
        path: PathBuf,
        /// Name of the set (default: from the file or folder name).
        #[arg(long)]
        name: Option<String>,
        /// Collection the gold documents live in (SQuAD: the collection its contexts are
        /// ingested into; default squad-NAME; BEIR: beir-FOLDER).
        #[arg(long, short)]
        collection: Option<String>,
        /// BEIR qrels split.
        #[arg(long, default_value = "test")]
        split: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a set with its runs and results.
    Rm { set: String },
    /// Accept drafted items (all, or the given item ids) so runs use them.
    Accept {
        set: String,
        /// Item ids to accept (default: all drafts).
        items: Vec<String>,
    },
    /// Remove drafted items a reviewer rejected.
    Reject {
        set: String,
        #[arg(required = true)]
        items: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct EvalDraftArgs {
    /// Collection whose chunks questions are drafted from.
    #[arg(long, short)]
    pub collection: String,
    /// Chat model drafting the pairs (default: generate.model).
    #[arg(long)]
    pub model: Option<String>,
    /// Pairs to draft.
    #[arg(short, long, default_value_t = 20)]
    pub n: usize,
    /// Name of the drafted set (default: draft-COLLECTION).
    #[arg(long)]
    pub name: Option<String>,
    /// Chunk sampling seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalRunArgs {
    /// The set (name or id), and configuration overrides as key=value: `--set qa --set
    /// rag=off --set k=3` (a value without `=` names the set).
    #[arg(long = "set", value_name = "SET|KEY=VALUE", required = true)]
    pub set_args: Vec<String>,
    /// Configurations: names of <config dir>/eval/NAME.toml, paths, or `default`. After
    /// `eval run`, `--config NAME` means this flag; the app's config file then goes before
    /// `eval` (`lmdeck --config FILE eval run ...`) or in LMDECK_CONFIG.
    #[arg(long = "run-config", value_name = "NAME", num_args = 1..)]
    pub configs: Vec<String>,
    /// Collection retrieved from (default: the configuration's, else the set's).
    #[arg(long, short)]
    pub collection: Option<String>,
    /// One run per combination: --matrix model=a,b --matrix rag=on,off.
    #[arg(long, value_name = "KEY=V1,V2", num_args = 1..)]
    pub matrix: Vec<String>,
    /// Evaluate the first N items only.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Return at once with the run ids (progress: `eval runs`, the console's screen 5).
    #[arg(long)]
    pub detach: bool,
    /// Exit non-zero when a run's mean is below: --fail-under f1=0.4.
    #[arg(long, value_name = "METRIC=VALUE")]
    pub fail_under: Vec<String>,
    /// Execute in this process instead of as jobs (scripts, tests).
    #[arg(long)]
    pub inline: bool,
    /// Where the runs' jobs run: local or slurm (a matrix becomes one Slurm array job;
    /// default: the config's jobs.backend).
    #[arg(long, value_parser = ["local", "slurm"])]
    pub backend: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalRunsArgs {
    /// Only the runs of this set.
    #[arg(long = "set", value_name = "SET")]
    pub eval_set: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalShowArgs {
    pub run: i64,
    /// Items shown at most (all with --json).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalRetryArgs {
    pub runs: Vec<i64>,
    #[arg(long)]
    pub detach: bool,
    #[arg(long)]
    pub inline: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalCompareArgs {
    /// Run ids (two or more).
    #[arg(required = true, num_args = 2..)]
    pub runs: Vec<i64>,
    /// The run deltas are against (default: the first).
    #[arg(long)]
    pub baseline: Option<i64>,
    /// The headline metric of the verdict and the 2x2 effects (default: f1, or ndcg for
    /// retrieval-only runs).
    #[arg(long)]
    pub metric: Option<String>,
    /// Bootstrap resamples.
    #[arg(long, default_value_t = 2000)]
    pub resamples: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also write the table as CSV here.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalExecArgs {
    pub run: i64,
}

/// `eval run --config NAME`: the spelling of run configurations, while `--config` is
/// also the global config-file flag. After `eval run` the word is rewritten to `--run-config`
/// (clap cannot give a global flag's name a second meaning in one subcommand).
pub fn eval_run_configs<I>(args: I) -> Vec<std::ffi::OsString>
where
    I: IntoIterator<Item = std::ffi::OsString>,
{
    let mut out: Vec<std::ffi::OsString> = Vec::new();
    let mut in_eval_run = false;
    for arg in args {
        let text = arg.to_str().unwrap_or("");
        if in_eval_run {
            if text == "--config" {
                out.push("--run-config".into());
                continue;
            }
            if let Some(value) = text.strip_prefix("--config=") {
                out.push(format!("--run-config={value}").into());
                continue;
            }
        } else if text == "run" && out.last().and_then(|a| a.to_str()) == Some("eval") {
            in_eval_run = true;
        }
        out.push(arg);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(line: &str) -> crate::args::Cli {
        let args = line.split(' ').map(std::ffi::OsString::from);
        crate::args::Cli::try_parse_from(eval_run_configs(args)).unwrap()
    }

    #[test]
    fn config_after_eval_run_names_run_configurations() {
        let cli = parse("lmdeck --config app.toml eval run --set qa --set rag=off --config base tuned --matrix model=a,b");
        assert_eq!(
            cli.global.config.as_deref(),
            Some(std::path::Path::new("app.toml"))
        );
        let Some(crate::args::Command::Eval(EvalCommand::Run(run))) = cli.command else {
            panic!("not eval run");
        };
        assert_eq!(run.configs, ["base", "tuned"]);
        assert_eq!(run.set_args, ["qa", "rag=off"]);
        let cli = parse("lmdeck ingest x --config app.toml");
        assert_eq!(
            cli.global.config.as_deref(),
            Some(std::path::Path::new("app.toml"))
        );
    }
}
