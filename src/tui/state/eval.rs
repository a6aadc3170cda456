//! The evaluation screen's state: the sets, the runs of the selected set (polled while one is
//! queued or running, as runs execute as jobs), runs marked for comparison, the comparison,
//! a set's items (draft review) and one item across runs (drill-down). Keys live in
//! `eval_keys`; replies of stale requests are dropped (latest wins).

use super::list::Cursor;
use super::Loadable;
use crate::eval::compare::Comparison;
use crate::tui::effect::Effect;
use crate::tui::eval_msg::{EvalEffect, ItemDetail, ItemRow, RunRow, SetRow};

/// How often the shown screen reloads the runs while one is active.
pub const REFRESH_MS: u64 = 1000;
/// A load with no answer after this long is given up on, so polling never stops.
const STALE_MS: u64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EvalView {
    #[default]
    Sets,
    Compare,
    Items,
    Item,
}

/// The pane the list keys move in, on the sets view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Sets,
    Runs,
}

/// The comparison's second pane where there is room for one only (Tab cycles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lower {
    #[default]
    Chart,
    Verdict,
    Disagreements,
}

impl Lower {
    pub fn next(self) -> Lower {
        match self {
            Lower::Chart => Lower::Verdict,
            Lower::Verdict => Lower::Disagreements,
            Lower::Disagreements => Lower::Chart,
        }
    }
}

/// What an evaluation action asks of the app beyond effects.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Effects(Vec<Effect>),
    Error(String),
    /// Open the retrieval inspector on this question (in the set's collection, if any).
    Inspect {
        question: String,
        collection: Option<String>,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Eval {
    pub view: EvalView,
    pub focus: Focus,
    pub sets: Loadable<Vec<SetRow>>,
    pub set_cursor: Cursor,
    pub runs: Loadable<Vec<RunRow>>,
    pub run_cursor: Cursor,
    /// The set whose runs are shown (or loading).
    pub runs_of: Option<i64>,
    /// Runs marked for comparison, in the order marked: the first is the baseline.
    pub marked: Vec<i64>,
    /// Drafted items marked for review together (`a`/`r` then apply to all of them).
    pub marked_items: Vec<String>,
    pub compare: Loadable<Comparison>,
    /// The runs of the comparison asked for last (Ctrl+R computes it again).
    pub compared: Vec<i64>,
    /// The metric row the bar chart shows.
    pub metric: usize,
    pub lower: Lower,
    pub disagreement_cursor: Cursor,
    pub items: Loadable<Vec<ItemRow>>,
    pub item_cursor: Cursor,
    pub item: Loadable<ItemDetail>,
    /// Lines scrolled down in the drill-down.
    pub item_scroll: usize,
    /// Where Esc leaves the drill-down for.
    pub item_back: EvalView,
    pub(super) last_refresh_ms: Option<u64>,
    pub(super) sets_req: u64,
    pub(super) runs_req: u64,
    runs_sent_ms: Option<u64>,
    pub(super) items_req: u64,
    pub(super) compare_req: u64,
    pub(super) item_req: u64,
}

impl Eval {
    pub fn selected_set(&self) -> Option<&SetRow> {
        self.sets.ready()?.get(self.set_cursor.selected)
    }

    /// The runs shown: those of the selected set, newest first.
    pub fn run_rows(&self) -> &[RunRow] {
        self.runs.ready().map_or(&[], Vec::as_slice)
    }

    pub fn selected_run(&self) -> Option<&RunRow> {
        self.run_rows().get(self.run_cursor.selected)
    }

    pub fn item_rows(&self) -> &[ItemRow] {
        self.items.ready().map_or(&[], Vec::as_slice)
    }

    /// A run of the shown set is queued or running: its progress moves.
    pub fn live(&self) -> bool {
        self.run_rows().iter().any(RunRow::active)
    }

    /// Loads due at `now_ms`: on `force` (shown, Ctrl+R) the sets and the selected set's
    /// runs; otherwise the runs about once a second while one of them is active.
    pub fn refresh(&mut self, now_ms: u64, ids: [u64; 2], force: bool) -> Vec<Effect> {
        let mut effects = Vec::new();
        if force {
            self.sets_req = ids[0];
            if matches!(self.sets, Loadable::Idle | Loadable::Failed(_)) {
                self.sets = Loadable::Loading;
            }
            effects.push(Effect::Eval(EvalEffect::LoadSets { id: ids[0] }));
        } else {
            let due = self
                .last_refresh_ms
                .is_none_or(|t| now_ms >= t + REFRESH_MS);
            let waiting = self.runs_sent_ms.is_some_and(|t| now_ms < t + STALE_MS);
            if !self.live() || !due || waiting {
                return effects;
            }
        }
        self.last_refresh_ms = Some(now_ms);
        if let Some(set) = self.runs_of {
            effects.extend(self.load_runs(ids[1], set, now_ms));
        }
        effects
    }

    pub(super) fn load_runs(&mut self, id: u64, set: i64, now_ms: u64) -> Vec<Effect> {
        if self.runs_of != Some(set) {
            self.runs = Loadable::Loading;
            self.run_cursor = Cursor::default();
            self.marked.clear();
        }
        self.runs_of = Some(set);
        self.runs_req = id;
        self.runs_sent_ms = Some(now_ms);
        vec![Effect::Eval(EvalEffect::LoadRuns { id, set })]
    }

    /// The sets arrived; when the selection now names another set, its runs load with `next`.
    pub fn on_sets(
        &mut self,
        id: u64,
        result: Result<Vec<SetRow>, String>,
        next: u64,
        now_ms: u64,
    ) -> Vec<Effect> {
        if id != self.sets_req {
            return Vec::new();
        }
        let keep = self.selected_set().map(|s| s.id);
        match result {
            Ok(sets) => {
                if let Some(i) = keep.and_then(|k| sets.iter().position(|s| s.id == k)) {
                    self.set_cursor.selected = i;
                }
                self.set_cursor.clamp(sets.len(), sets.len().max(1));
                self.sets = Loadable::Ready(sets);
            }
            Err(e) => self.sets = Loadable::Failed(e),
        }
        match self.selected_set().map(|s| s.id) {
            Some(set) if self.runs_of != Some(set) || self.runs.ready().is_none() => {
                self.load_runs(next, set, now_ms)
            }
            Some(_) => Vec::new(),
            None => {
                self.runs_of = None;
                self.runs = Loadable::Idle;
                Vec::new()
            }
        }
    }

    pub fn on_runs(&mut self, id: u64, result: Result<Vec<RunRow>, String>, page: usize) {
        if id != self.runs_req {
            return;
        }
        self.runs_sent_ms = None;
        match result {
            Ok(runs) => {
                // The selection stays on its run when runs come and go.
                let keep = self.selected_run().map(|r| r.id);
                if let Some(i) = keep.and_then(|k| runs.iter().position(|r| r.id == k)) {
                    self.run_cursor.selected = i;
                }
                self.run_cursor.clamp(runs.len(), page);
                self.marked.retain(|m| runs.iter().any(|r| r.id == *m));
                self.runs = Loadable::Ready(runs);
            }
            // A failed poll keeps the runs shown; the app says why.
            Err(e) if self.runs.ready().is_none() => self.runs = Loadable::Failed(e),
            Err(_) => {}
        }
    }

    pub fn on_items(&mut self, id: u64, result: Result<Vec<ItemRow>, String>, page: usize) {
        if id == self.items_req {
            if let Ok(items) = &result {
                self.item_cursor.clamp(items.len(), page);
                // Marks stay on items that are still drafts (a reviewed one is done).
                self.marked_items
                    .retain(|k| items.iter().any(|i| i.draft && i.key == *k));
            }
            self.items = Loadable::from_answer(result);
        }
    }

    pub fn on_compared(&mut self, id: u64, result: Result<Comparison, String>) {
        if id != self.compare_req {
            return; // a newer comparison is on its way: latest wins
        }
        if let Ok(c) = &result {
            self.metric = self.metric.min(c.metrics.len().saturating_sub(1));
            self.disagreement_cursor = Cursor::default();
        }
        self.compare = Loadable::from_answer(result);
    }

    pub fn on_item(&mut self, id: u64, result: Result<ItemDetail, String>) {
        if id == self.item_req {
            self.item = Loadable::from_answer(result);
        }
    }

    /// After a change to the store (a review): the sets and the open items again.
    pub fn reload(&mut self, ids: [u64; 2]) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self.sets.ready().is_some() {
            self.sets_req = ids[0];
            effects.push(Effect::Eval(EvalEffect::LoadSets { id: ids[0] }));
        }
        if let (Some(set), Some(_)) = (self.runs_of, self.items.ready()) {
            self.items_req = ids[1];
            effects.push(Effect::Eval(EvalEffect::LoadItems { id: ids[1], set }));
        }
        effects
    }
}
