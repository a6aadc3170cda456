//! What the reducer asks the shell to do, nested by the screen that asks. The shell runs
//! each on a background lane and answers with a `Reply` of the same screen carrying the
//! same id.

use crate::retrieve::SearchParams;

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Corpus(CorpusEffect),
    Inspector(InspectorEffect),
    Chat(ChatEffect),
    Jobs(crate::tui::jobs_msg::JobsEffect),
    Eval(crate::tui::eval_msg::EvalEffect),
    Task(TaskEffect),
    /// Done by the shell itself, on its own thread.
    Shell(ShellEffect),
}

#[derive(Debug, Clone, PartialEq)]
pub enum CorpusEffect {
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
    LoadChunk {
        id: u64,
        chunk_id: i64,
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
        id: u64,
        collection: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum InspectorEffect {
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
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChatEffect {
    Ask {
        id: u64,
        question: String,
        model: String,
        collection: Option<String>,
        session: Option<i64>,
        /// Chunks offered as sources first.
        pinned: Vec<i64>,
        /// Earlier turns of the conversation, oldest first: (question, answer).
        history: Vec<(String, String)>,
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
    /// Rate an answer of `session` (None clears). An answer given in this console has no
    /// message id yet: the change lane finds it as the session's newest answer with that text.
    Rate {
        session: i64,
        message_id: Option<i64>,
        answer: String,
        rating: Option<crate::store::chat::Rating>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum TaskEffect {
    /// Stop a background task (sync, dupes scan, answer) by its task id.
    Cancel { task: u64 },
}

#[derive(Debug, Clone, PartialEq)]
pub enum ShellEffect {
    SetTheme {
        name: String,
    },
    /// Put text on the user's clipboard (the shell writes OSC 52).
    Copy {
        text: String,
    },
}
