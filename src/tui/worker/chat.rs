//! Answers as tasks: load the chat model (once, cached), retrieve, stream the answer, store
//! the exchange through the writer. The task's cancel handle stops the generation.

use std::sync::{Arc, Mutex};

use super::long::start;
use super::Shared;
use crate::embed::Embedder;
use crate::generate::Generator;
use crate::store::Store;
use crate::tui::effect::ChatEffect;
use crate::tui::msg::{ChatReply, Reply, TaskKind};

/// Chat models loaded so far, by name, shared by the answer tasks.
pub(super) type Generators = Arc<Mutex<std::collections::HashMap<String, Arc<dyn Generator>>>>;

/// Tells the chat screen which models it can switch between.
pub(super) fn send_models(shared: &Shared, store: &Store) {
    let Some(ctx) = &shared.config.ctx else {
        return;
    };
    let mut models: Vec<String> = crate::services::models::all(ctx, Some(store))
        .map(|l| l.into_iter().map(|m| m.name).collect())
        .unwrap_or_default();
    if let Ok(endpoints) = crate::services::models::endpoints(ctx) {
        models.extend(endpoints.into_keys());
    }
    shared.send(Reply::Chat(ChatReply::ChatModels { models }));
}

pub(super) fn ask(shared: &Shared, effect: ChatEffect) {
    let ChatEffect::Ask {
        id,
        question,
        model,
        collection,
        session,
        pinned,
        history,
    } = effect
    else {
        return;
    };
    start(
        shared,
        id,
        TaskKind::Answer,
        model.clone(),
        move |s, cancel| {
            let phase = |phase: &str| {
                s.send(Reply::Chat(ChatReply::ChatPhase {
                    id,
                    phase: phase.to_string(),
                }))
            };
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let ctx = s.config.ctx.clone().ok_or("no chat models in this console")?;
            let store = Store::open(&s.config.db).map_err(|e| e.to_string())?;
            let cached = s.generators.lock().ok().and_then(|g| g.get(&model).cloned());
            let generator = match cached {
                Some(g) => g,
                None => {
                    phase("loading model…");
                    let loaded: Arc<dyn Generator> = Arc::from(
                        crate::services::models::generator(&ctx, Some(&store), &model)
                            .map_err(|e| format!("{e:#}"))?,
                    );
                    if let Ok(mut g) = s.generators.lock() {
                        g.insert(model.clone(), Arc::clone(&loaded));
                    }
                    loaded
                }
            };
            if cancel.is_cancelled() {
                return Err(crate::tui::msg::STOPPED_BEFORE_ANSWER.to_string());
            }
            let g = &ctx.config().generate;
            let mut search = ctx.search_params().map_err(|e| e.to_string())?;
            search.k = g.rag_k.max(1);
            let engine = s.engine();
            if collection.is_some() && engine.is_none() && search.mode.uses_vectors() {
                return Err("the embedding model is still loading; try again in a moment, or switch RAG off (r)".into());
            }
            if collection.is_some() {
                phase("retrieving…");
            }
            let options = crate::rag::AskOptions {
                rag: collection.is_some(),
                collection: collection.clone(),
                search,
                sampling: crate::generate::SamplingParams::from_config(g),
                max_new_tokens: g.max_tokens,
                context_tokens: g.context_tokens,
                pinned: pinned.clone(),
                instructions: None,
                history: crate::rag::history::from_turns(&history),
            };
            struct Stream<'a>(u64, &'a Shared);
            impl crate::rag::answer::AnswerSink for Stream<'_> {
                fn sources(&mut self, sources: &[crate::rag::Source]) {
                    self.1.send(Reply::Chat(ChatReply::ChatSources {
                        id: self.0,
                        sources: sources.to_vec(),
                    }));
                }
                fn text(&mut self, piece: &str) {
                    self.1.send(Reply::Chat(ChatReply::ChatText {
                        id: self.0,
                        text: piece.to_string(),
                    }));
                }
            }
            let answer = crate::rag::ask(
                &store,
                engine.as_ref().map(|e| e.embedder.as_ref() as &dyn Embedder),
                generator.as_ref(),
                &question,
                &options,
                cancel,
                &mut Stream(id, s),
            )
            .map_err(|e| e.to_string())?;
            let writer = s.writer()?;
            let saved = crate::rag::save(&writer, session, &answer).map_err(|e| e.to_string())?;
            Ok(crate::tui::msg::AnswerDone {
                stats: answer.stats,
                cited: answer.cited,
                attribution: answer.attribution,
                session: saved,
            })
        }))
        .unwrap_or_else(|_| Err("the answer failed unexpectedly (a bug: see the log file)".into()));
            s.send(Reply::Chat(ChatReply::ChatDone { id, result }));
        },
    );
}
