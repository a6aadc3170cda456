//! Replies from background work: each lands in the state of the screen that asked, stale
//! ones are dropped, and changes to the store reload what the screens show.

use super::*;
use crate::tui::msg::STOPPED_BEFORE_ANSWER;

/// Lines of a sync dry run shown before "…and N more".
const SYNC_PLAN_LINES: usize = 14;

impl App {
    pub(super) fn on_reply(&mut self, reply: Reply) -> Vec<Effect> {
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
            Reply::DbWait { waiting } => {
                self.status.db_wait = waiting;
                Vec::new()
            }
            Reply::Task(task) => {
                self.on_task(task);
                Vec::new()
            }
            Reply::Corpus(reply) => self.on_corpus_reply(reply),
            Reply::Inspector(reply) => self.on_inspector_reply(reply),
            Reply::Chat(reply) => self.on_chat_reply(reply),
            Reply::Jobs(reply) => self.on_jobs_reply(reply),
            Reply::Eval(reply) => self.on_eval_reply(reply),
        }
    }

    fn on_inspector_reply(&mut self, reply: InspectorReply) -> Vec<Effect> {
        match reply {
            InspectorReply::Search { id, result } => self.inspector.on_search(id, result),
            InspectorReply::WhyNot { id, result } => self.inspector.on_why(id, result),
        }
        Vec::new()
    }

    fn on_corpus_reply(&mut self, reply: CorpusReply) -> Vec<Effect> {
        match reply {
            CorpusReply::SyncDone { collection, result } => {
                match result {
                    Ok(report) => {
                        let summary = report.lines().into_iter().next().unwrap_or_default();
                        self.toast(format!("synced `{collection}`: {summary}"), false);
                    }
                    Err(e) => self.toast(format!("sync of `{collection}` failed: {e}"), true),
                }
                self.reload()
            }
            CorpusReply::SyncPlan {
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
            other => {
                let page = self.page();
                let effects = self.corpus.on_reply(other, page);
                self.after_corpus_change();
                effects
            }
        }
    }

    fn on_chat_reply(&mut self, reply: ChatReply) -> Vec<Effect> {
        match reply {
            ChatReply::ChatModels { models } => {
                if !models.is_empty() {
                    if !models.contains(&self.chat.model) {
                        self.chat.model = models[0].clone();
                    }
                    self.chat.models = models;
                }
                Vec::new()
            }
            ChatReply::ChatSources { id, sources } => {
                self.chat.on_sources(id, sources);
                Vec::new()
            }
            ChatReply::ChatPhase { id, phase } => {
                self.chat.on_phase(id, phase);
                Vec::new()
            }
            ChatReply::ChatText { id, text } => {
                self.chat.on_text(id, &text);
                Vec::new()
            }
            ChatReply::ChatDone { id, result } => {
                if let Some(e) = result
                    .as_ref()
                    .err()
                    .filter(|e| *e != STOPPED_BEFORE_ANSWER)
                {
                    self.toast(format!("answer failed: {e}"), true);
                }
                if self.chat.on_done(id, result).is_some() {
                    let id = self.request_id();
                    return self.chat.load_sessions(id);
                }
                Vec::new()
            }
            ChatReply::ChatSessions { id, result } => {
                let page = self.page();
                self.chat.on_sessions(id, result, page);
                Vec::new()
            }
            ChatReply::ChatSession { id, result } => {
                if let Some(e) = self.chat.on_session(id, result) {
                    self.toast(e, true);
                }
                Vec::new()
            }
        }
    }

    /// Reloads whatever the screens show after the store changed.
    pub(super) fn reload(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        let ids = [self.request_id(), self.request_id(), self.request_id()];
        effects.extend(self.corpus.reload(ids));
        let ids = [self.request_id(), self.request_id()];
        effects.extend(self.eval.reload(ids));
        if let (Some(collection), Some(query)) = (
            self.collection().map(str::to_string),
            self.inspector.shown_query(),
        ) {
            let id = self.request_id();
            effects.extend(self.inspector.search(id, &collection, &query));
        }
        effects
    }

    pub(super) fn after_corpus_change(&mut self) {
        if let Some(err) = self.corpus.take_error() {
            self.toast(err, true);
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
