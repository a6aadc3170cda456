//! The evaluation screen inside the app: its polling on the clock, its actions' outcomes
//! (a message, a jump to the inspector) and its replies.

use super::*;
use crate::tui::eval_msg::EvalReply;

impl App {
    /// The clock moved: the runs reload about once a second while one is active and shown.
    pub(super) fn eval_tick(&mut self) -> Vec<Effect> {
        if self.screen != Screen::Eval || self.closing {
            return Vec::new();
        }
        self.eval_refresh(false)
    }

    pub(super) fn eval_refresh(&mut self, force: bool) -> Vec<Effect> {
        let ids = [self.request_id(), self.request_id()];
        self.eval.refresh(self.clock_ms, ids, force)
    }

    pub(super) fn eval_action(&mut self, action: Action) -> Vec<Effect> {
        let ids = [self.request_id(), self.request_id()];
        let page = self.page();
        match self.eval.run(action, ids, self.clock_ms, page) {
            eval::Outcome::Effects(e) => e,
            eval::Outcome::Error(message) => {
                self.toast(message, true);
                Vec::new()
            }
            eval::Outcome::Inspect {
                question,
                collection,
            } => self.inspect_question(question, collection),
        }
    }

    /// Opens the inspector on `question` and remembers the way back (Esc there returns).
    fn inspect_question(&mut self, question: String, collection: Option<String>) -> Vec<Effect> {
        let from = self.place();
        self.screen = Screen::Inspector;
        let collection = collection.or_else(|| self.collection().map(str::to_string));
        if collection.is_none() {
            self.toast(
                "no collection to search: ingest one, or give the set one",
                true,
            );
        }
        let id = self.request_id();
        let page = self.page();
        let outcome = self.inspector.run(
            Action::EditQuery,
            Some(question),
            id,
            collection.as_deref(),
            page,
        );
        let to = self.place();
        self.jumps.push(Jump { from, to });
        match outcome {
            inspector::Outcome::Effects(e) => e,
            inspector::Outcome::Error(message) => {
                self.toast(message, true);
                Vec::new()
            }
            inspector::Outcome::OpenChunk(_) => Vec::new(),
        }
    }

    pub(super) fn on_eval_reply(&mut self, reply: EvalReply) -> Vec<Effect> {
        let page = self.page();
        match reply {
            EvalReply::Sets { id, result } => {
                let next = self.request_id();
                self.eval.on_sets(id, result, next, self.clock_ms)
            }
            EvalReply::Runs { id, result } => {
                if let Err(e) = &result {
                    if self.eval.runs.ready().is_some() && id == self.eval.runs_req {
                        self.toast(format!("reading the evaluation runs failed: {e}"), true);
                    }
                }
                self.eval.on_runs(id, result, page);
                Vec::new()
            }
            EvalReply::Items { id, result } => {
                self.eval.on_items(id, result, page);
                Vec::new()
            }
            EvalReply::Compared { id, result } => {
                self.eval.on_compared(id, result);
                Vec::new()
            }
            EvalReply::Item { id, result } => {
                self.eval.on_item(id, result);
                Vec::new()
            }
        }
    }
}
