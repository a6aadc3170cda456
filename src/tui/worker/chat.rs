//! Chat on the worker: the models this console can use, and answers generated on a thread
//! of their own so searches keep flowing meanwhile.

use super::*;

impl Worker {
    /// The chat models and endpoints this console can use, the configured one first.
    pub(super) fn send_models(&self) {
        let (Some(ctx), Ok(store)) = (&self.config.ctx, self.store()) else {
            return;
        };
        let mut models: Vec<String> = crate::services::models::all(ctx, Some(store))
            .map(|l| l.into_iter().map(|m| m.name).collect())
            .unwrap_or_default();
        if let Ok(endpoints) = crate::services::models::endpoints(ctx) {
            models.extend(endpoints.into_keys());
        }
        let default = ctx.config().generate.model.clone();
        if let Some(pos) = models.iter().position(|m| *m == default) {
            models.swap(0, pos);
        }
        self.send(Reply::ChatModels { models });
    }

    /// Answers on a thread of its own (loading the model the first time), streaming text back
    /// as messages; the worker stays free for searches meanwhile.
    pub(super) fn spawn_ask(
        &self,
        id: u64,
        question: String,
        model: String,
        collection: Option<String>,
        session: Option<i64>,
        pinned: Vec<i64>,
    ) {
        let Some(ctx) = self.config.ctx.clone() else {
            self.send(Reply::ChatDone {
                id,
                result: Err("no chat models in this console".into()),
            });
            return;
        };
        let cancel = crate::generate::Cancel::default();
        if let Ok(mut running) = self.running.lock() {
            *running = Some((id, cancel.clone()));
        }
        let generators = Arc::clone(&self.generators);
        let embedder = self.embedder.clone();
        let out = self.out.clone();
        let db = self.config.db.clone();
        let running = Arc::clone(&self.running);
        let spawned = std::thread::Builder::new().name("lmdeck-chat".into()).spawn(move || {
            let send = |reply: Reply| {
                let _ = out.send(Msg::reply(reply));
            };
            let result = crate::tui::app::catch("the answer", || {
                let mut store = Store::open(&db).map_err(|e| e.to_string())?;
                let cached = generators.lock().ok().and_then(|g| g.get(&model).cloned());
                let generator = match cached {
                    Some(g) => g,
                    None => {
                        let loaded: Arc<dyn crate::generate::Generator> = Arc::from(
                            crate::services::models::generator(&ctx, Some(&store), &model).map_err(|e| format!("{e:#}"))?,
                        );
                        if let Ok(mut g) = generators.lock() {
                            g.insert(model.clone(), Arc::clone(&loaded));
                        }
                        loaded
                    }
                };
                let g = &ctx.config().generate;
                let mut search = ctx.search_params().map_err(|e| e.to_string())?;
                search.k = g.rag_k.max(1);
                if collection.is_some() && embedder.is_none() && search.mode.uses_vectors() {
                    return Err("the embedding model is still loading; try again in a moment, or switch RAG off (r)".into());
                }
                let options = crate::rag::AskOptions {
                    rag: collection.is_some(),
                    collection: collection.clone(),
                    search,
                    sampling: crate::generate::SamplingParams::from_config(g),
                    max_new_tokens: g.max_tokens,
                    context_tokens: g.context_tokens,
                    pinned: pinned.clone(),
                    // The console's conversation so far (oldest first) goes here, e.g.
                    // `crate::rag::history::from_turns(&turns)`.
                    history: Vec::new(),
                };
                struct Stream<'a>(u64, &'a dyn Fn(Reply));
                impl crate::rag::answer::AnswerSink for Stream<'_> {
                    fn sources(&mut self, sources: &[crate::rag::Source]) {
                        (self.1)(Reply::ChatSources { id: self.0, sources: sources.to_vec() });
                    }
                    fn text(&mut self, piece: &str) {
                        (self.1)(Reply::ChatText { id: self.0, text: piece.to_string() });
                    }
                }
                let answer = crate::rag::ask(
                    &store,
                    embedder.as_deref().map(|e| e as &dyn Embedder),
                    generator.as_ref(),
                    &question,
                    &options,
                    &cancel,
                    &mut Stream(id, &send),
                )
                .map_err(|e| e.to_string())?;
                let saved = crate::rag::save(&mut store, session, &answer).map_err(|e| e.to_string())?;
                Ok((answer.stats, answer.cited, saved))
            });
            if let Ok(mut r) = running.lock() {
                *r = None;
            }
            send(Reply::ChatDone { id, result });
        });
        if let Err(e) = spawned {
            self.send(Reply::ChatDone {
                id,
                result: Err(format!("could not start the answer: {e}")),
            });
        }
    }
}
