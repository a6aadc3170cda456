//! The jobs screen inside the app: its refresh on the clock, its actions' outcomes (a
//! confirmation, a control task, a message) and its replies.

use super::*;
use crate::tui::jobs_msg::{JobOp, JobsEffect, JobsReply};

impl App {
    /// The clock moved: the jobs screen reloads about once a second while it is shown.
    pub(super) fn jobs_tick(&mut self) -> Vec<Effect> {
        if self.screen != Screen::Jobs || self.closing {
            return Vec::new();
        }
        self.jobs_refresh(false)
    }

    /// Whether the shell must keep the clock ticking (a shown screen refreshes itself).
    pub fn wants_ticks(&self) -> bool {
        self.screen == Screen::Jobs || (self.screen == Screen::Eval && self.eval.live())
    }

    pub(super) fn jobs_refresh(&mut self, force: bool) -> Vec<Effect> {
        let ids = [self.request_id(), self.request_id()];
        self.jobs.refresh(self.clock_ms, ids, force)
    }

    pub(super) fn jobs_action(&mut self, action: Action) -> Vec<Effect> {
        let ids = [self.request_id(), self.request_id()];
        let page = self.page();
        match self.jobs.run(action, ids, self.clock_ms, page) {
            jobs::Outcome::Effects(e) => e,
            jobs::Outcome::Error(message) => {
                self.toast(message, true);
                Vec::new()
            }
            jobs::Outcome::Info(message) => {
                if !message.is_empty() {
                    self.toast(message, false);
                }
                Vec::new()
            }
            jobs::Outcome::ConfirmCancel { job, label } => {
                self.overlay = Some(Overlay::Confirm(Confirm::CancelJob { job, label }));
                Vec::new()
            }
            jobs::Outcome::Control { job, op } => self.job_control(job, op),
        }
    }

    /// Starts a control action as a task: shown in the status bar until its reply.
    pub(super) fn job_control(&mut self, job: i64, op: JobOp) -> Vec<Effect> {
        let task = self.request_id();
        let label = format!("{} #{job}", op.name());
        self.task_started(task, TaskKind::JobControl, &label);
        self.toast(format!("{label}…"), false);
        vec![Effect::Jobs(JobsEffect::Control { task, job, op })]
    }

    pub(super) fn on_jobs_reply(&mut self, reply: JobsReply) -> Vec<Effect> {
        match reply {
            JobsReply::Queue { id, result } => {
                let page = self.page();
                if let Some(e) = self.jobs.on_queue(id, result, page) {
                    self.toast(format!("reading the jobs queue failed: {e}"), true);
                }
                Vec::new()
            }
            JobsReply::Detail { id, result } => {
                self.jobs.on_detail(id, result);
                Vec::new()
            }
            JobsReply::Cluster { id, result } => {
                self.jobs.on_cluster(id, result);
                Vec::new()
            }
            JobsReply::Compare { id, result } => {
                self.jobs.on_compare(id, result);
                Vec::new()
            }
            JobsReply::Controlled { job, op, result } => {
                match result {
                    Ok(text) => self.toast(text, false),
                    Err(e) => self.toast(format!("{} of job {job} failed: {e}", op.name()), true),
                }
                if self.screen == Screen::Jobs {
                    self.jobs_refresh(true)
                } else {
                    Vec::new()
                }
            }
        }
    }
}
