//! Messages into the reducer: keys, resizes, the clock, and replies from background work.
//! Replies carry the id of the request they answer; the state drops stale ones.

use crate::curate::histogram::Histogram;
use crate::ingest::IngestReport;
use crate::retrieve::why::WhyNot;
use crate::retrieve::SearchResult;
use crate::store::collections::CollectionStats;
use crate::store::documents::{ChunkInDoc, ChunkRow, DocumentRow};

use super::key::Key;

#[derive(Debug, Clone)]
pub enum Msg {
    Key(Key),
    Resize {
        width: u16,
        height: u16,
    },
    /// The clock moved on (expires toasts).
    Tick {
        now_ms: u64,
    },
    Reply(Box<Reply>),
    /// Something the shell has to say (a startup problem, a theme switch).
    Notice {
        text: String,
        error: bool,
    },
    ThemeChanged {
        name: String,
    },
}

impl Msg {
    pub fn reply(reply: Reply) -> Msg {
        Msg::Reply(Box::new(reply))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DocDetail {
    pub doc: DocumentRow,
    pub chunks: Vec<ChunkRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DupPairView {
    pub similarity: f32,
    pub a: ChunkInDoc,
    pub b: ChunkInDoc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DupView {
    pub threshold: f32,
    pub pairs: Vec<DupPairView>,
    pub chunks_compared: usize,
    pub truncated: bool,
}

pub type Answer<T> = Result<T, String>;

/// The "error" of an answer the user stopped before its first word: shown as a stop, not
/// as a failure.
pub const STOPPED_BEFORE_ANSWER: &str = "stopped before the answer began";

/// A background answer, nested by the screen that asked (app-wide ones at the top). Each
/// screen's state takes only its own; nothing is handed to another screen by default.
#[derive(Debug, Clone)]
pub enum Reply {
    Corpus(CorpusReply),
    Inspector(InspectorReply),
    Chat(ChatReply),
    Jobs(crate::tui::jobs_msg::JobsReply),
    Eval(crate::tui::eval_msg::EvalReply),
    Task(TaskReply),
    /// A curation change went through.
    Changed {
        message: String,
    },
    Failed {
        message: String,
    },
    EngineReady {
        model: String,
        provider: String,
    },
    EngineFailed {
        message: String,
    },
    /// Another process holds the database's write lock (`Some`: what is waiting) or no
    /// longer does (`None`).
    DbWait {
        waiting: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub enum CorpusReply {
    Collections {
        id: u64,
        result: Answer<Vec<CollectionStats>>,
    },
    Documents {
        id: u64,
        result: Answer<Vec<DocumentRow>>,
    },
    Document {
        id: u64,
        result: Answer<DocDetail>,
    },
    Dupes {
        id: u64,
        result: Answer<DupView>,
    },
    Histogram {
        id: u64,
        result: Answer<Histogram>,
    },
    SyncPlan {
        id: u64,
        collection: String,
        result: Answer<IngestReport>,
    },
    SyncDone {
        collection: String,
        result: Answer<IngestReport>,
    },
}

#[derive(Debug, Clone)]
pub enum InspectorReply {
    Search {
        id: u64,
        result: Answer<SearchResult>,
    },
    WhyNot {
        id: u64,
        result: Answer<WhyNot>,
    },
}

#[derive(Debug, Clone)]
pub enum ChatReply {
    ChatModels {
        models: Vec<String>,
    },
    /// Where the answer stands before its first words: loading the model, retrieving.
    ChatPhase {
        id: u64,
        phase: String,
    },
    ChatSources {
        id: u64,
        sources: Vec<crate::rag::Source>,
    },
    ChatText {
        id: u64,
        text: String,
    },
    ChatDone {
        id: u64,
        result: Answer<AnswerDone>,
    },
    ChatSessions {
        id: u64,
        result: Answer<Vec<crate::store::chat::Session>>,
    },
    /// A stored session: its id, messages and pinned chunks.
    ChatSession {
        id: u64,
        result: Answer<(i64, Vec<crate::store::chat::StoredMessage>, Vec<i64>)>,
    },
}

/// Background tasks (sync, dupes scan, answers): one shape for all, shown in the status
/// bar and the task list, each cancellable by id.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskReply {
    Started {
        task: u64,
        kind: TaskKind,
        label: String,
    },
    Progress {
        task: u64,
        done: u64,
        total: u64,
    },
    Ended {
        task: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    SyncPlan,
    Sync,
    Dupes,
    Answer,
    /// Cancel, pause, resume or retry of a fine-tune job.
    JobControl,
}

impl TaskKind {
    pub fn name(self) -> &'static str {
        match self {
            TaskKind::SyncPlan => "sync plan",
            TaskKind::Sync => "sync",
            TaskKind::Dupes => "near duplicates",
            TaskKind::Answer => "answer",
            TaskKind::JobControl => "job",
        }
    }
}

/// What the chat screen keeps of a finished answer.
#[derive(Debug, Clone)]
pub struct AnswerDone {
    pub stats: crate::generate::GenerateStats,
    /// Source numbers the model cited.
    pub cited: Vec<usize>,
    /// Sources backing its sentences by similarity (None without an embedder).
    pub attribution: Option<crate::rag::Attribution>,
    /// The session the exchange was stored in.
    pub session: i64,
}
