//! Reading and writing evaluation sets, runs and per-item results. Writers take a
//! `&Connection` so they run inside the process's writer transaction (`DbWriter::call`).

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::collections::BTreeMap;

use super::config::RunConfig;
use super::set::{EvalSet, Item, NewSet, SetStatus, StoredItem};
use crate::jobs::queue::now_ms;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EvalStoreError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no evaluation set `{0}`; `lmdeck eval sets list` shows them, `lmdeck eval sets import FILE` adds one")]
    NoSet(String),
    #[error("an evaluation set named `{0}` exists; choose another --name, or `lmdeck eval sets rm {0}` first")]
    SetExists(String),
    #[error("no evaluation run {0}; `lmdeck eval runs` lists them")]
    NoRun(i64),
    #[error("stored data of {what} is damaged: {detail}")]
    Damaged { what: String, detail: String },
}

impl From<rusqlite::Error> for EvalStoreError {
    fn from(e: rusqlite::Error) -> Self {
        EvalStoreError::Store(StoreError::Sql(e))
    }
}

type Result<T> = std::result::Result<T, EvalStoreError>;

fn json<T: serde::de::DeserializeOwned>(what: impl Fn() -> String, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| EvalStoreError::Damaged {
        what: what(),
        detail: e.to_string(),
    })
}

fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

// ---- sets ----

/// Stores a set and its items; a name in use is an error (nothing is replaced).
pub fn insert_set(conn: &Connection, set: &NewSet) -> Result<i64> {
    let taken: Option<i64> = conn
        .query_row(
            "SELECT id FROM eval_sets WHERE name = ?1",
            [&set.name],
            |r| r.get(0),
        )
        .optional()?;
    if taken.is_some() {
        return Err(EvalStoreError::SetExists(set.name.clone()));
    }
    conn.execute(
        "INSERT INTO eval_sets (name, source, format, sha256, collection, status, created_ms, meta)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            set.name,
            set.source,
            set.format,
            set.sha256,
            set.collection,
            set.status.as_str(),
            now_ms(),
            to_json(&set.meta)
        ],
    )?;
    let id = conn.last_insert_rowid();
    let mut insert = conn.prepare(
        "INSERT INTO eval_items (set_id, ordinal, item_key, question, answers, gold_docs,
            gold_chunks, unanswerable, draft) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for (i, item) in set.items.iter().enumerate() {
        insert.execute(params![
            id,
            i as i64,
            item.key,
            item.question,
            to_json(&item.answers),
            to_json(&item.gold_docs),
            to_json(&item.gold_chunks),
            item.unanswerable,
            item.draft
        ])?;
    }
    Ok(id)
}

const SET_COLUMNS: &str = "s.id, s.name, s.source, s.format, s.sha256, s.collection, s.status,
    s.created_ms, s.meta,
    (SELECT count(*) FROM eval_items i WHERE i.set_id = s.id),
    (SELECT count(*) FROM eval_items i WHERE i.set_id = s.id AND i.draft),
    (SELECT count(*) FROM eval_items i WHERE i.set_id = s.id AND i.unanswerable)";

fn set_row(r: &rusqlite::Row) -> rusqlite::Result<(EvalSet, String)> {
    let meta: String = r.get(8)?;
    Ok((
        EvalSet {
            id: r.get(0)?,
            name: r.get(1)?,
            source: r.get(2)?,
            format: r.get(3)?,
            sha256: r.get(4)?,
            collection: r.get(5)?,
            status: SetStatus::parse(&r.get::<_, String>(6)?),
            created_ms: r.get(7)?,
            meta: serde_json::Value::Null,
            items: r.get(9)?,
            drafts: r.get(10)?,
            unanswerable: r.get(11)?,
        },
        meta,
    ))
}

fn with_meta((mut set, meta): (EvalSet, String)) -> EvalSet {
    set.meta = serde_json::from_str(&meta).unwrap_or(serde_json::Value::Null);
    set
}

pub fn list_sets(conn: &Connection) -> Result<Vec<EvalSet>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {SET_COLUMNS} FROM eval_sets s ORDER BY s.id"
    ))?;
    let rows = stmt.query_map([], set_row)?;
    Ok(rows
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(with_meta)
        .collect())
}

/// A set by name or by id.
pub fn get_set(conn: &Connection, name_or_id: &str) -> Result<EvalSet> {
    let by_id: i64 = name_or_id.parse().unwrap_or(-1);
    conn.query_row(
        &format!("SELECT {SET_COLUMNS} FROM eval_sets s WHERE s.name = ?1 OR s.id = ?2 ORDER BY s.name = ?1 DESC LIMIT 1"),
        params![name_or_id, by_id],
        set_row,
    )
    .optional()?
    .map(with_meta)
    .ok_or_else(|| EvalStoreError::NoSet(name_or_id.to_string()))
}

/// A set by its row id only (a set may be named like another's id).
pub fn get_set_by_id(conn: &Connection, id: i64) -> Result<EvalSet> {
    conn.query_row(
        &format!("SELECT {SET_COLUMNS} FROM eval_sets s WHERE s.id = ?1"),
        [id],
        set_row,
    )
    .optional()?
    .map(with_meta)
    .ok_or_else(|| EvalStoreError::NoSet(id.to_string()))
}

/// Removes a set (by row id) with its items, runs and results.
pub fn remove_set(conn: &Connection, id: i64) -> Result<EvalSet> {
    let set = get_set_by_id(conn, id)?;
    conn.execute("DELETE FROM eval_sets WHERE id = ?1", [set.id])?;
    Ok(set)
}

/// Accepts drafted items (all, or those with the given keys); the set is accepted when no
/// draft item is left. Returns how many items were accepted.
pub fn accept_items(conn: &Connection, set_id: i64, keys: &[String]) -> Result<usize> {
    let n = if keys.is_empty() {
        conn.execute(
            "UPDATE eval_items SET draft = 0 WHERE set_id = ?1 AND draft",
            [set_id],
        )?
    } else {
        let mut n = 0;
        for key in keys {
            n += conn.execute(
                "UPDATE eval_items SET draft = 0 WHERE set_id = ?1 AND item_key = ?2 AND draft",
                params![set_id, key],
            )?;
        }
        n
    };
    conn.execute(
        "UPDATE eval_sets SET status = 'accepted' WHERE id = ?1
           AND NOT EXISTS (SELECT 1 FROM eval_items WHERE set_id = ?1 AND draft)",
        [set_id],
    )?;
    Ok(n)
}

/// Removes drafted items a reviewer rejected.
pub fn reject_items(conn: &Connection, set_id: i64, keys: &[String]) -> Result<usize> {
    let mut n = 0;
    for key in keys {
        n += conn.execute(
            "DELETE FROM eval_items WHERE set_id = ?1 AND item_key = ?2 AND draft",
            params![set_id, key],
        )?;
    }
    Ok(n)
}

pub fn items(conn: &Connection, set_id: i64) -> Result<Vec<StoredItem>> {
    let mut stmt = conn.prepare(
        "SELECT id, ordinal, item_key, question, answers, gold_docs, gold_chunks, unanswerable,
                draft
         FROM eval_items WHERE set_id = ?1 ORDER BY ordinal",
    )?;
    let rows = stmt.query_map([set_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, bool>(7)?,
            r.get::<_, bool>(8)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, ordinal, key, question, answers, gold_docs, gold_chunks, unanswerable, draft) =
            row?;
        let what = || format!("evaluation item {key} (set {set_id})");
        out.push(StoredItem {
            id,
            ordinal,
            item: Item {
                answers: json(what, &answers)?,
                gold_docs: json(what, &gold_docs)?,
                gold_chunks: json(what, &gold_chunks)?,
                key,
                question,
                unanswerable,
                draft,
            },
        });
    }
    Ok(out)
}

// ---- runs ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> RunStatus {
        match s {
            "running" => RunStatus::Running,
            "succeeded" => RunStatus::Succeeded,
            "failed" => RunStatus::Failed,
            _ => RunStatus::Queued,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub id: i64,
    pub set_id: i64,
    pub set_name: String,
    pub name: String,
    pub config: RunConfig,
    pub item_limit: Option<i64>,
    /// Items the run evaluates.
    pub total: i64,
    pub job_id: Option<i64>,
    pub status: RunStatus,
    pub error: Option<String>,
    pub created_ms: i64,
    pub started_ms: Option<i64>,
    pub ended_ms: Option<i64>,
    /// Items with a stored result, and items whose last attempt failed.
    pub done: i64,
    pub failed: i64,
}

pub fn create_run(
    conn: &Connection,
    set_id: i64,
    config: &RunConfig,
    limit: Option<usize>,
) -> Result<i64> {
    let mut stmt = conn.prepare(
        "SELECT id FROM eval_items WHERE set_id = ?1 AND NOT draft ORDER BY ordinal LIMIT ?2",
    )?;
    let ids = stmt
        .query_map(params![set_id, limit.map_or(-1, |l| l as i64)], |r| {
            r.get::<_, i64>(0)
        })?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    conn.execute(
        "INSERT INTO eval_runs (set_id, name, config, item_limit, item_ids, total, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            set_id,
            config.name,
            to_json(config),
            limit.map(|l| l as i64),
            to_json(&ids),
            ids.len() as i64,
            now_ms()
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn set_run_job(conn: &Connection, run_id: i64, job_id: i64) -> Result<()> {
    conn.execute(
        "UPDATE eval_runs SET job_id = ?2 WHERE id = ?1",
        params![run_id, job_id],
    )?;
    Ok(())
}

pub fn mark_run(
    conn: &Connection,
    run_id: i64,
    status: RunStatus,
    error: Option<&str>,
) -> Result<()> {
    let now = now_ms();
    match status {
        RunStatus::Running => conn.execute(
            "UPDATE eval_runs SET status = 'running', error = NULL, ended_ms = NULL,
                started_ms = coalesce(started_ms, ?2) WHERE id = ?1",
            params![run_id, now],
        )?,
        RunStatus::Queued => conn.execute(
            "UPDATE eval_runs SET status = 'queued', error = NULL, ended_ms = NULL WHERE id = ?1",
            [run_id],
        )?,
        done => conn.execute(
            "UPDATE eval_runs SET status = ?2, error = ?3, ended_ms = ?4 WHERE id = ?1",
            params![run_id, done.as_str(), error, now],
        )?,
    };
    Ok(())
}

const RUN_COLUMNS: &str = "r.id, r.set_id, s.name, r.name, r.config, r.item_limit, r.total,
    r.job_id, r.status, r.error, r.created_ms, r.started_ms, r.ended_ms,
    (SELECT count(*) FROM eval_results x WHERE x.run_id = r.id AND x.status = 'ok'),
    (SELECT count(*) FROM eval_results x WHERE x.run_id = r.id AND x.status = 'error')";

fn run_row(r: &rusqlite::Row) -> rusqlite::Result<(Run, String)> {
    Ok((
        Run {
            id: r.get(0)?,
            set_id: r.get(1)?,
            set_name: r.get(2)?,
            name: r.get(3)?,
            config: placeholder_config(),
            item_limit: r.get(5)?,
            total: r.get(6)?,
            job_id: r.get(7)?,
            status: RunStatus::parse(&r.get::<_, String>(8)?),
            error: r.get(9)?,
            created_ms: r.get(10)?,
            started_ms: r.get(11)?,
            ended_ms: r.get(12)?,
            done: r.get(13)?,
            failed: r.get(14)?,
        },
        r.get(4)?,
    ))
}

fn placeholder_config() -> RunConfig {
    RunConfig {
        name: String::new(),
        collection: None,
        model: String::new(),
        rag: false,
        mode: String::new(),
        k: 0,
        candidates: 0,
        rrf_k: 0.0,
        prompt: None,
        temperature: 0.0,
        top_k: 0,
        top_p: 0.0,
        repetition_penalty: 0.0,
        seed: 0,
        max_tokens: 0,
        context_tokens: 0,
        metrics_k: 0,
        judge: None,
        judge_runs: 0,
        judge_temperature: 0.0,
        judge_max_tokens: 0,
    }
}

fn with_config((mut run, config): (Run, String)) -> Result<Run> {
    run.config = json(|| format!("evaluation run {}", run.id), &config)?;
    Ok(run)
}

pub fn get_run(conn: &Connection, run_id: i64) -> Result<Run> {
    let row = conn
        .query_row(
            &format!(
                "SELECT {RUN_COLUMNS} FROM eval_runs r JOIN eval_sets s ON s.id = r.set_id
                 WHERE r.id = ?1"
            ),
            [run_id],
            run_row,
        )
        .optional()?
        .ok_or(EvalStoreError::NoRun(run_id))?;
    with_config(row)
}

/// Runs, newest first; only those of one set when `set_id` is given.
pub fn list_runs(conn: &Connection, set_id: Option<i64>) -> Result<Vec<Run>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {RUN_COLUMNS} FROM eval_runs r JOIN eval_sets s ON s.id = r.set_id
         WHERE ?1 IS NULL OR r.set_id = ?1 ORDER BY r.id DESC"
    ))?;
    let rows = stmt.query_map([set_id], run_row)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(with_config)
        .collect()
}

pub fn remove_run(conn: &Connection, run_id: i64) -> Result<()> {
    if conn.execute("DELETE FROM eval_runs WHERE id = ?1", [run_id])? == 0 {
        return Err(EvalStoreError::NoRun(run_id));
    }
    Ok(())
}

// ---- results ----

/// An item's outcome in a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemResult {
    pub item_id: i64,
    pub ok: bool,
    pub answer: Option<String>,
    pub detail: serde_json::Value,
    pub metrics: BTreeMap<String, f64>,
    pub error: Option<String>,
    pub attempts: i64,
    pub finished_ms: i64,
}

/// Stores an item's outcome; an earlier failure of the item is replaced and counted, a
/// finished result never is (two processes executing one run cannot undo each other).
pub fn save_result(conn: &Connection, run_id: i64, result: &ItemResult) -> Result<()> {
    conn.execute(
        "INSERT INTO eval_results (run_id, item_id, status, answer, detail, metrics, error,
             attempts, finished_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8)
         ON CONFLICT (run_id, item_id) DO UPDATE SET status = excluded.status,
             answer = excluded.answer, detail = excluded.detail, metrics = excluded.metrics,
             error = excluded.error, attempts = eval_results.attempts + 1,
             finished_ms = excluded.finished_ms
         WHERE eval_results.status <> 'ok'",
        params![
            run_id,
            result.item_id,
            if result.ok { "ok" } else { "error" },
            result.answer,
            to_json(&result.detail),
            to_json(&result.metrics),
            result.error,
            result.finished_ms
        ],
    )?;
    Ok(())
}

/// The run's results by item id.
pub fn results(conn: &Connection, run_id: i64) -> Result<BTreeMap<i64, ItemResult>> {
    let mut stmt = conn.prepare(
        "SELECT item_id, status, answer, detail, metrics, error, attempts, finished_ms
         FROM eval_results WHERE run_id = ?1",
    )?;
    let rows = stmt.query_map([run_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, i64>(6)?,
            r.get::<_, i64>(7)?,
        ))
    })?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (item_id, status, answer, detail, metrics, error, attempts, finished_ms) = row?;
        let what = || format!("result of item {item_id} in run {run_id}");
        out.insert(
            item_id,
            ItemResult {
                item_id,
                ok: status == "ok",
                answer,
                detail: json(what, &detail)?,
                metrics: json(what, &metrics)?,
                error,
                attempts,
                finished_ms,
            },
        );
    }
    Ok(out)
}

/// Items the run evaluates, in set order: those frozen when it was created (the accepted
/// items then, the first `item_limit` of them).
pub fn run_items(conn: &Connection, run: &Run) -> Result<Vec<StoredItem>> {
    let frozen: Option<String> = conn.query_row(
        "SELECT item_ids FROM eval_runs WHERE id = ?1",
        [run.id],
        |r| r.get(0),
    )?;
    let all = items(conn, run.set_id)?;
    let Some(frozen) = frozen else {
        // A run created before item lists were frozen.
        let mut accepted: Vec<StoredItem> = all.into_iter().filter(|i| !i.item.draft).collect();
        if let Some(limit) = run.item_limit {
            accepted.truncate(limit.max(0) as usize);
        }
        return Ok(accepted);
    };
    let ids: std::collections::HashSet<i64> =
        json(|| format!("evaluation run {}", run.id), &frozen)?;
    Ok(all.into_iter().filter(|i| ids.contains(&i.id)).collect())
}

/// Mean of each metric over the run's successful items (a metric absent from an item, because
/// it does not apply there, is left out of that metric's mean), with how many items had it.
pub fn summary(results: &BTreeMap<i64, ItemResult>) -> BTreeMap<String, (f64, usize)> {
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for r in results.values().filter(|r| r.ok) {
        for (name, value) in &r.metrics {
            if value.is_finite() {
                let e = sums.entry(name.clone()).or_default();
                e.0 += value;
                e.1 += 1;
            }
        }
    }
    sums.into_iter()
        .map(|(k, (sum, n))| (k, (sum / n.max(1) as f64, n)))
        .collect()
}

#[cfg(test)]
mod tests;
