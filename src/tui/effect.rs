//! What the reducer asks the shell to do. The shell runs each on a worker thread and answers
//! with a `Reply` carrying the same id.

use crate::retrieve::SearchParams;

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadCollections {
        id: u64,
    },
    LoadDocuments {
        id: u64,
        collection: String,
    },
    LoadDocument {
        id: u64,
        document_id: i64,
    },
    Search {
        id: u64,
        collection: String,
        query: String,
        params: SearchParams,
    },
    WhyNot {
        id: u64,
        collection: String,
        query: String,
        target: String,
        params: SearchParams,
    },
    FindDupes {
        id: u64,
        collection: String,
        threshold: f32,
    },
    LoadHistogram {
        id: u64,
        collection: String,
    },
    SetDocExcluded {
        collection: String,
        document_id: i64,
        excluded: bool,
    },
    SetChunkExcluded {
        chunk_id: i64,
        excluded: bool,
    },
    Tag {
        collection: String,
        document_id: i64,
        tag: String,
        add: bool,
    },
    DeleteDocument {
        collection: String,
        document_id: i64,
    },
    PlanSync {
        id: u64,
        collection: String,
    },
    RunSync {
        collection: String,
    },
    SetTheme {
        name: String,
    },
    LoadChunk {
        id: u64,
        chunk_id: i64,
    },
    Ask {
        id: u64,
        question: String,
        model: String,
        collection: Option<String>,
        session: Option<i64>,
        /// Chunks offered as sources first.
        pinned: Vec<i64>,
    },
    StopGeneration {
        id: u64,
    },
    LoadChatSessions {
        id: u64,
    },
    LoadChatSession {
        id: u64,
        session: i64,
    },
    /// Put text on the user's clipboard (the shell writes OSC 52).
    Copy {
        text: String,
    },
}
