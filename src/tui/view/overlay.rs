//! Overlays drawn over the body: help, the command palette, confirmations and prompts.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use super::framed;
use crate::tui::action::{all, Scope};
use crate::tui::key::chord_label;
use crate::tui::state::{App, Confirm, Overlay, PromptKind};
use crate::tui::theme::Theme;

pub fn render(app: &App, theme: &Theme, frame: &mut Frame, body: Rect) {
    let Some(overlay) = &app.overlay else { return };
    match overlay {
        Overlay::Help { scroll } => help(app, *scroll, theme, frame, body),
        Overlay::Tasks { selected } => tasks(app, *selected, theme, frame, body),
        Overlay::Log { scroll } => log(app, *scroll, theme, frame, body),
        Overlay::Palette(p) => {
            let area = centered(body, 70, 16);
            frame.render_widget(Clear, area);
            let inner = framed(
                frame,
                area,
                "Command  (Tab/↑↓ choose · Enter run · Esc close)",
                true,
                theme,
            );
            let mut lines = vec![Line::from(vec![
                Span::styled(":", theme.style("title")),
                Span::raw(p.input.text.clone()),
                Span::styled("█", theme.style("text.dim")),
            ])];
            let rows = inner.height.saturating_sub(1) as usize;
            let first = p.selected.saturating_sub(rows.saturating_sub(1));
            for (i, spec) in p.candidates().iter().enumerate().skip(first).take(rows) {
                let arg = spec.arg.map_or(String::new(), |a| format!(" {a}"));
                let style = if i == p.selected {
                    theme.style("selection")
                } else {
                    theme.style("text")
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("{:<18}", format!("{}{arg}", spec.name)), style),
                    Span::styled(format!(" {}", spec.desc), theme.style("text.dim")),
                ]));
            }
            frame.render_widget(Paragraph::new(lines), inner);
        }
        Overlay::Confirm(confirm) => {
            let (title, lines) = match confirm {
                Confirm::Delete { label, .. } => (
                    "Delete document?",
                    vec![
                        format!("Delete {label} with its chunks and vectors?"),
                        String::new(),
                        "y: delete   n / Esc: keep".into(),
                    ],
                ),
                Confirm::Sync { collection, lines } => {
                    let mut l = vec![
                        format!("Sync `{collection}` from its folders. Dry run:"),
                        String::new(),
                    ];
                    l.extend(lines.iter().cloned());
                    l.push(String::new());
                    l.push("y: apply   n / Esc: cancel".into());
                    ("Sync: what would change", l)
                }
                Confirm::CancelJob { label, .. } => (
                    "Cancel job?",
                    vec![
                        format!(
                            "Cancel {}? Its processes get SIGTERM, then SIGKILL after the grace period.",
                            crate::util::safe::one_line(label)
                        ),
                        String::new(),
                        "y: cancel the job   n / Esc: keep it running".into(),
                    ],
                ),
            };
            // Sized after wrapping, and the key hint (the last line) always shown: lines
            // in the middle give way on a small terminal.
            let width = 80.min(body.width);
            let text_width = width.saturating_sub(2).max(1) as usize;
            let hint = lines.last().cloned().unwrap_or_default();
            let mut wrapped: Vec<String> = lines[..lines.len().saturating_sub(1)]
                .iter()
                .flat_map(|l| {
                    // One line per planned file, whatever its name holds.
                    let l = super::safe(l);
                    // Indented lines (the plan's file lists) keep their indent when wrapped.
                    let body = l.trim_start();
                    let indent = &l[..l.len() - body.len()];
                    if body.is_empty() {
                        vec![String::new()]
                    } else {
                        super::text::wrap(body, text_width.saturating_sub(indent.len()))
                            .into_iter()
                            .map(|w| format!("{indent}{w}"))
                            .collect()
                    }
                })
                .collect();
            let room = body.height.saturating_sub(3) as usize;
            if wrapped.len() > room {
                wrapped.truncate(room.saturating_sub(1));
                wrapped.push("…".into());
            }
            wrapped.push(hint);
            let area = centered(body, width, (wrapped.len() as u16 + 2).min(body.height));
            frame.render_widget(Clear, area);
            let inner = framed(frame, area, title, true, theme);
            let text: Vec<Line> = wrapped.into_iter().map(Line::from).collect();
            frame.render_widget(Paragraph::new(text), inner);
        }
        Overlay::Prompt { kind, input } => {
            let (title, hint) = match kind {
                PromptKind::Tag { .. } => ("Add tag", "tag name"),
                PromptKind::Untag { .. } => ("Remove tag", "tag name"),
                PromptKind::WhyNot => ("Why not?", "document id, source path, or chunk:ID"),
                PromptKind::Threshold => ("Near duplicates", "cosine similarity threshold, 0..1"),
            };
            let area = centered(body, 60, 4);
            frame.render_widget(Clear, area);
            let inner = framed(frame, area, title, true, theme);
            frame.render_widget(
                Paragraph::new(vec![
                    Line::from(vec![
                        Span::raw(input.text.clone()),
                        Span::styled("█", theme.style("text.dim")),
                    ]),
                    Line::from(Span::styled(
                        format!("{hint} · Enter ok · Esc cancel"),
                        theme.style("text.dim"),
                    )),
                ]),
                inner,
            );
        }
    }
}

/// The keys of the current screen's scopes, from the registry and the live keymap (so user
/// overrides show, marked `*`).
fn help(app: &App, scroll: usize, theme: &Theme, frame: &mut Frame, body: Rect) {
    let screen_scope = crate::tui::screens::spec(app.screen).scope;
    let title = "Keys  (j/k scroll · any other key closes · * = from your keymap.toml)";
    let mut lines = Vec::new();
    for scope in [screen_scope, Scope::List, Scope::Global] {
        lines.push(Line::from(Span::styled(
            format!("{}:", scope.name()),
            theme.style("title"),
        )));
        for spec in all().iter().filter(|s| s.scope == scope) {
            let bindings = app.keymap.keys_for(spec.action);
            let keys = if bindings.is_empty() {
                format!(":{}", spec.name)
            } else {
                bindings
                    .iter()
                    .map(|b| format!("{}{}", chord_label(&b.keys), if b.user { "*" } else { "" }))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let desc = bindings
                .first()
                .map_or(spec.desc.to_string(), |b| b.desc.clone());
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<20}"), theme.style("score.fused")),
                Span::raw(format!(" {desc}")),
                Span::styled(format!("  (:{})", spec.name), theme.style("text.dim")),
            ]));
        }
        lines.push(Line::default());
    }
    // As wide as the longest line (descriptions are not cut on a wide terminal), never
    // narrower than the title.
    let widest = lines
        .iter()
        .map(Line::width)
        .chain([title.chars().count() + 4])
        .max()
        .unwrap_or(0);
    let width = u16::try_from(widest + 2).unwrap_or(u16::MAX);
    let area = centered(body, width, body.height.saturating_sub(2));
    frame.render_widget(Clear, area);
    let inner = framed(frame, area, title, true, theme);
    let [text] = Layout::vertical([Constraint::Min(1)]).areas(inner);
    frame.render_widget(Paragraph::new(lines).scroll((scroll as u16, 0)), text);
}

/// Background tasks with their progress; x cancels the selected one.
fn tasks(app: &App, selected: usize, theme: &Theme, frame: &mut Frame, body: Rect) {
    let height = (app.tasks.len() as u16 + 3).clamp(4, body.height);
    let area = centered(body, 76, height);
    frame.render_widget(Clear, area);
    let inner = framed(
        frame,
        area,
        "Tasks  (j/k choose · x cancel · any other key closes)",
        true,
        theme,
    );
    let lines: Vec<Line> = if app.tasks.is_empty() {
        vec![Line::from(Span::styled(
            "No background work.",
            theme.style("text.dim"),
        ))]
    } else {
        app.tasks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let style = if i == selected {
                    theme.style("selection")
                } else {
                    theme.style("text")
                };
                Line::from(Span::styled(
                    format!("#{:<5} {}", t.task, super::task_line(t)),
                    style,
                ))
            })
            .collect()
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The message log: every toast of the session, newest at the bottom.
fn log(app: &App, scroll: usize, theme: &Theme, frame: &mut Frame, body: Rect) {
    let area = centered(body, body.width.saturating_sub(4), body.height);
    frame.render_widget(Clear, area);
    let inner = framed(
        frame,
        area,
        "Messages  (k/j scroll · any other key closes)",
        true,
        theme,
    );
    let width = inner.width.saturating_sub(12).max(10) as usize;
    let mut lines: Vec<Line> = Vec::new();
    for entry in &app.log {
        let style = theme.style(if entry.error { "status.error" } else { "text" });
        let secs = entry.at_ms / 1000;
        for (i, part) in super::text::wrap(&entry.text, width)
            .into_iter()
            .enumerate()
        {
            let stamp = if i == 0 {
                format!("{:>4}:{:02}  ", secs / 60, secs % 60)
            } else {
                " ".repeat(9)
            };
            lines.push(Line::from(vec![
                Span::styled(stamp, theme.style("text.dim")),
                Span::styled(part, style),
            ]));
        }
    }
    if lines.is_empty() {
        lines.push(Line::from(Span::styled(
            "No messages yet.",
            theme.style("text.dim"),
        )));
    }
    let rows = inner.height as usize;
    let end = lines
        .len()
        .saturating_sub(scroll.min(lines.len().saturating_sub(1)));
    let start = end.saturating_sub(rows);
    frame.render_widget(Paragraph::new(lines[start..end].to_vec()), inner);
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}
