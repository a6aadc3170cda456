//! The evaluation screen's effects and replies, and the plain data they carry: the worker
//! turns sets, runs, items and per-item results into these, the state keeps them and the
//! view draws them. The comparison itself is `eval::compare::Comparison`, as computed.

use std::collections::BTreeMap;

use crate::eval::compare::Comparison;

/// The metric a run's row shows, and the one comparisons rank disagreements by.
pub const HEADLINE: &str = "f1";

/// One evaluation set as the sets pane lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SetRow {
    pub id: i64,
    pub name: String,
    pub items: i64,
    pub drafts: i64,
    /// `accepted` or `draft`.
    pub status: String,
    pub collection: Option<String>,
}

/// One run of a set, with its live progress.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub id: i64,
    pub name: String,
    pub model: String,
    pub rag: bool,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub status: String,
    pub done: i64,
    pub failed: i64,
    pub total: i64,
    pub job_id: Option<i64>,
    /// Mean of the headline metric over the items done so far.
    pub mean_f1: Option<f64>,
    pub error: Option<String>,
}

impl RunRow {
    /// Still changing: the screen polls while a run is.
    pub fn active(&self) -> bool {
        matches!(self.status.as_str(), "queued" | "running")
    }
}

/// One item of a set (the items view: draft review and drill-down).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemRow {
    pub key: String,
    pub question: String,
    pub answers: Vec<String>,
    pub draft: bool,
    pub unanswerable: bool,
}

/// A source a run's answer was given, as the result's detail stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRow {
    pub n: i64,
    pub chunk_id: Option<i64>,
    pub source_path: String,
    pub heading_path: String,
    pub cited: bool,
    pub attributed: bool,
}

/// What one run did with one item.
#[derive(Debug, Clone, PartialEq)]
pub struct RunAnswer {
    pub run: i64,
    pub name: String,
    pub rag: bool,
    /// None: the run has no result for the item (yet).
    pub answer: Option<String>,
    pub error: Option<String>,
    pub metrics: BTreeMap<String, f64>,
    pub sources: Vec<SourceRow>,
    pub latency_ms: Option<f64>,
}

/// One item across the compared runs: the drill-down.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemDetail {
    pub key: String,
    pub question: String,
    pub answers: Vec<String>,
    pub unanswerable: bool,
    pub runs: Vec<RunAnswer>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EvalEffect {
    LoadSets {
        id: u64,
    },
    LoadRuns {
        id: u64,
        set: i64,
    },
    LoadItems {
        id: u64,
        set: i64,
    },
    /// Compares `runs` against the first one (the baseline).
    Compare {
        id: u64,
        runs: Vec<i64>,
    },
    LoadItem {
        id: u64,
        set: i64,
        key: String,
        runs: Vec<i64>,
    },
    /// Accept or reject drafted items: a change, through the database writer.
    Review {
        set: i64,
        keys: Vec<String>,
        accept: bool,
    },
}

// Replies travel boxed (`Msg::Reply(Box<Reply>)`), so a large variant costs no copies.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum EvalReply {
    Sets {
        id: u64,
        result: Result<Vec<SetRow>, String>,
    },
    Runs {
        id: u64,
        result: Result<Vec<RunRow>, String>,
    },
    Items {
        id: u64,
        result: Result<Vec<ItemRow>, String>,
    },
    Compared {
        id: u64,
        result: Result<Comparison, String>,
    },
    Item {
        id: u64,
        result: Result<ItemDetail, String>,
    },
}
