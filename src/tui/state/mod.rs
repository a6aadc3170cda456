//! The console's state as plain data, changed only by `App::update(msg) -> effects`. No I/O,
//! no channels, no clock reads: everything the reducer knows arrives in messages.

pub mod chat;
pub mod corpus;
pub mod filter;
pub mod input;
pub mod inspector;
pub mod list;
pub mod palette;

use crossterm::event::KeyCode;

use super::action::{self, Action, Scope};
use super::effect::Effect;
use super::key::Key;
use super::keymap::{Keymap, Resolved};
use super::msg::{Msg, Reply};
use crate::retrieve::SearchParams;
use corpus::Corpus;
use input::{Edit, LineInput};
use inspector::Inspector;
use palette::Palette;

/// Rows taken by the tab bar, status bar, borders and headers around a list.
const CHROME_ROWS: u16 = 7;
const TOAST_MS: u64 = 4000;
const MAX_TOASTS: usize = 4;
/// The help overlay is a few screens long at most.
const HELP_MAX_SCROLL: usize = 120;
/// Lines of a sync dry run shown before "…and N more".
const SYNC_PLAN_LINES: usize = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Corpus,
    Inspector,
    Chat,
}

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
    /// Background sync: collection, documents done, documents in all.
    pub sync: Option<(String, u64, u64)>,
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
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help { scroll: usize },
    Palette(Palette),
    Confirm(Confirm),
    Prompt { kind: PromptKind, input: LineInput },
}

#[derive(Debug, Clone)]
pub struct App {
    pub screen: Screen,
    pub corpus: Corpus,
    pub inspector: Inspector,
    pub chat: chat::Chat,
    pub overlay: Option<Overlay>,
    pub toasts: Vec<Toast>,
    pub status: Status,
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
            overlay: None,
            toasts: Vec::new(),
            status: Status {
                db: db.to_string(),
                model: model.to_string(),
                engine: Engine::Loading,
                sync: None,
            },
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
        self.toasts.push(Toast {
            text: text.into(),
            error,
            until_ms: self.clock_ms + TOAST_MS,
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
                let before = self.toasts.len();
                self.toasts.retain(|t| t.until_ms > now_ms);
                if self.toasts.len() != before {
                    self.dirty = true;
                }
                Vec::new()
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

    fn on_reply(&mut self, reply: Reply) -> Vec<Effect> {
        match reply {
            Reply::EngineReady { model, provider } => {
                self.status.model = model;
                self.status.engine = Engine::Ready { provider };
                Vec::new()
            }
            Reply::EngineFailed { message } => {
                self.toast(format!("embedding model: {message}"), true);
                self.status.engine = Engine::Failed(message);
                Vec::new()
            }
            Reply::Changed { message } => {
                self.toast(message, false);
                self.reload()
            }
            Reply::Failed { message } => {
                self.toast(message, true);
                Vec::new()
            }
            Reply::SyncProgress { done, total } => {
                if let Some(sync) = &mut self.status.sync {
                    sync.1 = done;
                    sync.2 = total;
                }
                Vec::new()
            }
            Reply::SyncDone { collection, result } => {
                self.status.sync = None;
                match result {
                    Ok(report) => {
                        let summary = report.lines().into_iter().next().unwrap_or_default();
                        self.toast(format!("synced `{collection}`: {summary}"), false);
                    }
                    Err(e) => self.toast(format!("sync of `{collection}` failed: {e}"), true),
                }
                self.reload()
            }
            Reply::SyncPlan {
                id,
                collection,
                result,
            } => {
                if !self.corpus.is_current_plan(id) {
                    return Vec::new();
                }
                match result {
                    Ok(report) => {
                        let mut lines = report.lines();
                        if report.added == 0
                            && report.modified == 0
                            && report.removed.is_empty()
                            && report.renamed.is_empty()
                        {
                            lines.insert(0, "Nothing changed on disk.".into());
                        }
                        if self.overlay.is_some() {
                            self.toast(format!("the sync plan for `{collection}` is ready: press S again to review it"), false);
                        } else {
                            self.overlay = Some(Overlay::Confirm(Confirm::Sync {
                                collection,
                                lines: summarise(lines, SYNC_PLAN_LINES),
                            }));
                        }
                    }
                    Err(e) => self.toast(format!("sync dry run failed: {e}"), true),
                }
                Vec::new()
            }
            Reply::Search { id, result } => {
                self.inspector.on_search(id, result);
                Vec::new()
            }
            Reply::ChatModels { models } => {
                if !models.is_empty() {
                    if !models.contains(&self.chat.model) {
                        self.chat.model = models[0].clone();
                    }
                    self.chat.models = models;
                }
                Vec::new()
            }
            Reply::ChatSources { id, sources } => {
                self.chat.on_sources(id, sources);
                Vec::new()
            }
            Reply::ChatText { id, text } => {
                self.chat.on_text(id, &text);
                Vec::new()
            }
            Reply::ChatDone { id, result } => {
                if let Err(e) = &result {
                    self.toast(format!("answer failed: {e}"), true);
                }
                if self.chat.on_done(id, result).is_some() {
                    let id = self.request_id();
                    return self.chat.load_sessions(id);
                }
                Vec::new()
            }
            Reply::ChatSessions { id, result } => {
                let page = self.page();
                self.chat.on_sessions(id, result, page);
                Vec::new()
            }
            Reply::ChatSession { id, result } => {
                if let Some(e) = self.chat.on_session(id, result) {
                    self.toast(e, true);
                }
                Vec::new()
            }
            Reply::WhyNot { id, result } => {
                self.inspector.on_why(id, result);
                Vec::new()
            }
            other => {
                let page = self.page();
                let effects = self.corpus.on_reply(other, page);
                self.after_corpus_change();
                effects
            }
        }
    }

    /// Reloads whatever the screens show after the store changed.
    fn reload(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        let ids = [self.request_id(), self.request_id(), self.request_id()];
        effects.extend(self.corpus.reload(ids));
        if let (Some(collection), Some(query)) = (
            self.collection().map(str::to_string),
            self.inspector.shown_query(),
        ) {
            let id = self.request_id();
            effects.extend(self.inspector.search(id, &collection, &query));
        }
        effects
    }

    fn after_corpus_change(&mut self) {
        if let Some(err) = self.corpus.take_error() {
            self.toast(err, true);
        }
    }

    fn scopes(&self) -> [Scope; 3] {
        match self.screen {
            Screen::Corpus => [Scope::Corpus, Scope::List, Scope::Global],
            Screen::Inspector => [Scope::Inspector, Scope::List, Scope::Global],
            Screen::Chat => [Scope::Chat, Scope::List, Scope::Global],
        }
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

    fn overlay_key(&mut self, overlay: Overlay, key: Key) -> Vec<Effect> {
        match overlay {
            Overlay::Help { scroll } => {
                let scroll = match key.code {
                    KeyCode::Char('j') | KeyCode::Down => (scroll + 1).min(HELP_MAX_SCROLL),
                    KeyCode::Char('k') | KeyCode::Up => scroll.saturating_sub(1),
                    KeyCode::PageDown => (scroll + 10).min(HELP_MAX_SCROLL),
                    KeyCode::PageUp => scroll.saturating_sub(10),
                    _ => return Vec::new(), // any other key closes help
                };
                self.overlay = Some(Overlay::Help { scroll });
                Vec::new()
            }
            Overlay::Palette(mut palette) => match key.code {
                KeyCode::Up | KeyCode::BackTab => {
                    palette.selected = palette.selected.saturating_sub(1);
                    self.overlay = Some(Overlay::Palette(palette));
                    Vec::new()
                }
                KeyCode::Down | KeyCode::Tab => {
                    let n = palette.candidates().len();
                    palette.selected = (palette.selected + 1).min(n.saturating_sub(1));
                    self.overlay = Some(Overlay::Palette(palette));
                    Vec::new()
                }
                _ => match palette.input.handle(key) {
                    Edit::Cancel => Vec::new(),
                    Edit::Submit => self.run_palette(&palette),
                    Edit::Changed => {
                        palette.selected = 0;
                        self.overlay = Some(Overlay::Palette(palette));
                        Vec::new()
                    }
                    Edit::Moved | Edit::Ignored => {
                        self.overlay = Some(Overlay::Palette(palette));
                        Vec::new()
                    }
                },
            },
            Overlay::Confirm(confirm) => match key.code {
                // Only `y`: an Enter meant for something else must not delete or prune.
                KeyCode::Char('y') => self.confirmed(confirm),
                KeyCode::Char('n') | KeyCode::Esc | KeyCode::Char('q') => {
                    self.toast("cancelled", false);
                    Vec::new()
                }
                _ => {
                    self.overlay = Some(Overlay::Confirm(confirm));
                    Vec::new()
                }
            },
            Overlay::Prompt { kind, mut input } => match input.handle(key) {
                Edit::Cancel => Vec::new(),
                Edit::Submit => self.prompt_done(kind, input.text.trim().to_string()),
                _ => {
                    self.overlay = Some(Overlay::Prompt { kind, input });
                    Vec::new()
                }
            },
        }
    }

    fn run_palette(&mut self, palette: &Palette) -> Vec<Effect> {
        let word = palette.word().to_string();
        if word.is_empty() {
            return Vec::new();
        }
        let exact = action::by_name(&word);
        let spec = match exact {
            Some(spec) => spec,
            None => match palette.candidates().get(palette.selected) {
                Some(spec) if palette.argument().is_none() => spec,
                _ => {
                    self.toast(format!("unknown command `:{word}`; type `:` and Tab through the list, or press ? for keys"), true);
                    return Vec::new();
                }
            },
        };
        let wrong_screen = match (spec.scope, self.screen) {
            (Scope::Corpus, Screen::Inspector) => Some("the corpus screen (press 1)"),
            (Scope::Inspector, Screen::Corpus) => Some("the inspector (press 2)"),
            _ => None,
        };
        if let Some(screen) = wrong_screen {
            self.toast(format!("`:{}` works on {screen}", spec.name), true);
            return Vec::new();
        }
        self.run(spec.action, palette.argument().map(str::to_string))
    }

    fn confirmed(&mut self, confirm: Confirm) -> Vec<Effect> {
        match confirm {
            Confirm::Delete {
                collection,
                document_id,
                ..
            } => {
                vec![Effect::DeleteDocument {
                    collection,
                    document_id,
                }]
            }
            Confirm::Sync { collection, .. } => {
                if let Some((running, ..)) = &self.status.sync {
                    self.toast(
                        format!("a sync of `{running}` is still running; wait for it to finish"),
                        true,
                    );
                    return Vec::new();
                }
                self.status.sync = Some((collection.clone(), 0, 0));
                vec![Effect::RunSync { collection }]
            }
        }
    }

    fn prompt_done(&mut self, kind: PromptKind, text: String) -> Vec<Effect> {
        if text.is_empty() {
            return Vec::new();
        }
        match kind {
            PromptKind::Tag {
                collection,
                document_id,
            } => vec![Effect::Tag {
                collection,
                document_id,
                tag: text,
                add: true,
            }],
            PromptKind::Untag {
                collection,
                document_id,
            } => vec![Effect::Tag {
                collection,
                document_id,
                tag: text,
                add: false,
            }],
            PromptKind::WhyNot => self.run(Action::WhyNot, Some(text)),
            PromptKind::Threshold => self.run(Action::Dupes, Some(text)),
        }
    }

    fn prompt(&mut self, kind: PromptKind, initial: &str) -> Vec<Effect> {
        self.overlay = Some(Overlay::Prompt {
            kind,
            input: LineInput::with(initial),
        });
        Vec::new()
    }

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
            Action::ScreenCorpus => {
                self.screen = Screen::Corpus;
                Vec::new()
            }
            Action::ScreenChat => {
                self.screen = Screen::Chat;
                let id = self.request_id();
                self.chat.load_sessions(id)
            }
            Action::ScreenInspector => {
                self.screen = Screen::Inspector;
                if self.inspector.shown_query().is_none() {
                    self.inspector.editing = true;
                }
                Vec::new()
            }
            Action::Theme => match arg {
                Some(name) => vec![Effect::SetTheme { name }],
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
            Action::Sync if self.status.sync.is_some() => {
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

    fn screen_action(&mut self, action: Action, arg: Option<String>) -> Vec<Effect> {
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
                    inspector::Outcome::OpenDocument(document_id) => {
                        self.screen = Screen::Corpus;
                        let id = self.request_id();
                        self.corpus.open_document(document_id, id)
                    }
                }
            }
        }
    }
}

impl App {
    fn chat_outcome(&mut self, outcome: chat::ChatOutcome) -> Vec<Effect> {
        match outcome {
            chat::ChatOutcome::Effects(e) => e,
            chat::ChatOutcome::Error(message) => {
                self.toast(message, true);
                Vec::new()
            }
            chat::ChatOutcome::OpenChunk { chunk_id, .. } => {
                self.screen = Screen::Corpus;
                let id = self.request_id();
                self.corpus.open_chunk(chunk_id, id)
            }
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
                vec![Effect::Copy { text }]
            }
        }
    }
}

/// The first `max` lines, then how many were left out.
fn summarise(mut lines: Vec<String>, max: usize) -> Vec<String> {
    if lines.len() > max {
        let more = lines.len() - max;
        lines.truncate(max);
        lines.push(format!(
            "…and {more} more lines (`lmdeck sync --dry-run` lists them all)"
        ));
    }
    lines
}

#[cfg(test)]
mod tests;
