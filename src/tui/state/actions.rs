//! Running an action (from a key or the palette): global ones here, screen ones handed to
//! the screen's state.

use super::*;

impl App {
    /// Runs an action from a key or the palette; `arg` is the palette's argument.
    pub fn run(&mut self, action: Action, arg: Option<String>) -> Vec<Effect> {
        match action {
            Action::Quit => {
                self.quit = true;
                Vec::new()
            }
            Action::Help => {
                self.overlay = Some(Overlay::Help { scroll: 0 });
                Vec::new()
            }
            Action::Palette => {
                self.overlay = Some(Overlay::Palette(Palette::default()));
                Vec::new()
            }
            Action::Back if self.back_from_jump() => Vec::new(),
            Action::Show(screen) => {
                // Choosing a screen by key starts a new path: older jumps are forgotten.
                self.jumps.clear();
                self.show(screen)
            }
            Action::Tasks => {
                self.overlay = Some(Overlay::Tasks { selected: 0 });
                Vec::new()
            }
            Action::MessageLog => {
                self.overlay = Some(Overlay::Log { scroll: 0 });
                Vec::new()
            }
            Action::Theme => match arg {
                Some(name) => vec![Effect::Shell(ShellEffect::SetTheme { name })],
                None => {
                    self.toast("usage: :theme NAME (dark, light, high-contrast, or a file in <config>/themes)", true);
                    Vec::new()
                }
            },
            Action::Collection => match arg {
                Some(name) => {
                    let known = self
                        .corpus
                        .collections
                        .ready()
                        .is_none_or(|list| list.iter().any(|c| c.collection.name == name));
                    if !known {
                        self.toast(format!("no collection named `{name}`"), true);
                        return Vec::new();
                    }
                    let id = self.request_id();
                    self.screen = Screen::Corpus;
                    self.corpus.open_collection(&name, id)
                }
                None => {
                    self.toast("usage: :collection NAME", true);
                    Vec::new()
                }
            },
            Action::Tag | Action::Untag if arg.is_none() && self.screen == Screen::Corpus => {
                let (Some(doc), Some(collection)) =
                    (self.corpus.selected_document(), self.corpus.active.clone())
                else {
                    self.toast("select a document first", true);
                    return Vec::new();
                };
                let document_id = doc.id;
                let kind = if action == Action::Tag {
                    PromptKind::Tag {
                        collection,
                        document_id,
                    }
                } else {
                    PromptKind::Untag {
                        collection,
                        document_id,
                    }
                };
                self.prompt(kind, "")
            }
            Action::WhyNot if arg.is_none() => {
                if self.inspector.shown_query().is_none() {
                    self.toast(
                        "run a query first, then ask why a document is missing",
                        true,
                    );
                    return Vec::new();
                }
                self.prompt(PromptKind::WhyNot, "")
            }
            Action::Dupes if arg.is_none() && self.screen == Screen::Corpus => {
                let t = format!("{}", self.corpus.threshold);
                self.prompt(PromptKind::Threshold, &t)
            }
            Action::PinChunk | Action::PinSource => {
                let chunk = match action {
                    Action::PinSource => self
                        .chat
                        .last_sources()
                        .get(self.chat.source_cursor.selected)
                        .map(|s| s.chunk_id),
                    _ => match (self.corpus.view, self.corpus.detail.ready()) {
                        (corpus::CorpusView::Document, Some(d)) => d
                            .chunks
                            .get(self.corpus.chunk_cursor.selected)
                            .map(|c| c.id),
                        _ => None,
                    },
                };
                match chunk {
                    Some(id) => {
                        let pinned = self.chat.toggle_pin(id);
                        let text = if pinned {
                            format!("chunk {id} pinned: every answer in this chat offers it first ({} pinned)", self.chat.pinned.len())
                        } else {
                            format!("chunk {id} unpinned")
                        };
                        self.toast(text, false);
                    }
                    None => self.toast(
                        "select a chunk (in a document) or a source (in the chat) to pin",
                        true,
                    ),
                }
                Vec::new()
            }
            Action::Sync if self.task_of(TaskKind::Sync).is_some() => {
                self.toast(
                    "a sync is already running; its progress is in the status bar",
                    true,
                );
                Vec::new()
            }
            Action::Delete if self.screen == Screen::Corpus => {
                match self.corpus.delete_request() {
                    Ok(confirm) => self.overlay = Some(Overlay::Confirm(confirm)),
                    Err(e) => self.toast(e, true),
                }
                Vec::new()
            }
            _ => self.screen_action(action, arg),
        }
    }

    pub(super) fn screen_action(&mut self, action: Action, arg: Option<String>) -> Vec<Effect> {
        let page = self.page();
        let id = self.request_id();
        match self.screen {
            Screen::Corpus => {
                let effects = self.corpus.run(action, arg, id, page);
                self.after_corpus_change();
                effects
            }
            Screen::Chat => {
                let outcome = self.chat.run(action, id, page);
                self.chat_outcome(outcome)
            }
            Screen::Inspector => {
                let collection = self.collection().map(str::to_string);
                match self
                    .inspector
                    .run(action, arg, id, collection.as_deref(), page)
                {
                    inspector::Outcome::Effects(e) => e,
                    inspector::Outcome::Error(message) => {
                        self.toast(message, true);
                        Vec::new()
                    }
                    inspector::Outcome::OpenChunk(chunk_id) => self.jump_to_chunk(chunk_id),
                }
            }
            Screen::Jobs => self.jobs_action(action),
            Screen::Eval => self.eval_action(action),
        }
    }

    pub(super) fn chat_outcome(&mut self, outcome: chat::ChatOutcome) -> Vec<Effect> {
        match outcome {
            chat::ChatOutcome::Effects(e) => e,
            chat::ChatOutcome::Error(message) => {
                self.toast(message, true);
                Vec::new()
            }
            chat::ChatOutcome::OpenChunk { chunk_id, .. } => self.jump_to_chunk(chunk_id),
            chat::ChatOutcome::Copied(chars) => {
                let text = self
                    .chat
                    .turns
                    .iter()
                    .rev()
                    .find(|t| !t.answer.is_empty())
                    .map(|t| t.answer.clone())
                    .unwrap_or_default();
                self.toast(
                    format!("copied {chars} characters to the clipboard (OSC 52)"),
                    false,
                );
                vec![Effect::Shell(ShellEffect::Copy { text })]
            }
        }
    }

    /// Shows a screen with what it needs loaded.
    pub(super) fn show(&mut self, screen: Screen) -> Vec<Effect> {
        self.screen = screen;
        match screen {
            Screen::Corpus => Vec::new(),
            Screen::Chat => {
                let id = self.request_id();
                self.chat.load_sessions(id)
            }
            Screen::Inspector => {
                if self.inspector.shown_query().is_none() {
                    self.inspector.editing = true;
                }
                Vec::new()
            }
            Screen::Jobs => self.jobs_refresh(true),
            Screen::Eval => self.eval_refresh(true),
        }
    }

    pub(super) fn place(&self) -> Place {
        Place {
            screen: self.screen,
            corpus_view: self.corpus.view,
        }
    }

    /// Opens a chunk, selected, in its document (from a search hit or a chat source) and
    /// remembers where the user came from: Esc there comes back.
    fn jump_to_chunk(&mut self, chunk_id: i64) -> Vec<Effect> {
        let from = self.place();
        self.screen = Screen::Corpus;
        let id = self.request_id();
        let effects = self.corpus.open_chunk(chunk_id, id);
        let to = self.place();
        self.jumps.push(Jump { from, to });
        effects
    }

    /// Esc on the target of the last jump returns to where it started; false when the
    /// user is elsewhere (then Esc means what it means on the screen).
    pub(super) fn back_from_jump(&mut self) -> bool {
        match self.jumps.last() {
            Some(jump) if jump.to == self.place() => {
                let from = jump.from;
                self.jumps.pop();
                self.screen = from.screen;
                if from.screen == Screen::Corpus {
                    self.corpus.view = from.corpus_view;
                }
                true
            }
            _ => false,
        }
    }
}
