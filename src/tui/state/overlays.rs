//! Keys while an overlay is open: help, the command palette, confirmations and prompts.

use super::*;

/// The help overlay is a few screens long at most.
const HELP_MAX_SCROLL: usize = 120;

impl App {
    pub(super) fn overlay_key(&mut self, overlay: Overlay, key: Key) -> Vec<Effect> {
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
            Overlay::Tasks { selected } => self.tasks_key(selected, key),
            Overlay::Log { scroll } => {
                let max = self.log.len().saturating_sub(1);
                let scroll = match key.code {
                    KeyCode::Char('k') | KeyCode::Up => (scroll + 1).min(max),
                    KeyCode::Char('j') | KeyCode::Down => scroll.saturating_sub(1),
                    KeyCode::PageUp => (scroll + 10).min(max),
                    KeyCode::PageDown => scroll.saturating_sub(10),
                    _ => return Vec::new(), // any other key closes the log
                };
                self.overlay = Some(Overlay::Log { scroll });
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

    pub(super) fn run_palette(&mut self, palette: &Palette) -> Vec<Effect> {
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
        let wrong_screen =
            crate::tui::screens::of_scope(spec.scope).filter(|s| s.screen != self.screen);
        if let Some(screen) = wrong_screen {
            self.toast(
                format!(
                    "`:{}` works on the {} screen (press {})",
                    spec.name, screen.name, screen.key
                ),
                true,
            );
            return Vec::new();
        }
        self.run(spec.action, palette.argument().map(str::to_string))
    }

    pub(super) fn confirmed(&mut self, confirm: Confirm) -> Vec<Effect> {
        match confirm {
            Confirm::Delete {
                collection,
                document_id,
                ..
            } => {
                vec![Effect::Corpus(CorpusEffect::DeleteDocument {
                    collection,
                    document_id,
                })]
            }
            Confirm::Sync { collection, .. } => {
                if let Some(running) = self.task_of(TaskKind::Sync) {
                    self.toast(
                        format!(
                            "a sync of `{}` is still running; wait for it to finish",
                            running.label
                        ),
                        true,
                    );
                    return Vec::new();
                }
                let id = self.request_id();
                self.task_started(id, TaskKind::Sync, &collection);
                vec![Effect::Corpus(CorpusEffect::RunSync { id, collection })]
            }
            Confirm::CancelJob { job, .. } => {
                self.job_control(job, crate::tui::jobs_msg::JobOp::Cancel)
            }
        }
    }

    pub(super) fn prompt_done(&mut self, kind: PromptKind, text: String) -> Vec<Effect> {
        if text.is_empty() {
            return Vec::new();
        }
        match kind {
            PromptKind::Tag {
                collection,
                document_id,
            } => vec![Effect::Corpus(CorpusEffect::Tag {
                collection,
                document_id,
                tag: text,
                add: true,
            })],
            PromptKind::Untag {
                collection,
                document_id,
            } => vec![Effect::Corpus(CorpusEffect::Tag {
                collection,
                document_id,
                tag: text,
                add: false,
            })],
            PromptKind::WhyNot => self.run(Action::WhyNot, Some(text)),
            PromptKind::Threshold => self.run(Action::Dupes, Some(text)),
        }
    }

    pub(super) fn prompt(&mut self, kind: PromptKind, initial: &str) -> Vec<Effect> {
        self.overlay = Some(Overlay::Prompt {
            kind,
            input: LineInput::with(initial),
        });
        Vec::new()
    }
}
