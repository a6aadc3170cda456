//! Overlays drawn over the body: help, the command palette, confirmations and prompts.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::framed;
use crate::tui::action::{Scope, REGISTRY};
use crate::tui::key::chord_label;
use crate::tui::state::{App, Confirm, Overlay, PromptKind, Screen};
use crate::tui::theme::Theme;

pub fn render(app: &App, theme: &Theme, frame: &mut Frame, body: Rect) {
    let Some(overlay) = &app.overlay else { return };
    match overlay {
        Overlay::Help { scroll } => help(app, *scroll, theme, frame, body),
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
                        "y / Enter: delete   n / Esc: keep".into(),
                    ],
                ),
                Confirm::Sync { collection, lines } => {
                    let mut l = vec![
                        format!("Sync `{collection}` from its folders. Dry run:"),
                        String::new(),
                    ];
                    l.extend(lines.iter().cloned());
                    l.push(String::new());
                    l.push("y / Enter: apply   n / Esc: cancel".into());
                    ("Sync: what would change", l)
                }
            };
            let area = centered(body, 80, (lines.len() as u16 + 2).min(body.height));
            frame.render_widget(Clear, area);
            let inner = framed(frame, area, title, true, theme);
            let text: Vec<Line> = lines.into_iter().map(Line::from).collect();
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), inner);
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
    let screen_scope = match app.screen {
        Screen::Corpus => Scope::Corpus,
        Screen::Inspector => Scope::Inspector,
        Screen::Chat => Scope::Chat,
    };
    let title = "Keys  (j/k scroll · any other key closes · * = from your keymap.toml)";
    let mut lines = Vec::new();
    for scope in [screen_scope, Scope::List, Scope::Global] {
        lines.push(Line::from(Span::styled(
            format!("{}:", scope.name()),
            theme.style("title"),
        )));
        for spec in REGISTRY.iter().filter(|s| s.scope == scope) {
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
