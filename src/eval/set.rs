//! Labelled evaluation sets and their items, as stored (`eval_sets`, `eval_items`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One labelled question. Gold ids are what the retriever's hits are matched against:
/// documents by id or path (`answer::same_document`), chunks by chunk id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The item's id in its set (`item_key`).
    pub key: String,
    pub question: String,
    /// Acceptable answers; empty for an unanswerable item.
    #[serde(default)]
    pub answers: Vec<String>,
    /// Relevant documents with their grade (> 0); binary sets grade every one 1.
    #[serde(default)]
    pub gold_docs: BTreeMap<String, u32>,
    #[serde(default)]
    pub gold_chunks: Vec<i64>,
    #[serde(default)]
    pub unanswerable: bool,
    /// Drafted by a model and not yet accepted by a person.
    #[serde(default)]
    pub draft: bool,
}

/// A stored item: its row id and place in the set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredItem {
    pub id: i64,
    pub ordinal: i64,
    #[serde(flatten)]
    pub item: Item,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SetStatus {
    Accepted,
    Draft,
}

impl SetStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SetStatus::Accepted => "accepted",
            SetStatus::Draft => "draft",
        }
    }

    pub fn parse(s: &str) -> SetStatus {
        if s == "draft" {
            SetStatus::Draft
        } else {
            SetStatus::Accepted
        }
    }
}

/// A set about to be stored.
#[derive(Debug, Clone)]
pub struct NewSet {
    pub name: String,
    /// The file or folder it was imported from (or `draft:COLLECTION`).
    pub source: String,
    /// `jsonl`, `beir`, `squad` or `draft`.
    pub format: String,
    /// sha256 of the imported content.
    pub sha256: String,
    pub collection: Option<String>,
    pub status: SetStatus,
    pub meta: serde_json::Value,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalSet {
    pub id: i64,
    pub name: String,
    pub source: String,
    pub format: String,
    pub sha256: String,
    pub collection: Option<String>,
    pub status: SetStatus,
    pub created_ms: i64,
    pub meta: serde_json::Value,
    /// Items in the set (drafts included).
    pub items: i64,
    /// Items still marked draft.
    pub drafts: i64,
    pub unanswerable: i64,
}
