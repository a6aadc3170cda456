//! One question answered: retrieve, build the prompt, stream, cite, and store.

use serde::Serialize;

use super::attribution::{attribute, Attribution, DEFAULT_THRESHOLD};
use super::citations::cited;
use super::context::Source;
use super::prompt::{self, Dropped, PromptInput};
use super::RagError;
use crate::embed::Embedder;
use crate::generate::{
    Cancel, ChatMessage, GenerateEvent, GenerateRequest, GenerateStats, Generator, SamplingParams,
};
use crate::retrieve::{self, SearchParams, SearchResult};
use crate::store::chat::{self, NewMessage, StoredSource};
use crate::store::{DbWriter, Store};

#[derive(Debug, Clone)]
pub struct AskOptions {
    pub rag: bool,
    pub collection: Option<String>,
    pub search: SearchParams,
    pub sampling: SamplingParams,
    pub max_new_tokens: usize,
    /// Prompt + answer tokens at most (also capped by the model's context).
    pub context_tokens: usize,
    /// Chunks offered as sources first, whatever the retrieval finds (RAG only).
    pub pinned: Vec<i64>,
    /// Earlier turns of the conversation, oldest first (`user` and `assistant` messages);
    /// the oldest are left out when the context is short.
    pub history: Vec<ChatMessage>,
    /// Instructions replacing the default RAG instructions (evaluation prompt variants).
    pub instructions: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub question: String,
    pub text: String,
    pub model: String,
    /// Where the model ran: execution provider or endpoint.
    pub backend: String,
    pub rag: bool,
    pub sources: Vec<Source>,
    /// Source numbers the answer cites, in order of first citation.
    pub cited: Vec<usize>,
    pub stats: GenerateStats,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retrieval: Option<SearchResult>,
    /// Chunks pinned to the session this answer belongs to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pinned: Vec<i64>,
    /// History and chunks the context had no room for.
    #[serde(skip_serializing_if = "Dropped::is_empty")]
    pub dropped: Dropped,
    /// Which sources back each sentence by embedding similarity (RAG with an embedder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<Attribution>,
}

/// Streamed parts of an answer: the sources as soon as they are chosen, then the text.
pub trait AnswerSink {
    fn sources(&mut self, _sources: &[Source]) {}
    fn text(&mut self, piece: &str);
}

impl<F: FnMut(&str)> AnswerSink for F {
    fn text(&mut self, piece: &str) {
        self(piece)
    }
}

/// Answers `question`, streaming to `sink`.
pub fn ask(
    store: &Store,
    embedder: Option<&dyn Embedder>,
    generator: &dyn Generator,
    question: &str,
    options: &AskOptions,
    cancel: &Cancel,
    sink: &mut dyn AnswerSink,
) -> Result<Answer, RagError> {
    let (pinned, retrieval) = if options.rag {
        let collection = options
            .collection
            .as_deref()
            .ok_or(RagError::NoCollection)?;
        let result = retrieve::search(store, embedder, collection, question, &options.search)?;
        (
            pinned_hits(store, collection, &options.pinned)?,
            Some(result),
        )
    } else {
        (Vec::new(), None)
    };
    let prompt = prompt::build(
        generator,
        &PromptInput {
            question,
            history: &options.history,
            pinned: &pinned,
            hits: retrieval.as_ref().map_or(&[], |r| &r.hits),
            context_tokens: options.context_tokens,
            max_new_tokens: options.max_new_tokens,
            instructions: options.instructions.as_deref(),
        },
    )?;
    sink.sources(&prompt.sources);
    let request = GenerateRequest {
        messages: prompt.messages,
        sampling: options.sampling,
        max_new_tokens: prompt.tokens.max_new_tokens,
        stop: Vec::new(),
    };
    let mut text = String::new();
    let stats = generator.generate(&request, cancel, &mut |event| {
        if let GenerateEvent::Text(piece) = event {
            sink.text(&piece);
            text.push_str(&piece);
        }
    })?;
    let sources = prompt.sources;
    let cited = cited(&text, sources.len());
    // The answer is already streamed: failing to attribute it loses the attribution only.
    let attribution = match embedder {
        Some(e) if options.rag && !sources.is_empty() => {
            attribute(e, &text, &sources, DEFAULT_THRESHOLD)
                .map_err(|err| tracing::warn!("attributing the answer: {err}"))
                .ok()
        }
        _ => None,
    };
    Ok(Answer {
        question: question.to_string(),
        text,
        model: generator.name().to_string(),
        backend: generator.backend(),
        rag: options.rag,
        sources,
        cited,
        stats,
        retrieval,
        pinned: options.pinned.clone(),
        dropped: prompt.dropped,
        attribution,
    })
}

/// The pinned chunks that can still be offered: not deleted, not excluded, still in the
/// collection (exclusion wins over a pin).
fn pinned_hits(
    store: &Store,
    collection: &str,
    pinned: &[i64],
) -> Result<Vec<crate::retrieve::Hit>, RagError> {
    let coll = crate::store::collections::get(store.conn(), collection)?;
    let mut out: Vec<crate::retrieve::Hit> = Vec::with_capacity(pinned.len());
    for &id in pinned {
        let Ok(c) = crate::store::documents::chunk(store.conn(), id) else {
            continue; // deleted since it was pinned
        };
        let doc = crate::store::documents::get(store.conn(), c.chunk.document_id)?;
        if doc.collection_id != coll.id || c.chunk.excluded || doc.status != "active" {
            continue;
        }
        out.push(crate::retrieve::Hit {
            rank: 0,
            chunk_id: id,
            document_id: doc.id,
            source_path: doc.source_path,
            title: doc.title,
            heading_path: c.chunk.heading_path,
            ordinal: c.chunk.ordinal,
            byte_start: c.chunk.byte_start,
            byte_end: c.chunk.byte_end,
            text: c.chunk.text,
            trace: crate::retrieve::Trace {
                formula: "pinned".into(),
                ..Default::default()
            },
        });
    }
    Ok(out)
}

/// Stores the question and the answer (with its sources and trace) in a session, creating
/// one titled after the question when `session` is None, all in one write transaction of
/// `db` (the process's `DbWriter`). Returns the session id.
pub fn save(db: &DbWriter, session: Option<i64>, answer: &Answer) -> Result<i64, RagError> {
    // The write runs on the writer thread, so it takes owned copies of what it stores.
    let title: String = answer.question.chars().take(80).collect();
    let collection = answer.retrieval.as_ref().map(|r| r.collection.clone());
    let pins = answer.rag.then(|| answer.pinned.clone());
    let (question, text, model, rag) = (
        answer.question.clone(),
        answer.text.clone(),
        answer.model.clone(),
        answer.rag,
    );
    let stats = serde_json::to_value(&answer.stats).ok();
    let trace = answer
        .retrieval
        .as_ref()
        .and_then(|r| serde_json::to_value(r).ok());
    let sources = stored_sources(answer);
    Ok(db.call(move |tx| {
        let session = match session {
            Some(id) => chat::session(tx, id)?.id,
            None => chat::create_session(tx, &title, collection.as_deref())?,
        };
        if let Some(pins) = &pins {
            // The full pin set travels with every RAG answer, so an unpin is saved too.
            chat::set_pins(tx, session, pins)?;
        }
        let user = NewMessage {
            role: "user",
            content: &question,
            model: None,
            rag,
            stats: None,
            trace: None,
            sources: &[],
        };
        chat::add_message(tx, session, &user)?;
        let assistant = NewMessage {
            role: "assistant",
            content: &text,
            model: Some(&model),
            rag,
            stats,
            trace,
            sources: &sources,
        };
        chat::add_message(tx, session, &assistant)?;
        Ok(session)
    })?)
}

fn stored_sources(answer: &Answer) -> Vec<StoredSource> {
    answer
        .sources
        .iter()
        .map(|s| StoredSource {
            n: s.n as i64,
            chunk_id: s.chunk_id,
            source_path: s.source_path.clone(),
            heading_path: s.heading_path.clone(),
            cited: answer.cited.contains(&s.n),
        })
        .collect()
}
