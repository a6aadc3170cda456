//! The read lane: loads and searches on one read connection, in order, never behind long
//! work. Of a burst of searches, or of comparisons, only the newest runs (the older ones'
//! replies would be dropped as stale anyway).

use crossbeam_channel::Receiver;

use super::Shared;
use crate::curate::{self, histogram::Histogram};
use crate::retrieve::{self, why};
use crate::store::{collections, documents, Store};
use crate::tui::effect::{ChatEffect, CorpusEffect, Effect, InspectorEffect};
use crate::tui::eval_msg::EvalEffect;
use crate::tui::msg::{ChatReply, CorpusReply, DocDetail, InspectorReply, Reply};

const HISTOGRAM_BUCKETS: usize = 16;

pub(super) fn run(shared: &Shared, effects: &Receiver<Effect>) {
    let store = Store::open(&shared.config.db).map_err(|e| e.to_string());
    while let Ok(first) = effects.recv() {
        let mut batch = vec![first];
        batch.extend(effects.try_iter());
        let last_search = batch.iter().rposition(is_search);
        let last_compare = batch.iter().rposition(is_compare);
        for (i, effect) in batch.into_iter().enumerate() {
            if (is_search(&effect) && Some(i) != last_search)
                || (is_compare(&effect) && Some(i) != last_compare)
            {
                continue;
            }
            let label: String = format!("{effect:?}").chars().take(60).collect();
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                read(shared, store.as_ref().map_err(Clone::clone), effect)
            }));
            if ran.is_err() {
                shared.send(Reply::Failed {
                    message: format!("{label}… failed unexpectedly (a bug: see the log file)"),
                });
            }
        }
    }
}

fn is_search(e: &Effect) -> bool {
    matches!(e, Effect::Inspector(InspectorEffect::Search { .. }))
}

fn is_compare(e: &Effect) -> bool {
    matches!(e, Effect::Eval(EvalEffect::Compare { .. }))
}

fn read(shared: &Shared, store: Result<&Store, String>, effect: Effect) {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    match effect {
        Effect::Corpus(CorpusEffect::LoadCollections { id }) => {
            let result = store.and_then(|s| collections::list(s.conn()).map_err(|e| err(&e)));
            shared.send(Reply::Corpus(CorpusReply::Collections { id, result }));
        }
        Effect::Corpus(CorpusEffect::LoadDocuments { id, collection }) => {
            let result = store.and_then(|s| {
                let c = collections::get(s.conn(), &collection).map_err(|e| err(&e))?;
                documents::list(s.conn(), c.id).map_err(|e| err(&e))
            });
            shared.send(Reply::Corpus(CorpusReply::Documents { id, result }));
        }
        Effect::Corpus(CorpusEffect::LoadDocument { id, document_id }) => {
            let result = store.and_then(|s| detail(s, document_id));
            shared.send(Reply::Corpus(CorpusReply::Document { id, result }));
        }
        Effect::Corpus(CorpusEffect::LoadChunk { id, chunk_id }) => {
            let result = store.and_then(|s| {
                let c = documents::chunk(s.conn(), chunk_id).map_err(|e| err(&e))?;
                detail(s, c.chunk.document_id)
            });
            shared.send(Reply::Corpus(CorpusReply::Document { id, result }));
        }
        Effect::Corpus(CorpusEffect::LoadHistogram { id, collection }) => {
            let result = store.and_then(|s| {
                let lengths =
                    curate::histogram::chunk_lengths(s.conn(), &collection).map_err(|e| err(&e))?;
                Ok(Histogram::build(&lengths, HISTOGRAM_BUCKETS))
            });
            shared.send(Reply::Corpus(CorpusReply::Histogram { id, result }));
        }
        Effect::Inspector(InspectorEffect::Search {
            id,
            collection,
            query,
            params,
        }) => {
            let engine = shared.engine();
            let embedder = engine.as_ref().map(|e| e.embedder.as_ref());
            let result = store.and_then(|s| {
                retrieve::search(s, embedder, &collection, &query, &params).map_err(explain)
            });
            shared.send(Reply::Inspector(InspectorReply::Search { id, result }));
        }
        Effect::Inspector(InspectorEffect::WhyNot {
            id,
            collection,
            query,
            target,
            params,
        }) => {
            let engine = shared.engine();
            let embedder = engine.as_ref().map(|e| e.embedder.as_ref());
            let result = store.and_then(|s| {
                why::why_not(s, embedder, &collection, &query, &target, &params).map_err(explain)
            });
            shared.send(Reply::Inspector(InspectorReply::WhyNot { id, result }));
        }
        Effect::Chat(ChatEffect::LoadChatSessions { id }) => {
            let result = store
                .clone()
                .and_then(|s| crate::store::chat::sessions(s.conn()).map_err(|e| err(&e)));
            shared.send(Reply::Chat(ChatReply::ChatSessions { id, result }));
            if let Ok(s) = store {
                super::chat::send_models(shared, s);
            }
        }
        Effect::Chat(ChatEffect::LoadChatSession { id, session }) => {
            let result = store.and_then(|s| {
                let messages =
                    crate::store::chat::messages(s.conn(), session).map_err(|e| err(&e))?;
                let pins = crate::store::chat::pins(s.conn(), session).map_err(|e| err(&e))?;
                Ok((session, messages, pins))
            });
            shared.send(Reply::Chat(ChatReply::ChatSession { id, result }));
        }
        Effect::Jobs(e) => super::jobs::read(shared, store, e),
        Effect::Eval(e) => super::eval::read(shared, store, e),
        other => tracing::error!("the read lane got an effect it does not run: {other:?}"),
    }
}

fn explain(e: retrieve::RetrieveError) -> String {
    match e {
        retrieve::RetrieveError::NoEmbedder(mode) => {
            format!("{mode} search needs the embedding model, which is still loading (or failed: see the status bar); press m for keyword mode")
        }
        other => other.to_string(),
    }
}

/// A document with its chunks, for the document view.
pub(super) fn detail(store: &Store, document_id: i64) -> Result<DocDetail, String> {
    let doc = documents::get(store.conn(), document_id).map_err(|e| e.to_string())?;
    let chunks = documents::chunks(store.conn(), document_id).map_err(|e| e.to_string())?;
    Ok(DocDetail { doc, chunks })
}
