//! Background tasks as the console sees them: what runs, how far it got, and how to stop
//! it. The reducer adds a task when it asks for one (so the status bar shows it at once)
//! and the worker's `TaskReply`s move it on and end it.

use super::*;
use crate::tui::msg::{TaskKind, TaskReply};

#[derive(Debug, Clone, PartialEq)]
pub struct TaskView {
    pub task: u64,
    pub kind: TaskKind,
    pub label: String,
    pub done: u64,
    pub total: u64,
}

impl App {
    pub(super) fn task_started(&mut self, task: u64, kind: TaskKind, label: &str) {
        if !self.tasks.iter().any(|t| t.task == task) {
            self.tasks.push(TaskView {
                task,
                kind,
                label: label.to_string(),
                done: 0,
                total: 0,
            });
        }
    }

    pub(super) fn on_task(&mut self, reply: TaskReply) {
        match reply {
            TaskReply::Started { task, kind, label } => self.task_started(task, kind, &label),
            TaskReply::Progress { task, done, total } => {
                if let Some(t) = self.tasks.iter_mut().find(|t| t.task == task) {
                    t.done = done;
                    t.total = total;
                }
            }
            TaskReply::Ended { task } => self.tasks.retain(|t| t.task != task),
        }
    }

    /// The running task of `kind`, if any.
    pub fn task_of(&self, kind: TaskKind) -> Option<&TaskView> {
        self.tasks.iter().find(|t| t.kind == kind)
    }

    /// A key in the task list overlay: j/k move, x (or Delete) cancels the selected task,
    /// anything else closes it.
    pub(super) fn tasks_key(&mut self, mut selected: usize, key: Key) -> Vec<Effect> {
        let n = self.tasks.len();
        match key.code {
            KeyCode::Char('j') | KeyCode::Down => {
                selected = (selected + 1).min(n.saturating_sub(1));
            }
            KeyCode::Char('k') | KeyCode::Up => selected = selected.saturating_sub(1),
            KeyCode::Char('x') | KeyCode::Delete => {
                if let Some(t) = self.tasks.get(selected) {
                    let (task, name) = (t.task, t.kind.name());
                    self.toast(format!("cancelling the {name} task…"), false);
                    self.overlay = Some(Overlay::Tasks { selected });
                    return vec![Effect::Task(TaskEffect::Cancel { task })];
                }
            }
            _ => return Vec::new(), // closes
        }
        self.overlay = Some(Overlay::Tasks { selected });
        Vec::new()
    }
}
