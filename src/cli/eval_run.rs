//! `lmdeck eval run|runs|show|retry|exec`: runs of configurations over a set, executed as jobs
//! (or in this process with --inline), watched until they end, summarised, and gated.

use anyhow::Context as _;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use crate::args::{EvalExecArgs, EvalRetryArgs, EvalRunArgs, EvalRunsArgs, EvalShowArgs};
use crate::eval::config::{self, RunConfig};
use crate::eval::run::{self, Engines};
use crate::eval::store::{self as evstore, EvalStoreError, Run, RunStatus};
use crate::generate::{Cancel, Generator};
use crate::services::Context;
use crate::store::{DbWriter, Store};
use crate::util::safe::one_line as safe;

/// Metrics shown in summaries, in this order, when a run has them.
const SHOWN: &[&str] = &[
    "f1",
    "em",
    "cites_gold",
    "cite_precision",
    "grounded",
    "abstention",
    "doc_recall",
    "doc_ndcg",
    "doc_mrr",
    "latency_ms",
    "tokens_per_s",
];

pub fn run(ctx: &Context, args: &EvalRunArgs) -> anyhow::Result<()> {
    let gates = parse_gates(&args.fail_under)?;
    if args.detach && !gates.is_empty() {
        anyhow::bail!("--fail-under needs the runs' results: drop --detach (or gate later on `lmdeck eval runs --json`)");
    }
    let (set_names, overrides): (Vec<&String>, Vec<&String>) =
        args.set_args.iter().partition(|a| !a.contains('='));
    let set_name = match set_names.as_slice() {
        [one] => one.as_str(),
        [] => anyhow::bail!("--set: name the evaluation set (`--set NAME`; key=value pairs are configuration overrides); `lmdeck eval sets list` shows the sets"),
        many => anyhow::bail!(
            "--set names {} sets ({}); evaluate one set per command",
            many.len(),
            many.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ),
    };
    let store = super::open_for_writing(ctx)?;
    let set = evstore::get_set(store.conn(), set_name)?;
    if set.items - set.drafts == 0 {
        anyhow::bail!("set `{}` has no accepted items to evaluate; review its drafts: `lmdeck eval sets show {}`, then `lmdeck eval sets accept {}`", set.name, set.name, set.name);
    }
    let configs = resolve_configs(ctx, args, &overrides)?;
    for c in &configs {
        check_config(ctx, &store, c, set.collection.as_deref())?;
    }
    let writer = super::ingest::open_writer(ctx)?;
    let mut ids = Vec::new();
    for c in configs {
        let (set_id, limit) = (set.id, args.limit);
        ids.push(writer.call_with(move |tx| evstore::create_run(tx, set_id, &c, limit))?);
    }
    start_and_report(
        ctx,
        &store,
        &writer,
        &ids,
        args.inline,
        args.detach,
        args.json,
        &gates,
        args.backend.as_deref(),
    )
}

pub fn retry(ctx: &Context, args: &EvalRetryArgs) -> anyhow::Result<()> {
    if args.runs.is_empty() {
        anyhow::bail!(
            "name the runs to retry: `lmdeck eval retry RUN...` (`lmdeck eval runs` lists them)"
        );
    }
    let store = super::open_for_writing(ctx)?;
    let writer = super::ingest::open_writer(ctx)?;
    for &id in &args.runs {
        let r = evstore::get_run(store.conn(), id)?;
        if let Some(job) = r.job_id.and_then(|j| job_state(&store, j)) {
            if !job.is_ended() {
                anyhow::bail!("run {id} is still executing as job {}; wait for it, or `lmdeck jobs cancel {}` first", r.job_id.unwrap_or(0), r.job_id.unwrap_or(0));
            }
        }
        writer.call_with(move |tx| evstore::mark_run(tx, id, RunStatus::Queued, None))?;
    }
    start_and_report(
        ctx,
        &store,
        &writer,
        &args.runs,
        args.inline,
        args.detach,
        args.json,
        &[],
        None,
    )
}

/// The configurations named (or `default`), with --set overrides (named after them) and -c,
/// expanded by --matrix.
fn resolve_configs(
    ctx: &Context,
    args: &EvalRunArgs,
    overrides: &[&String],
) -> anyhow::Result<Vec<RunConfig>> {
    let base = RunConfig::defaults(ctx.config());
    let dir = config::config_dir(&ctx.paths.config_dir);
    let names: Vec<String> = if args.configs.is_empty() {
        vec!["default".into()]
    } else {
        args.configs.clone()
    };
    let mut sets: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    if let Some(c) = &args.collection {
        sets.push(format!("collection={c}"));
    }
    let mut configs = Vec::new();
    for name in &names {
        let c = config::load(&base, name, &dir)?;
        configs.push(config::name_after_sets(
            config::apply_sets(&c, &sets)?,
            overrides,
        ));
    }
    Ok(config::expand_matrix(&configs, &args.matrix)?)
}

/// Fails before anything is queued when a configuration cannot run: an unknown model, a
/// missing collection.
pub(crate) fn check_config(
    ctx: &Context,
    store: &Store,
    c: &RunConfig,
    set_collection: Option<&str>,
) -> anyhow::Result<()> {
    if c.generates() {
        crate::services::models::resolve(ctx, Some(store), &c.model)
            .with_context(|| format!("configuration `{}`", c.name))?;
    }
    if let Some(judge) = c.judge() {
        crate::services::models::resolve(ctx, Some(store), judge)
            .with_context(|| format!("configuration `{}`: judge", c.name))?;
    }
    if c.prompt.is_some() && !c.rag && c.generates() {
        // The prompt replaces the RAG instructions; without RAG there are none to replace.
        eprintln!(
            "warning: configuration `{}` sets `prompt` but has rag=off: the prompt replaces the RAG instructions, so it has no effect here",
            safe(&c.name)
        );
    }
    if c.rag || !c.generates() {
        let Some(name) = c.collection.as_deref().or(set_collection) else {
            anyhow::bail!("configuration `{}` retrieves, but neither it nor the set names a collection: add -c NAME (or --set rag=off)", c.name);
        };
        crate::store::collections::get(store.conn(), name)
            .with_context(|| format!("configuration `{}`", c.name))?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn start_and_report(
    ctx: &Context,
    store: &Store,
    writer: &DbWriter,
    ids: &[i64],
    inline: bool,
    detach: bool,
    json: bool,
    gates: &[(String, f64)],
    backend: Option<&str>,
) -> anyhow::Result<()> {
    if inline {
        // Progress goes to stderr, so --json output stays one document on stdout.
        execute_runs(ctx, store, writer, ids, true)?;
    } else {
        // All at once: with the Slurm backend a matrix becomes one array job.
        let files: Vec<std::path::PathBuf> = ids
            .iter()
            .map(|&id| write_job_spec(ctx, store, id))
            .collect::<anyhow::Result<_>>()?;
        let jobs = super::jobs::queue_quietly(ctx, &files, backend)?;
        for (&id, job) in ids.iter().zip(jobs) {
            writer.call_with(move |tx| evstore::set_run_job(tx, id, job))?;
            if !json {
                eprintln!("run {id} queued as job {job}");
            }
        }
        if detach {
            return print_runs(store, ids, json);
        }
        wait(store, ids, json)?;
    }
    print_runs(store, ids, json)?;
    check_gates(store, ids, gates)
}

// ---- executing ----

/// `eval exec RUN`: what a run's job runs. Progress goes to stdout as JSON lines (the job's
/// log follower charts them); the exit status says whether every item succeeded.
pub fn exec(ctx: &Context, args: &EvalExecArgs) -> anyhow::Result<()> {
    let store = super::open_for_writing(ctx)?;
    let writer = super::ingest::open_writer(ctx)?;
    execute_runs(ctx, &store, &writer, &[args.run], false)?;
    let r = evstore::get_run(store.conn(), args.run)?;
    if r.status != RunStatus::Succeeded {
        anyhow::bail!(
            "run {}: {}",
            r.id,
            r.error.unwrap_or_else(|| "did not finish".into())
        );
    }
    Ok(())
}

fn execute_runs(
    ctx: &Context,
    store: &Store,
    writer: &DbWriter,
    ids: &[i64],
    human: bool,
) -> anyhow::Result<()> {
    let mut embedder = None;
    let mut generators: BTreeMap<String, Box<dyn Generator>> = BTreeMap::new();
    for &id in ids {
        let r = evstore::get_run(store.conn(), id)?;
        if run::needs_embedder(&r.config) && embedder.is_none() {
            embedder = Some(ctx.embedder()?);
        }
        // A judge that is also a run's model is loaded once.
        for model in std::iter::once(r.config.generates().then_some(r.config.model.as_str()))
            .chain(std::iter::once(r.config.judge()))
            .flatten()
        {
            if !generators.contains_key(model) {
                let g = crate::services::models::generator(ctx, Some(store), model)?;
                generators.insert(model.to_string(), g);
            }
        }
        let engines = Engines {
            search: ctx.search_params()?,
            store,
            writer,
            embedder: embedder.as_ref().map(|e| e as &dyn crate::embed::Embedder),
            generator: generators.get(&r.config.model).map(|g| g.as_ref()),
            judge: r
                .config
                .judge()
                .and_then(|j| generators.get(j))
                .map(|g| g.as_ref()),
        };
        if human {
            eprintln!(
                "run {id}: {} on set {} ({} items)",
                safe(&r.name),
                safe(&r.set_name),
                r.total
            );
        }
        let mut means = RunningMeans::default();
        let outcome = run::execute(
            &engines,
            id,
            &Cancel::default(),
            &mut |done: usize, failed: usize, total: usize, result: &evstore::ItemResult| {
                means.add(&result.metrics);
                if human {
                    if done.is_multiple_of(10) || done == total {
                        eprintln!("  {done}/{total} items, {failed} failed{}", means.line());
                    }
                } else {
                    let mut line =
                        serde_json::json!({"step": done, "max_steps": total, "failed": failed});
                    for (k, v) in means.means() {
                        line[k] = serde_json::json!(v);
                    }
                    println!("{line}");
                }
            },
        )?;
        if human {
            eprintln!(
                "run {id}: {} evaluated, {} kept from before, {} failed",
                outcome.evaluated, outcome.kept, outcome.failed
            );
        }
    }
    Ok(())
}

#[derive(Default)]
struct RunningMeans {
    sums: BTreeMap<String, (f64, usize)>,
}

impl RunningMeans {
    fn add(&mut self, metrics: &BTreeMap<String, f64>) {
        for (k, v) in metrics {
            if SHOWN.contains(&k.as_str()) && v.is_finite() {
                let e = self.sums.entry(k.clone()).or_default();
                e.0 += v;
                e.1 += 1;
            }
        }
    }

    fn means(&self) -> impl Iterator<Item = (&str, f64)> {
        self.sums
            .iter()
            .map(|(k, (s, n))| (k.as_str(), s / (*n).max(1) as f64))
    }

    fn line(&self) -> String {
        let parts: Vec<String> = ["f1", "cites_gold", "doc_ndcg"]
            .iter()
            .filter_map(|m| self.means().find(|(k, _)| k == m))
            .map(|(k, v)| format!("{k} {v:.3}"))
            .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!(", mean {}", parts.join(", "))
        }
    }
}

// ---- jobs ----

/// Writes the run's job spec; the job runs `lmdeck eval exec RUN`.
fn write_job_spec(ctx: &Context, store: &Store, run_id: i64) -> anyhow::Result<std::path::PathBuf> {
    let r = evstore::get_run(store.conn(), run_id)?;
    let exe = std::env::current_exe().context("locating the lmdeck binary")?;
    let text = |p: &std::path::Path| toml::Value::String(p.display().to_string());
    let mut command: Vec<toml::Value> = vec![text(&exe), "--db".into(), text(&ctx.db_path())];
    if ctx.loaded.file.is_file() {
        command.extend(["--config".into(), text(&ctx.loaded.file)]);
    }
    command.extend(["eval".into(), "exec".into(), run_id.to_string().into()]);
    let mut spec = toml::Table::new();
    spec.insert(
        "name".into(),
        format!("eval run {run_id}: {} on {}", r.name, r.set_name).into(),
    );
    spec.insert("command".into(), toml::Value::Array(command));
    spec.insert("workdir".into(), text(&ctx.paths.data_dir));
    let mut env = toml::Table::new();
    env.insert("TOKENIZERS_PARALLELISM".into(), "false".into());
    spec.insert("env".into(), toml::Value::Table(env));
    if r.config.generates() {
        spec.insert("base_model".into(), r.config.model.clone().into());
    }
    let dir = ctx.paths.jobs_dir().join("specs");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::create_dir_all(&ctx.paths.data_dir)?;
    let file = dir.join(format!("eval-run-{run_id}.toml"));
    std::fs::write(
        &file,
        format!(
            "# Written by `lmdeck eval run`; `lmdeck eval retry {run_id}` queues it again.\n{}",
            toml::to_string(&spec)?
        ),
    )
    .with_context(|| format!("writing {}", file.display()))?;
    Ok(file)
}

fn job_state(store: &Store, job_id: i64) -> Option<crate::jobs::queue::JobState> {
    crate::jobs::queue::get(store.conn(), job_id)
        .ok()
        .flatten()
        .map(|j| j.state)
}

/// The run's state as a user sees it: a run whose job ended without finishing it says how
/// the job ended.
pub fn effective_status(store: &Store, r: &Run) -> String {
    let job = r.job_id.and_then(|j| job_state(store, j));
    match (r.status, job) {
        (RunStatus::Queued | RunStatus::Running, Some(state)) if state.is_ended() => {
            format!("{} (job {})", r.status.as_str(), state.name())
        }
        (RunStatus::Queued, Some(state)) => format!("queued (job {})", state.name()),
        (status, _) => status.as_str().to_string(),
    }
}

fn ended(store: &Store, r: &Run) -> bool {
    match r.status {
        RunStatus::Succeeded | RunStatus::Failed => true,
        RunStatus::Queued | RunStatus::Running => r
            .job_id
            .and_then(|j| job_state(store, j))
            .is_some_and(|s| s.is_ended()),
    }
}

/// Waits for the runs' jobs, showing each run's progress; Ctrl+C stops watching only.
fn wait(store: &Store, ids: &[i64], quiet: bool) -> anyhow::Result<()> {
    let bars = (!quiet && std::io::stderr().is_terminal()).then(indicatif::MultiProgress::new);
    let mut shown: BTreeMap<i64, (i64, i64, Option<indicatif::ProgressBar>)> = BTreeMap::new();
    if !quiet {
        eprintln!(
            "waiting for the runs (Ctrl+C stops watching; the jobs go on: `lmdeck eval runs`)"
        );
    }
    loop {
        let mut all_ended = true;
        for &id in ids {
            let r = evstore::get_run(store.conn(), id)?;
            let done_now = ended(store, &r);
            all_ended &= done_now;
            if quiet {
                continue;
            }
            let entry = shown.entry(id).or_insert_with(|| {
                let bar = bars.as_ref().map(|m| {
                    let b = m.add(indicatif::ProgressBar::new(r.total.max(0) as u64));
                    b.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{prefix:24} {bar:30} {pos}/{len} {msg}",
                        )
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                    );
                    b.set_prefix(format!("run {id} {}", safe(&r.name)));
                    b
                });
                (-1, -1, bar)
            });
            let summary = evstore::summary(&evstore::results(store.conn(), id)?);
            let msg = progress_message(store, &r, &summary);
            if let Some(bar) = &entry.2 {
                bar.set_position((r.done + r.failed).max(0) as u64);
                bar.set_message(msg);
                if done_now {
                    bar.finish();
                }
            } else if (r.done, r.failed) != (entry.0, entry.1) || done_now && entry.0 >= 0 {
                eprintln!(
                    "run {id} {}: {}/{} {msg}",
                    safe(&r.name),
                    r.done + r.failed,
                    r.total
                );
            }
            entry.0 = r.done;
            entry.1 = r.failed;
        }
        if all_ended {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn progress_message(store: &Store, r: &Run, summary: &BTreeMap<String, (f64, usize)>) -> String {
    let mut parts = vec![effective_status(store, r)];
    if r.failed > 0 {
        parts.push(format!("{} failed", r.failed));
    }
    for m in ["f1", "cites_gold", "doc_ndcg"] {
        if let Some((mean, _)) = summary.get(m) {
            parts.push(format!("{m} {mean:.3}"));
        }
    }
    parts.join(" · ")
}

// ---- reporting ----

fn run_json(store: &Store, r: &Run) -> anyhow::Result<serde_json::Value> {
    let summary = evstore::summary(&evstore::results(store.conn(), r.id)?);
    let metrics: serde_json::Map<String, serde_json::Value> = summary
        .iter()
        .map(|(k, (mean, n))| (k.clone(), serde_json::json!({"mean": mean, "n": n})))
        .collect();
    let mut v = serde_json::to_value(r)?;
    v["state"] = effective_status(store, r).into();
    v["metrics"] = serde_json::Value::Object(metrics);
    if let Some(t) = time_split(&evstore::results(store.conn(), r.id)?) {
        v["time_split"] = serde_json::to_value(t)?;
    }
    Ok(v)
}

fn print_runs(store: &Store, ids: &[i64], json: bool) -> anyhow::Result<()> {
    let runs = ids
        .iter()
        .map(|&id| evstore::get_run(store.conn(), id))
        .collect::<Result<Vec<_>, EvalStoreError>>()?;
    if json {
        let values = runs
            .iter()
            .map(|r| run_json(store, r))
            .collect::<anyhow::Result<Vec<_>>>()?;
        println!("{}", serde_json::to_string_pretty(&values)?);
        return Ok(());
    }
    print_table(store, &runs)
}

fn print_table(store: &Store, runs: &[Run]) -> anyhow::Result<()> {
    let summaries = runs
        .iter()
        .map(|r| Ok(evstore::summary(&evstore::results(store.conn(), r.id)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let columns: Vec<&str> = SHOWN
        .iter()
        .copied()
        .filter(|m| summaries.iter().any(|s| s.contains_key(*m)))
        .collect();
    let name_width = runs
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 40);
    print!(
        "{:>4}  {:<name_width$}  {:<22} {:>9}",
        "run", "name", "status", "items"
    );
    for c in &columns {
        print!(" {:>10}", short(c));
    }
    println!();
    for (r, s) in runs.iter().zip(&summaries) {
        let name: String = safe(&r.name).chars().take(name_width).collect();
        print!(
            "{:>4}  {:<name_width$}  {:<22} {:>9}",
            r.id,
            name,
            effective_status(store, r),
            format!("{}/{}", r.done, r.total)
        );
        for c in &columns {
            match s.get(*c) {
                Some((mean, _)) if c.ends_with("_ms") => print!(" {:>10.0}", mean),
                Some((mean, _)) if *c == "tokens_per_s" => print!(" {:>10.1}", mean),
                Some((mean, _)) => print!(" {:>10.3}", mean),
                None => print!(" {:>10}", "-"),
            }
        }
        println!();
        if let Some(t) = time_split(&evstore::results(store.conn(), r.id)?) {
            println!(
                "      {:.1} items/min; time in retrieval {:.0} %, prefill {:.0} %, decode {:.0} %",
                t.items_per_min,
                t.retrieval * 100.0,
                t.prefill * 100.0,
                t.decode * 100.0
            );
        }
        if let Some(e) = &r.error {
            println!("      {}", safe(e));
        }
    }
    Ok(())
}

/// Where an answer run's time went, summed over its items: throughput (one item after
/// another, as a run executes them) and the shares of retrieval (with building the prompt),
/// prefill (to the first token) and decode.
#[derive(Debug, Clone, Copy, serde::Serialize)]
struct TimeSplit {
    items_per_min: f64,
    retrieval: f64,
    prefill: f64,
    decode: f64,
}

fn time_split(results: &BTreeMap<i64, evstore::ItemResult>) -> Option<TimeSplit> {
    let (mut total, mut retrieval, mut prefill, mut decode, mut n) = (0.0, 0.0, 0.0, 0.0, 0);
    for r in results.values().filter(|r| r.ok && r.answer.is_some()) {
        let ms = |k: &str| r.detail[k].as_f64().unwrap_or(0.0);
        total += ms("latency_ms");
        retrieval += ms("retrieval_ms");
        prefill += ms("prefill_ms");
        decode += ms("decode_ms");
        n += 1;
    }
    (n > 0 && total > 0.0).then(|| TimeSplit {
        items_per_min: n as f64 / (total / 60_000.0),
        retrieval: retrieval / total,
        prefill: prefill / total,
        decode: decode / total,
    })
}

fn short(metric: &str) -> &str {
    match metric {
        "cite_precision" => "cite_prec",
        "tokens_per_s" => "tok/s",
        "first_token_ms" => "ttft_ms",
        other => other,
    }
}

fn parse_gates(args: &[String]) -> anyhow::Result<Vec<(String, f64)>> {
    args.iter()
        .map(|a| {
            let (m, v) = a.split_once('=').ok_or_else(|| {
                anyhow::anyhow!("--fail-under {a}: expected METRIC=VALUE, e.g. f1=0.4")
            })?;
            let v: f64 = v
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("--fail-under {a}: `{v}` is not a number"))?;
            Ok((m.trim().to_string(), v))
        })
        .collect()
}

/// Fails when a run did not succeed or a gated metric's mean is below its floor.
fn check_gates(store: &Store, ids: &[i64], gates: &[(String, f64)]) -> anyhow::Result<()> {
    let mut failures = Vec::new();
    for &id in ids {
        let r = evstore::get_run(store.conn(), id)?;
        if r.status != RunStatus::Succeeded {
            // The run's own error says why (the first failed item's error, and what to do).
            let why = r
                .error
                .as_deref()
                .map_or(String::new(), |e| format!(": {e}"));
            failures.push(format!(
                "run {id} ({}) {}{why}",
                r.name,
                effective_status(store, &r)
            ));
            continue;
        }
        let summary = evstore::summary(&evstore::results(store.conn(), id)?);
        for (metric, floor) in gates {
            match summary.get(metric) {
                Some((mean, _)) if mean < floor => failures.push(format!(
                    "run {id} ({}): {metric} {mean:.4} is under {floor}",
                    r.name
                )),
                Some(_) => {}
                None => failures.push(format!(
                    "run {id} ({}) has no metric `{metric}` (it has: {})",
                    r.name,
                    summary.keys().cloned().collect::<Vec<_>>().join(", ")
                )),
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{}", failures.join("; "))
    }
}

pub fn runs(ctx: &Context, args: &EvalRunsArgs) -> anyhow::Result<()> {
    let Some(store) = ctx.existing_store()? else {
        anyhow::bail!("no database yet; import a set with `lmdeck eval sets import FILE`");
    };
    let set_id = match &args.eval_set {
        Some(s) => Some(evstore::get_set(store.conn(), s)?.id),
        None => None,
    };
    let runs = evstore::list_runs(store.conn(), set_id)?;
    if args.json {
        let values = runs
            .iter()
            .map(|r| run_json(&store, r))
            .collect::<anyhow::Result<Vec<_>>>()?;
        println!("{}", serde_json::to_string_pretty(&values)?);
        return Ok(());
    }
    if runs.is_empty() {
        println!("no evaluation runs yet: `lmdeck eval run --set SET --config default --matrix rag=on,off`");
        return Ok(());
    }
    print_table(&store, &runs)
}

pub fn show(ctx: &Context, args: &EvalShowArgs) -> anyhow::Result<()> {
    let Some(store) = ctx.existing_store()? else {
        anyhow::bail!("no database yet");
    };
    let r = evstore::get_run(store.conn(), args.run)?;
    let items = evstore::run_items(store.conn(), &r)?;
    let results = evstore::results(store.conn(), r.id)?;
    if args.json {
        let mut v = run_json(&store, &r)?;
        v["items"] = items
            .iter()
            .map(|i| serde_json::json!({"item": i, "result": results.get(&i.id)}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let c = &r.config;
    println!(
        "run {} `{}` on set {}: {} ({} of {} items, {} failed)",
        r.id,
        safe(&r.name),
        safe(&r.set_name),
        effective_status(&store, &r),
        r.done,
        r.total,
        r.failed
    );
    println!(
        "model {} · RAG {} · {} k={} candidates={} rrf_k={} · temperature {} seed {} · max_tokens {}{}",
        safe(&c.model),
        if c.rag { "on" } else { "off" },
        c.mode,
        c.k,
        c.candidates,
        c.rrf_k,
        c.temperature,
        c.seed,
        c.max_tokens,
        c.collection.as_deref().map(|c| format!(" · collection {}", safe(c))).unwrap_or_default()
    );
    if let Some(job) = r.job_id {
        println!("job {job} (`lmdeck jobs show {job}`)");
    }
    print_table(&store, std::slice::from_ref(&r))?;
    println!();
    for item in items.iter().take(args.limit) {
        let res = results.get(&item.id);
        let metrics = res
            .map(|x| {
                ["f1", "cites_gold", "doc_ndcg"]
                    .iter()
                    .filter_map(|m| x.metrics.get(*m).map(|v| format!("{m} {v:.2}")))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let status = match res {
            None => "pending".to_string(),
            Some(x) if !x.ok => format!("error: {}", x.error.as_deref().unwrap_or("")),
            Some(_) => metrics,
        };
        println!("{:<10} {}", safe(&item.item.key), safe(&status));
        println!("  Q: {}", safe(&item.item.question));
        if let Some(a) = res.and_then(|x| x.answer.as_deref()) {
            let a: String = a.chars().take(200).collect();
            println!("  A: {}", safe(&a));
        }
    }
    if items.len() > args.limit {
        println!(
            "... {} more (--limit N, or --json)",
            items.len() - args.limit
        );
    }
    Ok(())
}
