//! The evaluation screen's actions, per view: moving and marking on the sets view,
//! comparing, drilling down into an item, accepting or rejecting drafted items.

use super::eval::{Eval, EvalView, Focus, Outcome};
use super::list::Cursor;
use super::Loadable;
use crate::tui::action::Action;
use crate::tui::effect::Effect;
use crate::tui::eval_msg::EvalEffect;

fn is_move(action: Action) -> bool {
    matches!(
        action,
        Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom
    )
}

fn none() -> Outcome {
    Outcome::Effects(Vec::new())
}

impl Eval {
    pub fn run(&mut self, action: Action, ids: [u64; 2], now_ms: u64, page: usize) -> Outcome {
        match self.view {
            EvalView::Sets => self.sets_action(action, ids, now_ms, page),
            EvalView::Compare => self.compare_action(action, ids[0], page),
            EvalView::Items => self.items_action(action, ids[0], page),
            EvalView::Item => self.item_action(action, page),
        }
    }

    fn sets_action(&mut self, action: Action, ids: [u64; 2], now_ms: u64, page: usize) -> Outcome {
        match action {
            a if is_move(a) && self.focus == Focus::Sets => {
                let len = self.sets.ready().map_or(0, Vec::len);
                self.set_cursor.apply(a, len, page);
                if let Some(set) = self.selected_set().map(|s| s.id) {
                    if self.runs_of != Some(set) {
                        return Outcome::Effects(self.load_runs(ids[1], set, now_ms));
                    }
                }
            }
            a if is_move(a) => self.run_cursor.apply(a, self.run_rows().len(), page),
            Action::NextPane | Action::PrevPane => {
                self.focus = match self.focus {
                    Focus::Sets => Focus::Runs,
                    Focus::Runs => Focus::Sets,
                }
            }
            Action::MarkRun => {
                self.focus = Focus::Runs;
                let Some(run) = self.selected_run().map(|r| r.id) else {
                    return Outcome::Error("no run selected".into());
                };
                if let Some(i) = self.marked.iter().position(|m| *m == run) {
                    self.marked.remove(i);
                } else {
                    self.marked.push(run);
                }
                self.run_cursor.step(1, self.run_rows().len(), page);
            }
            Action::CompareRuns => {
                // Marked runs in the order marked; else every run, the oldest as baseline.
                let runs: Vec<i64> = if self.marked.is_empty() {
                    self.run_rows().iter().rev().map(|r| r.id).collect()
                } else {
                    self.marked.clone()
                };
                if runs.len() < 2 {
                    return Outcome::Error(
                        "a comparison needs two runs: mark them with Space (or let the set have two), then press c".into(),
                    );
                }
                self.view = EvalView::Compare;
                return self.request_compare(ids[0], runs);
            }
            Action::Open => {
                let Some(set) = self.selected_set().map(|s| s.id) else {
                    return Outcome::Error("no evaluation set selected".into());
                };
                self.view = EvalView::Items;
                self.items_req = ids[0];
                self.items = Loadable::Loading;
                self.item_cursor = Cursor::default();
                return Outcome::Effects(vec![Effect::Eval(EvalEffect::LoadItems {
                    id: ids[0],
                    set,
                })]);
            }
            Action::Back if self.focus == Focus::Runs => self.focus = Focus::Sets,
            Action::Refresh => return Outcome::Effects(self.refresh(now_ms, ids, true)),
            _ => {}
        }
        none()
    }

    pub(super) fn request_compare(&mut self, id: u64, runs: Vec<i64>) -> Outcome {
        self.compare_req = id;
        self.compare = Loadable::Loading;
        self.compared = runs.clone();
        Outcome::Effects(vec![Effect::Eval(EvalEffect::Compare { id, runs })])
    }

    fn compare_action(&mut self, action: Action, id: u64, page: usize) -> Outcome {
        let c = self.compare.ready();
        let disagreements = c.map_or(0, |c| c.disagreements.len());
        let metrics = c.map_or(0, |c| c.metrics.len());
        match action {
            a if is_move(a) => self.disagreement_cursor.apply(a, disagreements, page),
            Action::NextMetric if metrics > 0 => self.metric = (self.metric + 1) % metrics,
            Action::NextPane | Action::PrevPane => self.lower = self.lower.next(),
            Action::Open => {
                let Some(d) = self.selected_disagreement() else {
                    return Outcome::Error("no item selected in the disagreements".into());
                };
                let key = d.item_key.clone();
                let runs = self.compare.ready().map_or_else(Vec::new, |c| {
                    c.runs.iter().map(|r| r.id).collect::<Vec<i64>>()
                });
                return self.open_item(id, key, runs, EvalView::Compare);
            }
            Action::InspectQuestion => {
                let Some(question) = self.selected_disagreement().map(|d| d.question.clone())
                else {
                    return Outcome::Error("no item selected in the disagreements".into());
                };
                return self.inspect(question);
            }
            Action::Refresh => return self.request_compare(id, self.compared.clone()),
            Action::Back => self.view = EvalView::Sets,
            _ => {}
        }
        none()
    }

    pub fn selected_disagreement(&self) -> Option<&crate::eval::compare::Disagreement> {
        self.compare
            .ready()?
            .disagreements
            .get(self.disagreement_cursor.selected)
    }

    fn items_action(&mut self, action: Action, id: u64, page: usize) -> Outcome {
        let len = self.item_rows().len();
        match action {
            a if is_move(a) => self.item_cursor.apply(a, len, page),
            Action::Open => {
                let Some(key) = self.selected_item().map(|i| i.key.clone()) else {
                    return Outcome::Error("no item selected".into());
                };
                // The marked runs, else every run of the set, oldest first.
                let runs: Vec<i64> = if self.marked.is_empty() {
                    self.run_rows().iter().rev().map(|r| r.id).collect()
                } else {
                    self.marked.clone()
                };
                return self.open_item(id, key, runs, EvalView::Items);
            }
            Action::MarkRun => {
                let Some(item) = self.selected_item() else {
                    return Outcome::Error("no item selected".into());
                };
                if !item.draft {
                    return Outcome::Error(not_a_draft(&item.key));
                }
                let key = item.key.clone();
                if let Some(i) = self.marked_items.iter().position(|k| *k == key) {
                    self.marked_items.remove(i);
                } else {
                    self.marked_items.push(key);
                }
                self.item_cursor.step(1, len, page);
            }
            Action::AcceptItem | Action::RejectItem => {
                let Some(set) = self.runs_of else {
                    return Outcome::Error("no item selected".into());
                };
                // The marked drafts together, else the selected item.
                let keys = if self.marked_items.is_empty() {
                    let Some(item) = self.selected_item() else {
                        return Outcome::Error("no item selected".into());
                    };
                    if !item.draft {
                        return Outcome::Error(not_a_draft(&item.key));
                    }
                    vec![item.key.clone()]
                } else {
                    std::mem::take(&mut self.marked_items)
                };
                return Outcome::Effects(vec![Effect::Eval(EvalEffect::Review {
                    set,
                    keys,
                    accept: action == Action::AcceptItem,
                })]);
            }
            Action::InspectQuestion => {
                let Some(question) = self.selected_item().map(|i| i.question.clone()) else {
                    return Outcome::Error("no item selected".into());
                };
                return self.inspect(question);
            }
            Action::Refresh => {
                if let Some(set) = self.runs_of {
                    self.items_req = id;
                    return Outcome::Effects(vec![Effect::Eval(EvalEffect::LoadItems { id, set })]);
                }
            }
            Action::Back => self.view = EvalView::Sets,
            _ => {}
        }
        none()
    }

    pub fn selected_item(&self) -> Option<&crate::tui::eval_msg::ItemRow> {
        self.item_rows().get(self.item_cursor.selected)
    }

    fn open_item(&mut self, id: u64, key: String, runs: Vec<i64>, back: EvalView) -> Outcome {
        let Some(set) = self.runs_of else {
            return Outcome::Error("no evaluation set selected".into());
        };
        self.view = EvalView::Item;
        self.item_back = back;
        self.item_req = id;
        self.item = Loadable::Loading;
        self.item_scroll = 0;
        Outcome::Effects(vec![Effect::Eval(EvalEffect::LoadItem {
            id,
            set,
            key,
            runs,
        })])
    }

    fn item_action(&mut self, action: Action, page: usize) -> Outcome {
        match action {
            Action::Down => self.item_scroll += 1,
            Action::Up => self.item_scroll = self.item_scroll.saturating_sub(1),
            Action::PageDown => self.item_scroll += page,
            Action::PageUp => self.item_scroll = self.item_scroll.saturating_sub(page),
            Action::Top => self.item_scroll = 0,
            Action::InspectQuestion => {
                let Some(question) = self.item.ready().map(|d| d.question.clone()) else {
                    return Outcome::Error("the item is still loading".into());
                };
                return self.inspect(question);
            }
            Action::Back => self.view = self.item_back,
            _ => {}
        }
        none()
    }

    fn inspect(&self, question: String) -> Outcome {
        Outcome::Inspect {
            question,
            collection: self.selected_set().and_then(|s| s.collection.clone()),
        }
    }
}

fn not_a_draft(key: &str) -> String {
    format!(
        "item {} is not a draft: only drafted items are reviewed",
        crate::util::safe::one_line(key)
    )
}
