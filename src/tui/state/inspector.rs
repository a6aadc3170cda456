//! The retrieval inspector's state: the query box, live parameters, the three rankings side by
//! side, "why not?" and the query history.

use super::input::{Edit, LineInput};
use super::list::Cursor;
use super::Loadable;
use crate::retrieve::why::WhyNot;
use crate::retrieve::{Mode, SearchParams, SearchResult};
use crate::tui::action::Action;
use crate::tui::effect::{Effect, InspectorEffect};
use crate::tui::key::Key;
use crossterm::event::KeyCode;

const HISTORY: usize = 50;
/// Queries shorter than this wait for Enter instead of searching as you type.
const LIVE_MIN_CHARS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pane {
    #[default]
    Fused,
    Vector,
    Keyword,
}

impl Pane {
    pub const ALL: [Pane; 3] = [Pane::Fused, Pane::Vector, Pane::Keyword];

    fn index(self) -> usize {
        match self {
            Pane::Fused => 0,
            Pane::Vector => 1,
            Pane::Keyword => 2,
        }
    }
}

/// What an inspector action asks of the app beyond effects.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Effects(Vec<Effect>),
    Error(String),
    /// Show this chunk, selected, in its document in the corpus screen.
    OpenChunk(i64),
}

#[derive(Debug, Clone)]
pub struct Inspector {
    pub query: LineInput,
    pub editing: bool,
    pub params: SearchParams,
    pub result: Loadable<SearchResult>,
    pub pane: Pane,
    pub cursors: [Cursor; 3],
    pub history: Vec<String>,
    history_pos: Option<usize>,
    pub why: Loadable<WhyNot>,
    /// The query of the last search sent: what the results on screen answer.
    shown: Option<String>,
    search_req: u64,
    why_req: u64,
}

impl Inspector {
    pub fn new(params: SearchParams) -> Inspector {
        Inspector {
            query: LineInput::default(),
            editing: false,
            params,
            result: Loadable::Idle,
            pane: Pane::Fused,
            cursors: [Cursor::default(); 3],
            history: Vec::new(),
            history_pos: None,
            why: Loadable::Idle,
            shown: None,
            search_req: 0,
            why_req: 0,
        }
    }

    /// The query whose results are on screen (or loading), if any.
    pub fn shown_query(&self) -> Option<String> {
        self.shown.clone()
    }

    pub fn search(&mut self, id: u64, collection: &str, query: &str) -> Vec<Effect> {
        self.search_req = id;
        self.shown = Some(query.to_string());
        if !matches!(self.result, Loadable::Ready(_)) {
            self.result = Loadable::Loading;
        }
        vec![Effect::Inspector(InspectorEffect::Search {
            id,
            collection: collection.to_string(),
            query: query.to_string(),
            params: self.params,
        })]
    }

    pub fn on_search(&mut self, id: u64, result: Result<SearchResult, String>) {
        if id != self.search_req {
            return; // a newer query is on its way: latest wins
        }
        self.result = Loadable::from_answer(result);
        self.cursors = [Cursor::default(); 3];
    }

    pub fn on_why(&mut self, id: u64, result: Result<WhyNot, String>) {
        if id == self.why_req {
            self.why = Loadable::from_answer(result);
        }
    }

    /// The rows of a pane: (chunk id, document id) in rank order.
    pub fn rows(&self, pane: Pane) -> Vec<(i64, i64)> {
        let Some(r) = self.result.ready() else {
            return Vec::new();
        };
        match pane {
            Pane::Fused => r.hits.iter().map(|h| (h.chunk_id, h.document_id)).collect(),
            Pane::Vector => r
                .vector_ranking
                .iter()
                .map(|h| (h.chunk_id, h.document_id))
                .collect(),
            Pane::Keyword => r
                .keyword_ranking
                .iter()
                .map(|h| (h.chunk_id, h.document_id))
                .collect(),
        }
    }

    pub fn cursor(&self, pane: Pane) -> Cursor {
        self.cursors[pane.index()]
    }

    /// The chunk selected in the focused pane.
    pub fn selected(&self) -> Option<(i64, i64)> {
        self.rows(self.pane)
            .get(self.cursor(self.pane).selected)
            .copied()
    }

    pub fn query_key(&mut self, key: Key, id: u64, collection: Option<&str>) -> Vec<Effect> {
        match key.code {
            KeyCode::Up | KeyCode::Down => {
                self.recall(key.code == KeyCode::Up);
                return Vec::new();
            }
            KeyCode::Tab => {
                self.editing = false;
                return Vec::new();
            }
            _ => {}
        }
        match self.query.handle(key) {
            Edit::Cancel => {
                self.editing = false;
                Vec::new()
            }
            Edit::Submit => {
                let q = self.query.text.trim().to_string();
                if q.is_empty() {
                    return Vec::new();
                }
                self.editing = false;
                self.remember(&q);
                match collection {
                    Some(c) => self.search(id, c, &q),
                    None => {
                        self.result = Loadable::Failed("no collection yet: ingest one with `lmdeck ingest PATH --collection NAME`".into());
                        Vec::new()
                    }
                }
            }
            Edit::Changed => {
                self.history_pos = None;
                let q = self.query.text.trim().to_string();
                match collection {
                    Some(c) if q.chars().count() >= LIVE_MIN_CHARS => self.search(id, c, &q),
                    _ => Vec::new(),
                }
            }
            Edit::Moved | Edit::Ignored => Vec::new(),
        }
    }

    fn remember(&mut self, q: &str) {
        self.history.retain(|h| h != q);
        self.history.insert(0, q.to_string());
        self.history.truncate(HISTORY);
        self.history_pos = None;
    }

    fn recall(&mut self, older: bool) {
        if self.history.is_empty() {
            return;
        }
        let next = match (self.history_pos, older) {
            (None, true) => Some(0),
            (None, false) => None,
            (Some(i), true) => Some((i + 1).min(self.history.len() - 1)),
            (Some(0), false) => None,
            (Some(i), false) => Some(i - 1),
        };
        self.history_pos = next;
        self.query = LineInput::with(next.map_or("", |i| self.history[i].as_str()));
    }

    pub fn run(
        &mut self,
        action: Action,
        arg: Option<String>,
        id: u64,
        collection: Option<&str>,
        page: usize,
    ) -> Outcome {
        let len = self.rows(self.pane).len();
        let cursor = &mut self.cursors[self.pane.index()];
        match action {
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => cursor.apply(action, len, page),
            Action::NextPane => self.pane = Pane::ALL[(self.pane.index() + 1) % 3],
            Action::PrevPane => self.pane = Pane::ALL[(self.pane.index() + 2) % 3],
            Action::Back => {
                self.why = Loadable::Idle;
                self.why_req = 0; // a late answer must not reopen the panel
            }
            Action::EditQuery => match arg {
                Some(text) => {
                    self.query = LineInput::with(&text);
                    self.remember(&text);
                    return self.rerun(id, collection);
                }
                None => self.editing = true,
            },
            Action::Open => {
                return match self.selected() {
                    Some((chunk, _)) => Outcome::OpenChunk(chunk),
                    None => Outcome::Error("no result selected".into()),
                }
            }
            Action::CycleMode => {
                self.params.mode = match arg {
                    Some(m) => match m.parse() {
                        Ok(mode) => mode,
                        Err(e) => return Outcome::Error(format!("{e}")),
                    },
                    None => match self.params.mode {
                        Mode::Hybrid => Mode::Vector,
                        Mode::Vector => Mode::Keyword,
                        Mode::Keyword => Mode::Hybrid,
                    },
                };
                return self.rerun(id, collection);
            }
            Action::MoreResults | Action::FewerResults => {
                let k = self.params.k;
                self.params.k = if action == Action::MoreResults {
                    (k + 5).min(200)
                } else {
                    k.saturating_sub(5).max(1)
                };
                return self.rerun(id, collection);
            }
            Action::MoreCandidates | Action::FewerCandidates => {
                let c = self.params.candidates;
                self.params.candidates = if action == Action::MoreCandidates {
                    (c * 2).min(5000)
                } else {
                    (c / 2).max(self.params.k)
                };
                return self.rerun(id, collection);
            }
            Action::RaiseRrfK | Action::LowerRrfK => {
                let r = self.params.rrf_k;
                self.params.rrf_k = if action == Action::RaiseRrfK {
                    r + 10.0
                } else {
                    (r - 10.0).max(1.0)
                };
                return self.rerun(id, collection);
            }
            Action::WhyNot => {
                let (Some(target), Some(query), Some(collection)) =
                    (arg, self.shown_query(), collection)
                else {
                    return Outcome::Error(
                        "run a query first, then ask why a document is missing".into(),
                    );
                };
                self.why_req = id;
                self.why = Loadable::Loading;
                return Outcome::Effects(vec![Effect::Inspector(InspectorEffect::WhyNot {
                    id,
                    collection: collection.to_string(),
                    query,
                    target,
                    params: self.params,
                })]);
            }
            Action::Refresh => return self.rerun(id, collection),
            _ => {}
        }
        Outcome::Effects(Vec::new())
    }

    /// Runs the shown query again (after a parameter change).
    fn rerun(&mut self, id: u64, collection: Option<&str>) -> Outcome {
        let q = self.query.text.trim().to_string();
        match collection {
            Some(c) if !q.is_empty() => Outcome::Effects(self.search(id, c, &q)),
            _ => Outcome::Effects(Vec::new()),
        }
    }
}
