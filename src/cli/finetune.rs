//! `lmdeck finetune`: writes a fine-tune job spec for the recipe in the training environment and
//! queues it like `lmdeck jobs submit`, so the job is supervised, logged and snapshotted the
//! same way.

use anyhow::Context as _;
use std::path::{Path, PathBuf};

use crate::args::FinetuneArgs;
use crate::eval::config::{self as evconfig, RunConfig};
use crate::eval::score::{ANSWER_METRICS, RAG_ANSWER_METRICS};
use crate::eval::store as evstore;
use crate::services::models::{resolve, ModelChoice};
use crate::services::Context;
use crate::setup::training;
use crate::store::Store;

/// Judge metrics a checkpoint can be chosen by (higher is better; `eval::judge`).
const JUDGE_METRICS: &[&str] = &["judge_correct", "judge_score"];

/// The metric a checkpoint is chosen by when --eval-metric is not given.
const DEFAULT_EVAL_METRIC: &str = "f1";

/// Why a model cannot be a fine-tuning base.
#[derive(Debug, thiserror::Error)]
pub enum FinetuneError {
    #[error("`{0}` is a remote endpoint; fine-tuning needs a local model converted from GGUF")]
    Remote(String),
    #[error("{dir} has no lmdeck-model.json naming its source GGUF; fine-tuning needs a model lmdeck converted from GGUF (`lmdeck setup` or `lmdeck models import-gguf`)")]
    NoSource { dir: PathBuf },
    #[error("the base's source GGUF {path} is missing; `lmdeck setup --force` restores the default model's, or import the GGUF again with `lmdeck models import-gguf`")]
    MissingGguf { path: PathBuf },
    #[error("{path} has sha256 {actual}, but the model was converted from {expected}; import that GGUF again with `lmdeck models import-gguf`")]
    GgufChanged {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("model name `{0}`: use letters, digits, dots and dashes")]
    BadName(String),
    #[error("{} already exists; choose another --name (or --output-dir), or remove it", .0.display())]
    Exists(PathBuf),
    #[error("{0} needs --eval-set (the evaluation set the checkpoints are evaluated on)")]
    EvalNeedsSet(&'static str),
    #[error("--eval-metric `{0}`: a checkpoint is chosen by an answer metric: {list}, or with a judge (--eval-with judge=MODEL) {judge}", list = ANSWER_METRICS.join(", "), judge = JUDGE_METRICS.join(", "))]
    UnknownMetric(String),
    #[error("--eval-metric {0} is a judge's metric: add --eval-with judge=MODEL (an endpoint or model that grades the answers)")]
    MetricNeedsJudge(String),
    #[error("--eval-metric {metric} needs sources to cite; the evaluations run with rag off (drop --eval-with rag=off, or choose f1, em or abstention)")]
    MetricNeedsRag { metric: String },
    #[error("--eval-with {0}: the model evaluated is each checkpoint's export; it cannot be set")]
    EvalModel(String),
    #[error("--eval-limit must be at least 1")]
    EvalLimit,
    #[error("--eval-set {0}: the set has no accepted items; review its drafts (`lmdeck eval sets show {0}`)")]
    EmptySet(String),
}

/// How the recipe evaluates checkpoints: the `--eval-*` flags, checked.
#[derive(Debug, Clone, PartialEq)]
struct EvalOptions {
    set: String,
    metric: String,
    limit: Option<usize>,
    with: Vec<String>,
    collection: Option<String>,
}

impl EvalOptions {
    /// The recipe's arguments (argv, so the job snapshot records each one as given).
    fn argv(&self) -> Vec<String> {
        let mut argv = vec![
            "--eval-set".into(),
            self.set.clone(),
            "--eval-metric".into(),
            self.metric.clone(),
        ];
        if let Some(n) = self.limit {
            argv.extend(["--eval-limit".into(), n.to_string()]);
        }
        for kv in &self.with {
            argv.extend(["--eval-with".into(), kv.clone()]);
        }
        if let Some(c) = &self.collection {
            argv.extend(["--eval-collection".into(), c.clone()]);
        }
        argv
    }
}

/// The `--eval-*` flags checked on their own (no database): None without --eval-set.
fn eval_options(args: &FinetuneArgs) -> Result<Option<EvalOptions>, FinetuneError> {
    let Some(set) = &args.eval_set else {
        let given = [
            ("--eval-metric", args.eval_metric.is_some()),
            ("--eval-limit", args.eval_limit.is_some()),
            ("--eval-with", !args.eval_with.is_empty()),
            ("--eval-collection", args.eval_collection.is_some()),
        ];
        return match given.iter().find(|(_, on)| *on) {
            Some((flag, _)) => Err(FinetuneError::EvalNeedsSet(flag)),
            None => Ok(None),
        };
    };
    let metric = args
        .eval_metric
        .clone()
        .unwrap_or_else(|| DEFAULT_EVAL_METRIC.into());
    if !ANSWER_METRICS.contains(&metric.as_str()) && !JUDGE_METRICS.contains(&metric.as_str()) {
        return Err(FinetuneError::UnknownMetric(metric));
    }
    if args.eval_limit == Some(0) {
        return Err(FinetuneError::EvalLimit);
    }
    if let Some(kv) = args
        .eval_with
        .iter()
        .find(|kv| kv.split('=').next().map(str::trim) == Some("model"))
    {
        return Err(FinetuneError::EvalModel(kv.clone()));
    }
    Ok(Some(EvalOptions {
        set: set.clone(),
        metric,
        limit: args.eval_limit,
        with: args.eval_with.clone(),
        collection: args.eval_collection.clone(),
    }))
}

/// Checks what the evaluations will need before anything is queued: the set with accepted
/// items, overrides `eval run` accepts, the collection, and a metric the runs will have.
/// Returns the options with the set's own name.
fn check_eval(
    ctx: &Context,
    store: Option<&Store>,
    base: &str,
    mut eval: EvalOptions,
) -> anyhow::Result<EvalOptions> {
    let flag = |e: anyhow::Error| e.context(format!("--eval-set {}", eval.set));
    let Some(store) = store else {
        anyhow::bail!(
            "--eval-set {}: there are no evaluation sets yet (`lmdeck eval sets import FILE`)",
            eval.set
        );
    };
    let set = evstore::get_set(store.conn(), &eval.set).map_err(|e| flag(e.into()))?;
    if set.items - set.drafts == 0 {
        return Err(FinetuneError::EmptySet(set.name).into());
    }
    // The checkpoints do not exist yet: the base stands in for them in these checks.
    let mut sets = vec![format!("model={base}")];
    sets.extend(eval.with.iter().cloned());
    if let Some(c) = &eval.collection {
        sets.push(format!("collection={c}"));
    }
    let config = evconfig::apply_sets(&RunConfig::defaults(ctx.config()), &sets)
        .map_err(|e| anyhow::Error::from(e).context("--eval-with"))?;
    if config.judge().is_none() && JUDGE_METRICS.contains(&eval.metric.as_str()) {
        return Err(FinetuneError::MetricNeedsJudge(eval.metric).into());
    }
    if !config.rag && RAG_ANSWER_METRICS.contains(&eval.metric.as_str()) {
        return Err(FinetuneError::MetricNeedsRag {
            metric: eval.metric,
        }
        .into());
    }
    super::eval_run::check_config(ctx, store, &config, set.collection.as_deref())
        .map_err(|e| e.context("--eval-with / --eval-collection"))?;
    eval.set = set.name;
    Ok(eval)
}

pub fn run(ctx: &Context, args: &FinetuneArgs) -> anyhow::Result<()> {
    // Checked first: without the environment nothing else matters, and the error says how.
    let env = training::existing(&ctx.paths)?;
    let store = ctx.existing_store()?;
    let base_dir = match resolve(ctx, store.as_ref(), &args.base)? {
        ModelChoice::Local(dir) => dir,
        ModelChoice::Remote(name, _) => return Err(FinetuneError::Remote(name).into()),
    };
    let gguf = source_gguf(ctx, &base_dir)?;
    let eval = match eval_options(args)? {
        Some(e) => Some(check_eval(ctx, store.as_ref(), &args.base, e)?),
        None => None,
    };
    let data = std::fs::canonicalize(&args.data)
        .with_context(|| format!("training data {}", args.data.display()))?;
    let name = match &args.name {
        Some(n) => n.clone(),
        None => format!("{}-ft-{}", args.base, unix_secs()),
    };
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(FinetuneError::BadName(name).into());
    }
    let out = match &args.output_dir {
        Some(dir) => std::path::absolute(dir)?,
        None => ctx.paths.models_dir().join(&name),
    };
    // The converter replaces a folder it made earlier: never let a run overwrite a model.
    if out.exists() {
        return Err(FinetuneError::Exists(out).into());
    }
    let exe = std::env::current_exe().context("locating the lmdeck binary")?;
    let spec = spec_toml(&SpecInput {
        python: &env.python,
        recipe: &env.recipe(),
        workdir: &env.dir,
        gguf: &gguf,
        base: &args.base,
        data: &data,
        name: &name,
        out: &out,
        lmdeck: &exe,
        db: &ctx.db_path(),
        steps: args.steps,
        eval: eval.as_ref(),
    })?;
    let specs = ctx.paths.jobs_dir().join("specs");
    std::fs::create_dir_all(&specs).with_context(|| format!("creating {}", specs.display()))?;
    let file = specs.join(format!("finetune-{name}.toml"));
    std::fs::write(&file, spec).with_context(|| format!("writing {}", file.display()))?;
    eprintln!(
        "fine-tuning {} into {} -> {} (spec {})",
        args.base,
        name,
        out.display(),
        file.display()
    );
    super::jobs::submit(
        ctx,
        &file,
        &args.set,
        args.backend.as_deref(),
        args.wait,
        args.json,
    )?;
    Ok(())
}

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The GGUF a converted model came from: named in its lmdeck-model.json, kept in the cache's
/// gguf folder, and checked against the recorded sha256 (a different file would train a
/// different model than the one named).
fn source_gguf(ctx: &Context, dir: &Path) -> Result<PathBuf, FinetuneError> {
    let no_source = || FinetuneError::NoSource {
        dir: dir.to_path_buf(),
    };
    let text = std::fs::read_to_string(dir.join("lmdeck-model.json")).map_err(|_| no_source())?;
    let manifest: serde_json::Value = serde_json::from_str(&text).map_err(|_| no_source())?;
    let file = manifest["source"]["gguf"].as_str().ok_or_else(no_source)?;
    let name = Path::new(file).file_name().ok_or_else(no_source)?;
    let path = ctx.paths.cache_dir.join("gguf").join(name);
    if !path.is_file() {
        return Err(FinetuneError::MissingGguf { path });
    }
    if let Some(expected) = manifest["source"]["sha256"].as_str() {
        let actual = crate::util::sha256_file(&path)
            .map_err(|_| FinetuneError::MissingGguf { path: path.clone() })?;
        if actual != expected {
            return Err(FinetuneError::GgufChanged {
                path,
                expected: expected.into(),
                actual,
            });
        }
    }
    Ok(path)
}

struct SpecInput<'a> {
    python: &'a Path,
    recipe: &'a Path,
    workdir: &'a Path,
    gguf: &'a Path,
    base: &'a str,
    data: &'a Path,
    name: &'a str,
    out: &'a Path,
    lmdeck: &'a Path,
    db: &'a Path,
    steps: Option<u32>,
    eval: Option<&'a EvalOptions>,
}

/// The job spec. Hyperparameters travel in `env` (the recipe reads SEED, LR, STEPS, ...), so
/// `--set env.LR=2e-3` changes them and the snapshot records them.
fn spec_toml(s: &SpecInput) -> anyhow::Result<String> {
    let text = |p: &Path| toml::Value::String(p.display().to_string());
    // The recipe's checkpoint-<step> folders: the job's output_dir, where `lmdeck jobs resume`
    // finds the newest one to continue a crashed or cancelled fine-tune from.
    let mut checkpoints = s.out.as_os_str().to_owned();
    checkpoints.push(".checkpoints");
    let checkpoints = std::path::PathBuf::from(checkpoints);
    let mut command: Vec<toml::Value> = vec![
        text(s.python),
        text(s.recipe),
        "--base-gguf".into(),
        text(s.gguf),
        "--base-name".into(),
        s.base.into(),
        "--data".into(),
        text(s.data),
        "--name".into(),
        s.name.into(),
        "--out".into(),
        text(s.out),
        "--lmdeck".into(),
        text(s.lmdeck),
        "--checkpoint-dir".into(),
        text(&checkpoints),
    ];
    if let Some(e) = s.eval {
        command.extend(e.argv().into_iter().map(toml::Value::String));
    }
    let mut env = toml::Table::new();
    env.insert("SEED".into(), "0".into());
    if let Some(steps) = s.steps {
        env.insert("STEPS".into(), steps.to_string().into());
    }
    env.insert("LMDECK_DB".into(), text(s.db));
    // The base and tokenizer come from the GGUF; nothing may be fetched from a model hub.
    env.insert("HF_HUB_OFFLINE".into(), "1".into());
    env.insert("TRANSFORMERS_OFFLINE".into(), "1".into());
    env.insert("TOKENIZERS_PARALLELISM".into(), "false".into());
    let mut spec = toml::Table::new();
    spec.insert("name".into(), format!("finetune {}", s.name).into());
    spec.insert("command".into(), toml::Value::Array(command));
    spec.insert("workdir".into(), text(s.workdir));
    spec.insert("env".into(), toml::Value::Table(env));
    spec.insert("dataset".into(), toml::Value::Array(vec![text(s.data)]));
    spec.insert("base_model".into(), s.base.into());
    spec.insert("output_dir".into(), text(&checkpoints));
    Ok(format!(
        "# Written by `lmdeck finetune`; resubmit with `lmdeck jobs submit THIS_FILE`.\n{}",
        toml::to_string(&spec)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_loads_as_a_job_spec_with_the_steps_in_env() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        let data = p("chats with space.jsonl");
        std::fs::write(&data, "{}\n").unwrap();
        let text = spec_toml(&SpecInput {
            python: &p("venv/bin/python"),
            recipe: &p("lora.py"),
            workdir: dir.path(),
            gguf: &p("base.gguf"),
            base: "base-model",
            data: &data,
            name: "new \"quoted\"",
            out: &p("out"),
            lmdeck: &p("lmdeck"),
            db: &p("x.db"),
            steps: Some(7),
            eval: None,
        })
        .unwrap();
        let file = p("spec.toml");
        std::fs::write(&file, text).unwrap();
        let spec = crate::jobs::spec::load(&file, &["env.LR=2e-3".into()]).unwrap();
        assert_eq!(spec.env["STEPS"], "7");
        assert_eq!(spec.env["LR"], "2e-3");
        assert_eq!(spec.env["HF_HUB_OFFLINE"], "1");
        assert_eq!(spec.dataset, vec![data.clone()]);
        assert_eq!(spec.base_model.as_deref(), Some("base-model"));
        let at = spec.command.iter().position(|a| a == "--name").unwrap();
        assert_eq!(spec.command[at + 1], "new \"quoted\"");
        assert_eq!(spec.command[0], p("venv/bin/python").display().to_string());
        assert_eq!(spec.output_dir, Some(p("out.checkpoints")));
    }

    fn finetune_args(extra: &str) -> FinetuneArgs {
        use clap::Parser;
        let line = format!("lmdeck finetune --base b --data d.jsonl {extra}");
        let cli = crate::args::Cli::try_parse_from(line.split_whitespace()).unwrap();
        match cli.command {
            Some(crate::args::Command::Finetune(a)) => a,
            other => panic!("not finetune: {other:?}"),
        }
    }

    #[test]
    fn eval_flags_are_checked_before_anything_is_queued() {
        assert_eq!(eval_options(&finetune_args("")).unwrap(), None);
        let err = |extra: &str| eval_options(&finetune_args(extra)).unwrap_err().to_string();
        assert!(err("--eval-metric em").starts_with("--eval-metric needs --eval-set"));
        assert!(err("--eval-limit 2").starts_with("--eval-limit needs --eval-set"));
        assert!(err("--eval-with rag=on").starts_with("--eval-with needs --eval-set"));
        assert!(err("-c kb").starts_with("--eval-collection needs --eval-set"));
        let e = err("--eval-set qa --eval-metric latency_ms");
        assert!(
            e.contains("--eval-metric `latency_ms`") && e.contains("f1, em"),
            "{e}"
        );
        assert!(err("--eval-set qa --eval-limit 0").contains("--eval-limit"));
        // A judge's metric passes here; whether a judge is configured is checked with the set.
        assert!(eval_options(&finetune_args("--eval-set qa --eval-metric judge_score")).is_ok());
        let e = err("--eval-set qa --eval-with model=other");
        assert!(e.contains("--eval-with model=other"), "{e}");
    }

    #[test]
    fn eval_flags_become_recipe_arguments_in_the_spec() {
        let args = finetune_args(
            "--eval-set qa --eval-limit 3 --eval-with rag=on --eval-with max_tokens=16 -c kb",
        );
        let eval = eval_options(&args).unwrap().unwrap();
        assert_eq!(eval.metric, "f1", "f1 by default");
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        let text = spec_toml(&SpecInput {
            python: &p("python"),
            recipe: &p("lora.py"),
            workdir: dir.path(),
            gguf: &p("base.gguf"),
            base: "b",
            data: &p("d.jsonl"),
            name: "n",
            out: &p("out"),
            lmdeck: &p("lmdeck"),
            db: &p("x.db"),
            steps: None,
            eval: Some(&eval),
        })
        .unwrap();
        let file = p("spec.toml");
        std::fs::write(&file, text).unwrap();
        let spec = crate::jobs::spec::load(&file, &[]).unwrap();
        let at = spec.command.iter().position(|a| a == "--eval-set").unwrap();
        assert_eq!(
            spec.command[at..],
            [
                "--eval-set",
                "qa",
                "--eval-metric",
                "f1",
                "--eval-limit",
                "3",
                "--eval-with",
                "rag=on",
                "--eval-with",
                "max_tokens=16",
                "--eval-collection",
                "kb"
            ]
        );
    }
}
