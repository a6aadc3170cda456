//! The chat screen's state: the conversation of the current session, the streamed answer,
//! its citations, RAG on or off, the model, and the stored sessions.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_textarea::TextArea;

use super::list::Cursor;
use super::Loadable;
use crate::generate::GenerateStats;
use crate::rag::{Attribution, Source};
use crate::store::chat::{Rating, Session, StoredMessage};
use crate::tui::action::Action;
use crate::tui::effect::{ChatEffect, Effect};
use crate::tui::key::Key;
use crate::tui::msg::AnswerDone;

/// One question and its answer (streaming, done or failed).
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub question: String,
    pub answer: String,
    pub model: String,
    pub rag: bool,
    pub sources: Vec<Source>,
    pub cited: Vec<usize>,
    /// Sources backing the answer's sentences by similarity (answers given in this console).
    pub attribution: Option<Attribution>,
    pub stats: Option<GenerateStats>,
    pub error: Option<String>,
    /// Still streaming.
    pub live: bool,
    /// Before the first words: what the answer waits for ("loading model…").
    pub phase: Option<String>,
    /// Console clock when the question was sent, and when its first words arrived: the
    /// time to first token the user saw, model load and retrieval included.
    pub sent_ms: u64,
    pub first_text_ms: Option<u64>,
    /// The stored answer's id when the turn was loaded from a session (answers given in this
    /// console are found by session and text when rated).
    pub message_id: Option<i64>,
    pub rating: Option<Rating>,
}

impl Turn {
    /// The user (or quitting) stopped this answer before it finished.
    pub fn stopped(&self) -> bool {
        self.stats
            .as_ref()
            .is_some_and(|s| s.finish == crate::generate::FinishReason::Cancelled)
    }

    /// Time to first token as the user waited for it, from Enter.
    pub fn waited_ms(&self) -> Option<u64> {
        self.first_text_ms.map(|t| t.saturating_sub(self.sent_ms))
    }
}

#[derive(Debug, Clone)]
pub struct Chat {
    pub input: TextArea<'static>,
    pub editing: bool,
    pub rag: bool,
    pub model: String,
    pub models: Vec<String>,
    pub turns: Vec<Turn>,
    pub session: Option<i64>,
    pub sessions: Loadable<Vec<Session>>,
    pub session_cursor: Cursor,
    /// Focus on the sessions list instead of the conversation.
    pub sessions_focus: bool,
    /// Focus on the last answer's sources (j/k pick one, Enter opens it).
    pub sources_focus: bool,
    /// The selected source of the last answer.
    pub source_cursor: Cursor,
    /// The generation in progress, by request id.
    pub running: Option<u64>,
    /// Chunks pinned to this conversation: offered as sources first in every answer.
    pub pinned: Vec<i64>,
    /// Transcript lines scrolled up from the bottom (0 follows the answer).
    pub scroll: usize,
    /// The console's clock, for answer timings.
    pub clock_ms: u64,
    /// Back to the question box when the answer ends, unless the user pressed a command
    /// key meanwhile (then they are busy with the transcript).
    resume_typing: bool,
    sessions_req: u64,
    session_req: u64,
}

/// What a chat action asks of the app beyond effects.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatOutcome {
    Effects(Vec<Effect>),
    Error(String),
    /// Show this chunk in its document, in the corpus screen.
    OpenChunk {
        document_id: i64,
        chunk_id: i64,
    },
    Copied(usize),
}

fn new_input() -> TextArea<'static> {
    let mut input = TextArea::default();
    input.set_placeholder_text("Ask about the corpus… (Enter sends, Alt+Enter adds a line)");
    input
}

impl Chat {
    pub fn new(model: &str) -> Chat {
        Chat {
            input: new_input(),
            editing: true,
            rag: true,
            model: model.to_string(),
            models: vec![model.to_string()],
            turns: Vec::new(),
            session: None,
            sessions: Loadable::Idle,
            session_cursor: Cursor::default(),
            sessions_focus: false,
            sources_focus: false,
            source_cursor: Cursor::default(),
            running: None,
            pinned: Vec::new(),
            scroll: 0,
            clock_ms: 0,
            resume_typing: false,
            sessions_req: 0,
            session_req: 0,
        }
    }

    pub fn load_sessions(&mut self, id: u64) -> Vec<Effect> {
        self.sessions_req = id;
        if self.sessions.ready().is_none() {
            self.sessions = Loadable::Loading;
        }
        vec![Effect::Chat(ChatEffect::LoadChatSessions { id })]
    }

    /// A key while the input has focus. `id` is a fresh request id for a send.
    pub fn input_key(&mut self, key: Key, id: u64, collection: Option<&str>) -> ChatOutcome {
        match (key.code, key.alt || key.ctrl) {
            // Esc then s typed quickly arrives as Alt+s: stop, as the user meant.
            (KeyCode::Char('s'), true) if key.alt && self.running.is_some() => {
                self.editing = false;
                self.run(Action::StopGeneration, id, 1)
            }
            (KeyCode::Esc, _) => {
                self.editing = false;
                ChatOutcome::Effects(Vec::new())
            }
            (KeyCode::Enter, false) => self.send(id, collection),
            (KeyCode::Enter, true) => {
                self.input.insert_newline();
                ChatOutcome::Effects(Vec::new())
            }
            _ => {
                let mut mods = KeyModifiers::NONE;
                if key.ctrl {
                    mods |= KeyModifiers::CONTROL;
                }
                if key.alt {
                    mods |= KeyModifiers::ALT;
                }
                self.input.input(KeyEvent::new(key.code, mods));
                ChatOutcome::Effects(Vec::new())
            }
        }
    }

    fn send(&mut self, id: u64, collection: Option<&str>) -> ChatOutcome {
        let question = self.input.lines().join("\n").trim().to_string();
        if question.is_empty() {
            return ChatOutcome::Effects(Vec::new());
        }
        if self.running.is_some() {
            return ChatOutcome::Error(
                "an answer is still streaming: wait, or press s to stop it".into(),
            );
        }
        if self.rag && collection.is_none() {
            return ChatOutcome::Error(
                "RAG needs a collection: ingest one, or press Esc then r to ask the model alone"
                    .into(),
            );
        }
        self.input = new_input();
        let history: Vec<(String, String)> = self
            .turns
            .iter()
            .filter(|t| t.error.is_none() && !t.answer.is_empty())
            .map(|t| (t.question.clone(), t.answer.clone()))
            .collect();
        // While the answer streams the keys are commands (s stops it, k scrolls); i or
        // Enter on the box starts the next question.
        self.editing = false;
        self.resume_typing = true;
        self.scroll = 0;
        self.turns.push(Turn {
            question: question.clone(),
            answer: String::new(),
            model: self.model.clone(),
            rag: self.rag,
            sources: Vec::new(),
            cited: Vec::new(),
            attribution: None,
            stats: None,
            error: None,
            live: true,
            phase: None,
            sent_ms: self.clock_ms,
            first_text_ms: None,
            message_id: None,
            rating: None,
        });
        self.running = Some(id);
        self.source_cursor = Cursor::default();
        ChatOutcome::Effects(vec![Effect::Chat(ChatEffect::Ask {
            id,
            question,
            model: self.model.clone(),
            collection: if self.rag {
                collection.map(str::to_string)
            } else {
                None
            },
            session: self.session,
            pinned: if self.rag {
                self.pinned.clone()
            } else {
                Vec::new()
            },
            history,
        })])
    }

    fn live_turn(&mut self, id: u64) -> Option<&mut Turn> {
        if self.running != Some(id) {
            return None; // an answer from a generation the user stopped or left
        }
        self.turns.last_mut().filter(|t| t.live)
    }

    pub fn on_sources(&mut self, id: u64, sources: Vec<Source>) {
        if let Some(turn) = self.live_turn(id) {
            turn.sources = sources;
        }
    }

    pub fn on_phase(&mut self, id: u64, phase: String) {
        if let Some(turn) = self.live_turn(id) {
            turn.phase = Some(phase);
        }
    }

    pub fn on_text(&mut self, id: u64, text: &str) {
        let now = self.clock_ms;
        if let Some(turn) = self.live_turn(id) {
            turn.phase = None;
            turn.first_text_ms.get_or_insert(now);
            turn.answer.push_str(text);
        }
    }

    pub fn on_done(&mut self, id: u64, result: Result<AnswerDone, String>) -> Option<u64> {
        if self.running != Some(id) {
            return None;
        }
        // Whatever happened to the turns meanwhile (new session, another loaded), the
        // generation is over: the box must accept the next question.
        self.running = None;
        if std::mem::take(&mut self.resume_typing) {
            self.editing = true;
        }
        let turn = self.turns.last_mut().filter(|t| t.live)?;
        turn.live = false;
        turn.phase = None;
        let mut saved = None;
        match result {
            Ok(done) => {
                turn.stats = Some(done.stats);
                turn.cited = done.cited;
                turn.attribution = done.attribution;
                saved = Some(done.session as u64);
                self.session = Some(done.session);
            }
            Err(e) => turn.error = Some(e),
        }
        saved
    }

    pub fn on_sessions(&mut self, id: u64, result: Result<Vec<Session>, String>, page: usize) {
        if id == self.sessions_req {
            self.sessions = Loadable::from_answer(result);
            let n = self.sessions.ready().map_or(0, Vec::len);
            self.session_cursor.clamp(n, page);
        }
    }

    /// Pins or unpins a chunk; true when it is pinned now.
    pub fn toggle_pin(&mut self, chunk_id: i64) -> bool {
        if let Some(pos) = self.pinned.iter().position(|c| *c == chunk_id) {
            self.pinned.remove(pos);
            false
        } else {
            self.pinned.push(chunk_id);
            true
        }
    }

    pub fn on_session(
        &mut self,
        id: u64,
        result: Result<(i64, Vec<StoredMessage>, Vec<i64>), String>,
    ) -> Option<String> {
        if id != self.session_req {
            return None;
        }
        match result {
            Ok((session, messages, pins)) => {
                self.session = Some(session);
                self.pinned = pins;
                self.turns = turns_from(messages);
                self.source_cursor = Cursor::default();
                None
            }
            Err(e) => Some(e),
        }
    }

    /// Toggles the last finished answer's rating (the same key again clears it) and saves it
    /// through the change lane.
    fn rate(&mut self, rating: Rating) -> ChatOutcome {
        let Some(session) = self.session else {
            return ChatOutcome::Error("no saved answer to rate yet".into());
        };
        let Some(turn) = self
            .turns
            .iter_mut()
            .rev()
            .find(|t| !t.live && t.error.is_none() && !t.answer.is_empty())
        else {
            return ChatOutcome::Error("no answer to rate yet".into());
        };
        turn.rating = (turn.rating != Some(rating)).then_some(rating);
        ChatOutcome::Effects(vec![Effect::Chat(ChatEffect::Rate {
            session,
            message_id: turn.message_id,
            answer: turn.answer.clone(),
            rating: turn.rating,
        })])
    }

    /// The sources of the last answer.
    pub fn last_sources(&self) -> &[Source] {
        self.turns.last().map_or(&[], |t| t.sources.as_slice())
    }

    pub fn run(&mut self, action: Action, id: u64, page: usize) -> ChatOutcome {
        let none = ChatOutcome::Effects(Vec::new());
        self.resume_typing = false;
        match action {
            Action::Compose => {
                self.editing = true;
                self.sessions_focus = false;
                none
            }
            Action::ToggleRag => {
                self.rag = !self.rag;
                none
            }
            Action::CycleModel => {
                if let Some(pos) = self.models.iter().position(|m| *m == self.model) {
                    self.model = self.models[(pos + 1) % self.models.len()].clone();
                }
                none
            }
            Action::StopGeneration => match self.running {
                Some(id) => {
                    ChatOutcome::Effects(vec![Effect::Chat(ChatEffect::StopGeneration { id })])
                }
                None => ChatOutcome::Error("nothing is being generated".into()),
            },
            Action::NewSession => {
                self.session = None;
                self.pinned.clear();
                self.turns.clear();
                self.editing = true;
                none
            }
            Action::RateGood => self.rate(Rating::Good),
            Action::RateBad => self.rate(Rating::Bad),
            Action::CopyAnswer => match self.turns.iter().rev().find(|t| !t.answer.is_empty()) {
                Some(t) => ChatOutcome::Copied(t.answer.chars().count()),
                None => ChatOutcome::Error("no answer to copy yet".into()),
            },
            // Tab cycles the focus: transcript, sources (when the answer has some), sessions.
            Action::NextPane | Action::PrevPane => {
                let has_sources = !self.last_sources().is_empty();
                let (sources, sessions) = match (self.sources_focus, self.sessions_focus) {
                    (false, false) if has_sources => (true, false),
                    (false, false) | (true, _) => (false, true),
                    (false, true) => (false, false),
                };
                self.sources_focus = sources;
                self.sessions_focus = sessions;
                if self.sessions_focus {
                    return ChatOutcome::Effects(self.load_sessions(id));
                }
                none
            }
            Action::Up
            | Action::Down
            | Action::Top
            | Action::Bottom
            | Action::PageUp
            | Action::PageDown => {
                if self.sessions_focus {
                    let len = self.sessions.ready().map_or(0, Vec::len);
                    self.session_cursor.apply(action, len, page);
                    return none;
                }
                if self.sources_focus {
                    let n = self.turns.last().map_or(0, |t| t.sources.len());
                    self.source_cursor.apply(action, n, page);
                    return none;
                }
                // The transcript: k/Up/PageUp/gg scroll towards its start, j/Down/PageDown/G
                // back towards the newest answer (the view clamps to the real length).
                self.scroll = match action {
                    Action::Up => self.scroll.saturating_add(1),
                    Action::Down => self.scroll.saturating_sub(1),
                    Action::PageUp => self.scroll.saturating_add(page.max(1)),
                    Action::PageDown => self.scroll.saturating_sub(page.max(1)),
                    Action::Top => usize::MAX / 2,
                    _ => 0,
                };
                none
            }
            Action::Open if self.sessions_focus => {
                let Some(s) = self
                    .sessions
                    .ready()
                    .and_then(|l| l.get(self.session_cursor.selected))
                else {
                    return none;
                };
                self.session_req = id;
                self.sessions_focus = false;
                ChatOutcome::Effects(vec![Effect::Chat(ChatEffect::LoadChatSession {
                    id,
                    session: s.id,
                })])
            }
            Action::Open => match self.last_sources().get(self.source_cursor.selected) {
                Some(s) => ChatOutcome::OpenChunk {
                    document_id: s.document_id,
                    chunk_id: s.chunk_id,
                },
                None => ChatOutcome::Error(
                    "no source selected: ask with RAG on, then pick a source with j/k".into(),
                ),
            },
            _ => none,
        }
    }
}

/// Rebuilds turns from stored messages (user, assistant pairs).
fn turns_from(messages: Vec<StoredMessage>) -> Vec<Turn> {
    let mut turns: Vec<Turn> = Vec::new();
    for m in messages {
        if m.role == "user" {
            turns.push(Turn {
                question: m.content,
                answer: String::new(),
                model: String::new(),
                rag: m.rag,
                sources: Vec::new(),
                cited: Vec::new(),
                attribution: None,
                stats: None,
                error: None,
                live: false,
                phase: None,
                sent_ms: 0,
                first_text_ms: None,
                message_id: None,
                rating: None,
            });
        } else if let Some(t) = turns.last_mut() {
            t.message_id = Some(m.id);
            t.rating = m.rating.and_then(Rating::from_value);
            t.answer = m.content;
            t.model = m.model.unwrap_or_default();
            t.stats = m.stats.and_then(|v| serde_json::from_value(v).ok());
            t.cited = m
                .sources
                .iter()
                .filter(|s| s.cited)
                .map(|s| s.n as usize)
                .collect();
            t.sources = m
                .sources
                .into_iter()
                .map(|s| Source {
                    n: s.n as usize,
                    chunk_id: s.chunk_id,
                    document_id: 0,
                    source_path: s.source_path,
                    title: String::new(),
                    heading_path: s.heading_path,
                    text: String::new(),
                })
                .collect();
        }
    }
    turns
}
