//! The jobs screen's state: the queue (filtered by state and text, refreshed about once a
//! second while shown), one job's detail (log tail, charts, spec, alerts) and the compare
//! view. Control actions leave as `Outcome`s: the app turns them into tasks or a
//! confirmation.

use super::input::{Edit, LineInput};
use super::list::Cursor;
use super::Loadable;
use crate::tui::action::Action;
use crate::tui::effect::Effect;
use crate::tui::jobs_msg::{
    ClusterView, CompareView, JobDetail, JobOp, JobRow, JobsEffect, LogStream, QueueView,
};
use crate::tui::key::Key;

/// How often the shown screen reloads the queue (and the open job).
pub const REFRESH_MS: u64 = 1000;
/// A load with no answer after this long is given up on, so refreshing never stops.
const STALE_MS: u64 = 10_000;
/// A cluster read waits longer: Slurm's own timeout when the controller is down is about
/// 10 s, and only one read (one thread) is out at a time.
const CLUSTER_STALE_MS: u64 = 30_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JobsView {
    #[default]
    Queue,
    Detail,
    Compare,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateFilter {
    #[default]
    All,
    /// Queued, starting or running.
    Active,
    Running,
    Queued,
    Failed,
    Ended,
}

impl StateFilter {
    pub fn name(self) -> &'static str {
        match self {
            StateFilter::All => "all",
            StateFilter::Active => "active",
            StateFilter::Running => "running",
            StateFilter::Queued => "queued",
            StateFilter::Failed => "failed",
            StateFilter::Ended => "ended",
        }
    }

    fn next(self) -> StateFilter {
        match self {
            StateFilter::All => StateFilter::Active,
            StateFilter::Active => StateFilter::Running,
            StateFilter::Running => StateFilter::Queued,
            StateFilter::Queued => StateFilter::Failed,
            StateFilter::Failed => StateFilter::Ended,
            StateFilter::Ended => StateFilter::All,
        }
    }

    pub fn matches(self, row: &JobRow) -> bool {
        match self {
            StateFilter::All => true,
            StateFilter::Active => !row.ended,
            StateFilter::Running => row.state == "running",
            StateFilter::Queued => row.state == "queued" || row.state == "starting",
            StateFilter::Failed => row.state == "failed" || row.state == "lost",
            StateFilter::Ended => row.ended,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Chart {
    #[default]
    Loss,
    EvalLoss,
    LearningRate,
    GradNorm,
    TokensPerSecond,
}

impl Chart {
    pub const ALL: [Chart; 5] = [
        Chart::Loss,
        Chart::EvalLoss,
        Chart::LearningRate,
        Chart::GradNorm,
        Chart::TokensPerSecond,
    ];

    /// The metric's name as the log parser stores it.
    pub fn metric(self) -> &'static str {
        use crate::jobs::parse;
        match self {
            Chart::Loss => "loss",
            Chart::EvalLoss => parse::EVAL_LOSS,
            Chart::LearningRate => "learning_rate",
            Chart::GradNorm => parse::GRAD_NORM,
            Chart::TokensPerSecond => parse::TOKENS_PER_SECOND,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Chart::Loss => "loss",
            Chart::EvalLoss => "eval loss",
            Chart::LearningRate => "learning rate",
            Chart::GradNorm => "grad norm",
            Chart::TokensPerSecond => "tokens/s",
        }
    }

    fn next(self) -> Chart {
        let i = Chart::ALL.iter().position(|c| *c == self).unwrap_or(0);
        Chart::ALL[(i + 1) % Chart::ALL.len()]
    }
}

/// The detail's second pane where there is room for one only (Tab switches).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lower {
    #[default]
    Log,
    Spec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Editing {
    /// The queue's text filter.
    Filter,
    /// A search in the log tail.
    Search,
}

/// What a jobs action asks of the app beyond effects.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Effects(Vec<Effect>),
    Error(String),
    /// Ask before cancelling this job.
    ConfirmCancel {
        job: i64,
        label: String,
    },
    /// Run a control action as a task.
    Control {
        job: i64,
        op: JobOp,
    },
    Info(String),
}

#[derive(Debug, Clone, Default)]
pub struct Jobs {
    pub view: JobsView,
    pub queue: Loadable<QueueView>,
    pub cursor: Cursor,
    pub state_filter: StateFilter,
    pub text_filter: String,
    pub editing: Option<(Editing, LineInput)>,
    pub detail_job: Option<i64>,
    pub detail: Loadable<JobDetail>,
    pub stream: Option<LogStream>,
    pub follow: bool,
    /// Lines scrolled up from the end of the log tail.
    pub scroll: usize,
    pub search: String,
    pub chart: Chart,
    pub lower: Lower,
    pub marked: Vec<i64>,
    pub compare: Loadable<CompareView>,
    /// Why the last refresh failed, while the queue shown is an older one.
    pub stale: Option<String>,
    /// The Slurm cluster panel is shown (in place of the GPU panel) and refreshed with the
    /// queue.
    pub show_cluster: bool,
    pub cluster: Loadable<ClusterView>,
    cluster_req: u64,
    cluster_sent_ms: Option<u64>,
    last_refresh_ms: Option<u64>,
    queue_req: u64,
    queue_sent_ms: Option<u64>,
    detail_req: u64,
    detail_sent_ms: Option<u64>,
    compare_req: u64,
}

fn waiting(sent: Option<u64>, now_ms: u64) -> bool {
    sent.is_some_and(|t| now_ms < t + STALE_MS)
}

impl Jobs {
    pub fn stream(&self) -> LogStream {
        self.stream.unwrap_or(LogStream::Stdout)
    }

    /// The rows the state and text filters let through, in queue order.
    pub fn visible(&self) -> Vec<&JobRow> {
        let Some(q) = self.queue.ready() else {
            return Vec::new();
        };
        let text = self.text_filter.to_lowercase();
        q.rows
            .iter()
            .filter(|r| self.state_filter.matches(r))
            .filter(|r| {
                text.is_empty()
                    || r.name.to_lowercase().contains(&text)
                    || r.id.to_string() == text
                    || r.backend.to_lowercase().contains(&text)
            })
            .collect()
    }

    pub fn selected(&self) -> Option<&JobRow> {
        self.visible().get(self.cursor.selected).copied()
    }

    /// The job the keys act on: the open one in the detail, else the selected row.
    fn target(&self) -> Option<&JobRow> {
        match (self.view, self.detail.ready()) {
            (JobsView::Detail, Some(d)) => Some(&d.row),
            (JobsView::Detail, None) => None,
            _ => self.selected(),
        }
    }

    /// The log lines shown: the tail, narrowed to the search when there is one.
    pub fn log_lines(&self) -> Vec<&str> {
        let Some(d) = self.detail.ready() else {
            return Vec::new();
        };
        let needle = self.search.to_lowercase();
        d.log
            .iter()
            .map(String::as_str)
            .filter(|l| needle.is_empty() || l.to_lowercase().contains(&needle))
            .collect()
    }

    /// Loads due at `now_ms`: the queue about once a second, and the open job with it.
    /// `force` reloads now (the screen was just shown, a job changed).
    pub fn refresh(&mut self, now_ms: u64, ids: [u64; 2], force: bool) -> Vec<Effect> {
        let due = force
            || self
                .last_refresh_ms
                .is_none_or(|t| now_ms >= t + REFRESH_MS);
        if !due {
            return Vec::new();
        }
        self.last_refresh_ms = Some(now_ms);
        let mut effects = Vec::new();
        if !waiting(self.queue_sent_ms, now_ms) || force {
            self.queue_req = ids[0];
            self.queue_sent_ms = Some(now_ms);
            if matches!(self.queue, Loadable::Idle) {
                self.queue = Loadable::Loading;
            }
            effects.push(Effect::Jobs(JobsEffect::LoadQueue { id: ids[0] }));
        }
        if self.view == JobsView::Detail && (!waiting(self.detail_sent_ms, now_ms) || force) {
            effects.extend(self.load_detail(ids[1], now_ms));
        }
        effects.extend(self.load_cluster(ids[0], now_ms));
        effects
    }

    /// The cluster panel's read, when it is shown and none is out (even when forced: each
    /// read holds a thread until Slurm answers).
    fn load_cluster(&mut self, id: u64, now_ms: u64) -> Vec<Effect> {
        let out = self
            .cluster_sent_ms
            .is_some_and(|t| now_ms < t + CLUSTER_STALE_MS);
        if !self.show_cluster || out {
            return Vec::new();
        }
        self.cluster_req = id;
        self.cluster_sent_ms = Some(now_ms);
        if matches!(self.cluster, Loadable::Idle) {
            self.cluster = Loadable::Loading;
        }
        vec![Effect::Jobs(JobsEffect::LoadCluster { id })]
    }

    /// A cluster read came back; an absent Slurm is a state of the panel, not an error.
    pub fn on_cluster(&mut self, id: u64, result: Result<ClusterView, String>) {
        if id != self.cluster_req {
            return;
        }
        self.cluster_sent_ms = None;
        self.cluster = Loadable::from_answer(result);
    }

    fn load_detail(&mut self, id: u64, now_ms: u64) -> Vec<Effect> {
        let Some(job) = self.detail_job else {
            return Vec::new();
        };
        self.detail_req = id;
        self.detail_sent_ms = Some(now_ms);
        vec![Effect::Jobs(JobsEffect::LoadDetail {
            id,
            job,
            stream: self.stream(),
        })]
    }

    pub fn on_queue(
        &mut self,
        id: u64,
        result: Result<QueueView, String>,
        page: usize,
    ) -> Option<String> {
        if id != self.queue_req {
            return None;
        }
        self.queue_sent_ms = None;
        match result {
            Ok(view) => {
                // The selection stays on its job when rows come and go.
                let keep = self.selected().map(|r| r.id);
                self.queue = Loadable::Ready(view);
                self.stale = None;
                self.reselect(keep, page);
                None
            }
            Err(e) if matches!(self.queue, Loadable::Ready(_)) => {
                // A refresh that fails keeps the last queue, marked stale; said once.
                let new = self.stale.is_none();
                self.stale = Some(e.clone());
                new.then_some(e)
            }
            Err(e) => {
                self.queue = Loadable::Failed(e.clone());
                Some(e)
            }
        }
    }

    fn reselect(&mut self, keep: Option<i64>, page: usize) {
        let rows = self.visible();
        let len = rows.len();
        if let Some(i) = keep.and_then(|k| rows.iter().position(|r| r.id == k)) {
            self.cursor.selected = i;
        }
        self.cursor.clamp(len, page);
    }

    pub fn on_detail(&mut self, id: u64, result: Result<JobDetail, String>) {
        if id != self.detail_req {
            return;
        }
        self.detail_sent_ms = None;
        match result {
            Ok(mut new) => {
                // Not following: the lines on screen stay put while the job writes more.
                if !self.follow {
                    if let Some(old) = self.detail.ready() {
                        if old.row.id == new.row.id && old.stream == new.stream {
                            new.log = old.log.clone();
                            new.log_bytes = old.log_bytes;
                        }
                    }
                }
                self.detail = Loadable::Ready(new);
            }
            Err(e) => self.detail = Loadable::Failed(e),
        }
    }

    pub fn on_compare(&mut self, id: u64, result: Result<CompareView, String>) {
        if id == self.compare_req {
            self.compare = Loadable::from_answer(result);
        }
    }

    /// A key while the filter or the search is being typed.
    pub fn edit_key(&mut self, key: Key, page: usize) {
        let Some((what, mut input)) = self.editing.take() else {
            return;
        };
        let edit = input.handle(key);
        let text = input.text.trim().to_string();
        let text = match edit {
            // Esc drops what was typed (the filter applies as it is typed).
            Edit::Cancel => String::new(),
            Edit::Submit => text,
            _ => {
                self.editing = Some((what, input));
                text
            }
        };
        match what {
            Editing::Filter => {
                let keep = self.selected().map(|r| r.id);
                self.text_filter = text;
                self.reselect(keep, page);
            }
            Editing::Search => {
                self.search = text;
                self.scroll = 0;
            }
        }
    }

    pub fn run(&mut self, action: Action, ids: [u64; 2], now_ms: u64, page: usize) -> Outcome {
        match action {
            Action::CancelJob | Action::PauseJob | Action::RetryJob => return self.control(action),
            Action::Refresh => {
                if self.view == JobsView::Compare {
                    return self.load_compare(ids[0]);
                }
                return Outcome::Effects(self.refresh(now_ms, ids, true));
            }
            _ => {}
        }
        match self.view {
            JobsView::Queue => self.queue_action(action, ids, now_ms, page),
            JobsView::Detail => self.detail_action(action, ids[1], now_ms, page),
            JobsView::Compare => {
                if action == Action::Back {
                    self.view = JobsView::Queue;
                }
                Outcome::Effects(Vec::new())
            }
        }
    }

    fn queue_action(&mut self, action: Action, ids: [u64; 2], now_ms: u64, page: usize) -> Outcome {
        let len = self.visible().len();
        match action {
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => self.cursor.apply(action, len, page),
            Action::Open => {
                let Some(job) = self.selected().map(|r| r.id) else {
                    return Outcome::Error("no job selected".into());
                };
                self.view = JobsView::Detail;
                if self.detail_job != Some(job) {
                    self.detail = Loadable::Loading;
                }
                self.detail_job = Some(job);
                self.follow = true;
                self.scroll = 0;
                self.search.clear();
                return Outcome::Effects(self.load_detail(ids[1], now_ms));
            }
            Action::Filter => {
                self.editing = Some((Editing::Filter, LineInput::with(&self.text_filter)));
            }
            Action::JobStateFilter => {
                let keep = self.selected().map(|r| r.id);
                self.state_filter = self.state_filter.next();
                self.reselect(keep, page);
            }
            Action::MarkJob => {
                let Some(job) = self.selected().map(|r| r.id) else {
                    return Outcome::Error("no job selected".into());
                };
                if let Some(i) = self.marked.iter().position(|m| *m == job) {
                    self.marked.remove(i);
                } else {
                    self.marked.push(job);
                }
                self.cursor.step(1, len, page);
            }
            Action::Compare => {
                if self.marked.len() < 2 {
                    return Outcome::Error(
                        "mark at least two jobs with m, then press C to compare them".into(),
                    );
                }
                self.view = JobsView::Compare;
                return self.load_compare(ids[0]);
            }
            Action::ToggleCluster => {
                self.show_cluster = !self.show_cluster;
                return Outcome::Effects(self.load_cluster(ids[0], now_ms));
            }
            Action::Back if !self.text_filter.is_empty() => {
                self.text_filter.clear();
                self.cursor.clamp(self.visible().len(), page);
            }
            _ => {}
        }
        Outcome::Effects(Vec::new())
    }

    fn load_compare(&mut self, id: u64) -> Outcome {
        self.compare_req = id;
        self.compare = Loadable::Loading;
        Outcome::Effects(vec![Effect::Jobs(JobsEffect::LoadCompare {
            id,
            jobs: self.marked.clone(),
        })])
    }

    fn detail_action(&mut self, action: Action, id: u64, now_ms: u64, page: usize) -> Outcome {
        let lines = self.log_lines().len();
        let max = lines.saturating_sub(1);
        match action {
            Action::Back => {
                if !self.search.is_empty() {
                    self.search.clear();
                } else {
                    self.view = JobsView::Queue;
                }
            }
            Action::Up | Action::PageUp => {
                let by = if action == Action::Up { 1 } else { page };
                self.scroll = (self.scroll + by).min(max);
                self.follow = false;
            }
            Action::Down | Action::PageDown => {
                let by = if action == Action::Down { 1 } else { page };
                self.scroll = self.scroll.saturating_sub(by);
            }
            Action::Top => {
                self.scroll = max;
                self.follow = false;
            }
            Action::Bottom => {
                self.scroll = 0;
                self.follow = true;
            }
            Action::Follow => {
                self.follow = !self.follow;
                if self.follow {
                    self.scroll = 0;
                    return Outcome::Effects(self.load_detail(id, now_ms));
                }
            }
            Action::LogStream => {
                self.stream = Some(match self.stream() {
                    LogStream::Stdout => LogStream::Stderr,
                    LogStream::Stderr => LogStream::Stdout,
                });
                self.scroll = 0;
                self.follow = true;
                return Outcome::Effects(self.load_detail(id, now_ms));
            }
            Action::NextChart => self.chart = self.chart.next(),
            Action::NextPane | Action::PrevPane => {
                self.lower = match self.lower {
                    Lower::Log => Lower::Spec,
                    Lower::Spec => Lower::Log,
                }
            }
            Action::Filter => {
                self.editing = Some((Editing::Search, LineInput::with(&self.search)));
            }
            _ => {}
        }
        Outcome::Effects(Vec::new())
    }

    fn control(&mut self, action: Action) -> Outcome {
        let Some(row) = self.target() else {
            return Outcome::Error("no job selected".into());
        };
        let label = format!("job {} ({})", row.id, row.name);
        match action {
            Action::CancelJob if row.ended => {
                Outcome::Error(format!("{label} already ended ({})", row.state))
            }
            Action::CancelJob => Outcome::ConfirmCancel { job: row.id, label },
            // An ended run continues from its last checkpoint, as the same job.
            Action::PauseJob if matches!(row.state.as_str(), "failed" | "cancelled" | "lost") => {
                Outcome::Control {
                    job: row.id,
                    op: JobOp::Continue,
                }
            }
            Action::PauseJob if row.state != "running" => Outcome::Error(format!(
                "{label} is {}: only a running job can be paused or resumed, and only a \
                 failed, cancelled or lost one continued from its checkpoint",
                row.state
            )),
            Action::PauseJob => Outcome::Control {
                job: row.id,
                op: if row.paused {
                    JobOp::Resume
                } else {
                    JobOp::Pause
                },
            },
            Action::RetryJob if !row.ended => Outcome::Error(format!(
                "{label} is {}: cancel it first, or wait for it to end",
                row.state
            )),
            Action::RetryJob => Outcome::Control {
                job: row.id,
                op: JobOp::Retry,
            },
            _ => Outcome::Info(String::new()),
        }
    }
}
