//! The console's state as plain data, changed only by `App::update(msg) -> effects`. No I/O,
//! no channels, no clock reads: everything the reducer knows arrives in messages.

mod actions;
pub mod chat;
pub mod corpus;
pub mod eval;
mod eval_app;
mod eval_keys;
pub mod filter;
pub mod input;
pub mod inspector;
pub mod jobs;
mod jobs_app;
pub mod list;
mod overlays;
pub mod palette;
mod replies;
pub mod tasks;

use crossterm::event::KeyCode;

use super::action::{self, Action, Scope};
use super::effect::{CorpusEffect, Effect, ShellEffect, TaskEffect};
use super::key::Key;
use super::keymap::{Keymap, Resolved};
use super::msg::{ChatReply, CorpusReply, InspectorReply, Msg, Reply, TaskKind};
use crate::retrieve::SearchParams;
use corpus::Corpus;
use input::{Edit, LineInput};
use inspector::Inspector;
use palette::Palette;

/// Rows taken by the tab bar, status bar, borders and headers around a list.
const CHROME_ROWS: u16 = 7;
const TOAST_MS: u64 = 4000;
/// Errors stay longer; every message also stays in the log (`!`).
const ERROR_TOAST_MS: u64 = 8000;
const MAX_TOASTS: usize = 4;

pub use crate::tui::screens::Screen;

/// Data that is being fetched in the background.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Loadable<T> {
    #[default]
    Idle,
    Loading,
    Ready(T),
    Failed(String),
}

impl<T> Loadable<T> {
    pub fn ready(&self) -> Option<&T> {
        match self {
            Loadable::Ready(v) => Some(v),
            _ => None,
        }
    }

    pub fn from_answer(answer: Result<T, String>) -> Loadable<T> {
        match answer {
            Ok(v) => Loadable::Ready(v),
            Err(e) => Loadable::Failed(e),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    pub text: String,
    pub error: bool,
    pub until_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Engine {
    Loading,
    Ready { provider: String },
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub db: String,
    pub model: String,
    pub engine: Engine,
    /// Another process holds the database's write lock: what is waiting for it.
    pub db_wait: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PromptKind {
    /// Tags the document that was selected when the prompt opened.
    Tag {
        collection: String,
        document_id: i64,
    },
    Untag {
        collection: String,
        document_id: i64,
    },
    WhyNot,
    Threshold,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Confirm {
    Delete {
        collection: String,
        document_id: i64,
        label: String,
    },
    Sync {
        collection: String,
        lines: Vec<String>,
    },
    CancelJob {
        job: i64,
        label: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help {
        scroll: usize,
    },
    Palette(Palette),
    Confirm(Confirm),
    Prompt {
        kind: PromptKind,
        input: LineInput,
    },
    /// Background tasks, with the selected row.
    Tasks {
        selected: usize,
    },
    /// Every message shown this session, newest last, scrolled `scroll` lines up.
    Log {
        scroll: usize,
    },
}

/// Toasts and notices kept for the message log (`!`).
const LOG_LINES: usize = 200;

/// A message shown once as a toast, kept for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub at_ms: u64,
    pub text: String,
    pub error: bool,
}

/// Where the user was before a jump to another screen, and where the jump went: Esc on
/// the jump's target goes back (as in k9s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jump {
    pub from: Place,
    pub to: Place,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    pub screen: Screen,
    pub corpus_view: corpus::CorpusView,
}

#[derive(Debug, Clone)]
pub struct App {
    pub screen: Screen,
    pub corpus: Corpus,
    pub inspector: Inspector,
    pub chat: chat::Chat,
    pub jobs: jobs::Jobs,
    pub eval: eval::Eval,
    pub overlay: Option<Overlay>,
    pub toasts: Vec<Toast>,
    pub log: Vec<LogEntry>,
    pub status: Status,
    pub tasks: Vec<tasks::TaskView>,
    /// Jumps between screens, newest last (the back stack).
    pub jumps: Vec<Jump>,
    /// Quitting: waiting for background work to end.
    pub closing: bool,
    pub keymap: Keymap,
    pub theme_name: String,
    pub pending_keys: Vec<Key>,
    pub size: (u16, u16),
    pub clock_ms: u64,
    pub quit: bool,
    /// Something visible changed since the last frame.
    pub dirty: bool,
    next_id: u64,
}

impl App {
    /// `model` is the embedding model (shown in the status bar), `chat_model` the chat
    /// model the chat screen starts with.
    pub fn new(
        db: &str,
        model: &str,
        chat_model: &str,
        params: SearchParams,
        keymap: Keymap,
        theme_name: &str,
    ) -> App {
        App {
            screen: Screen::Corpus,
            corpus: Corpus::default(),
            inspector: Inspector::new(params),
            chat: chat::Chat::new(chat_model),
            jobs: jobs::Jobs::default(),
            eval: eval::Eval::default(),
            overlay: None,
            toasts: Vec::new(),
            log: Vec::new(),
            status: Status {
                db: db.to_string(),
                model: model.to_string(),
                engine: Engine::Loading,
                db_wait: None,
            },
            tasks: Vec::new(),
            jumps: Vec::new(),
            closing: false,
            keymap,
            theme_name: theme_name.to_string(),
            pending_keys: Vec::new(),
            size: (80, 24),
            clock_ms: 0,
            quit: false,
            dirty: true,
            next_id: 0,
        }
    }

    /// The first effects: load the collection list and, when the console was opened on a
    /// collection, its documents.
    pub fn start(&mut self, collection: Option<&str>) -> Vec<Effect> {
        let id = self.request_id();
        let mut effects = self.corpus.start_collections(id);
        if let Some(name) = collection {
            let id = self.request_id();
            effects.extend(self.corpus.open_collection(name, id));
        }
        effects
    }

    pub fn request_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Rows a list shows at the current terminal size.
    pub fn page(&self) -> usize {
        self.size.1.saturating_sub(CHROME_ROWS).max(1) as usize
    }

    pub fn toast(&mut self, text: impl Into<String>, error: bool) {
        let text = text.into();
        self.log.push(LogEntry {
            at_ms: self.clock_ms,
            text: text.clone(),
            error,
        });
        if self.log.len() > LOG_LINES {
            self.log.remove(0);
        }
        self.toasts.push(Toast {
            text,
            error,
            until_ms: self.clock_ms + if error { ERROR_TOAST_MS } else { TOAST_MS },
        });
        if self.toasts.len() > MAX_TOASTS {
            self.toasts.remove(0);
        }
    }

    /// The active collection, shared by every screen.
    pub fn collection(&self) -> Option<&str> {
        self.corpus.active.as_deref()
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Tick { now_ms } => {
                self.clock_ms = now_ms;
                self.chat.clock_ms = now_ms;
                let before = self.toasts.len();
                self.toasts.retain(|t| t.until_ms > now_ms);
                if self.toasts.len() != before {
                    self.dirty = true;
                }
                let mut effects = self.jobs_tick();
                effects.extend(self.eval_tick());
                effects
            }
            Msg::Resize { width, height } => {
                self.size = (width, height);
                let page = self.page();
                self.corpus.clamp(page);
                self.dirty = true;
                Vec::new()
            }
            Msg::Key(key) => {
                self.dirty = true;
                self.on_key(key)
            }
            Msg::Notice { text, error } => {
                self.toast(text, error);
                self.dirty = true;
                Vec::new()
            }
            Msg::ThemeChanged { name } => {
                self.toast(format!("theme {name}"), false);
                self.theme_name = name;
                self.dirty = true;
                Vec::new()
            }
            Msg::Reply(reply) => {
                self.dirty = true;
                self.on_reply(*reply)
            }
        }
    }

    fn scopes(&self) -> [Scope; 3] {
        [
            crate::tui::screens::spec(self.screen).scope,
            Scope::List,
            Scope::Global,
        ]
    }

    fn on_key(&mut self, key: Key) -> Vec<Effect> {
        if key == Key::ctrl('c') {
            self.quit = true;
            return Vec::new();
        }
        if let Some(overlay) = self.overlay.take() {
            return self.overlay_key(overlay, key);
        }
        // A focused text field takes every key.
        if self.corpus.filter_edit.is_some() && self.screen == Screen::Corpus {
            let page = self.page();
            let result = self.corpus.filter_key(key, page);
            if let Err(e) = result {
                self.toast(e, true);
            }
            return Vec::new();
        }
        if self.chat.editing && self.screen == Screen::Chat {
            let id = self.request_id();
            let collection = self.collection().map(str::to_string);
            let outcome = self.chat.input_key(key, id, collection.as_deref());
            return self.chat_outcome(outcome);
        }
        if self.jobs.editing.is_some() && self.screen == Screen::Jobs {
            let page = self.page();
            self.jobs.edit_key(key, page);
            return Vec::new();
        }
        if self.inspector.editing && self.screen == Screen::Inspector {
            let id = self.request_id();
            let collection = self.collection().map(str::to_string);
            return self.inspector.query_key(key, id, collection.as_deref());
        }
        let scopes = self.scopes();
        match self.keymap.resolve(&scopes, &self.pending_keys, key) {
            Resolved::Pending => {
                self.pending_keys.push(key);
                Vec::new()
            }
            Resolved::Action(action) => {
                self.pending_keys.clear();
                self.run(action, None)
            }
            Resolved::Unbound => {
                self.pending_keys.clear();
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod eval_tests;
#[cfg(test)]
mod jobs_tests;
#[cfg(test)]
mod tests;
