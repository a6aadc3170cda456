//! Views: pure functions of the state and the theme. No I/O, no state changes; styles come
//! from the theme by semantic name.

mod chat;
pub mod corpus;
mod eval;
mod eval_compare;
mod eval_item;
#[cfg(test)]
mod eval_tests;
mod eval_verdict;
mod inspector;
mod jobs;
mod jobs_cluster;
mod jobs_detail;
#[cfg(test)]
mod jobs_tests;
mod overlay;
#[cfg(test)]
mod safety_tests;
#[cfg(test)]
mod tests;
pub mod text;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::state::{App, Engine, Screen};
use super::theme::Theme;
use std::borrow::Cow;

/// A one-line field from a file, a model or a server (path, title, name), control
/// characters shown escaped: ratatui draws them raw, and the terminal would obey them.
pub(super) fn safe(text: &str) -> Cow<'_, str> {
    crate::util::safe::one_line(text)
}

/// Multi-line text from a file, a model or a server (chunk text, answers, messages).
pub(super) fn safe_text(text: &str) -> Cow<'_, str> {
    crate::util::safe::multi_line(text)
}

pub fn render(app: &App, theme: &Theme, frame: &mut Frame) {
    let area = frame.area();
    frame.render_widget(Block::default().style(theme.style("text")), area);
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_tabs(app, theme, frame, tabs);
    match app.screen {
        Screen::Corpus => corpus::render(app, theme, frame, body),
        Screen::Inspector => inspector::render(app, theme, frame, body),
        Screen::Chat => chat::render(app, theme, frame, body),
        Screen::Jobs => jobs::render(app, theme, frame, body),
        Screen::Eval => eval::render(app, theme, frame, body),
    }
    render_status(app, theme, frame, status);
    overlay::render(app, theme, frame, body);
    render_toasts(app, theme, frame, body);
    scrub(frame.buffer_mut());
}

/// The last line of defence: whatever a view forgot to escape, no control character or bidi
/// override reaches the terminal (ratatui appends zero-width ones to the previous cell).
pub(super) fn scrub(buf: &mut ratatui::buffer::Buffer) {
    use crate::util::safe::is_unsafe;
    for cell in buf.content.iter_mut() {
        if cell.symbol().contains(is_unsafe) {
            let clean: String = cell.symbol().chars().filter(|&c| !is_unsafe(c)).collect();
            cell.set_symbol(if clean.is_empty() { " " } else { &clean });
        }
    }
}

fn render_tabs(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let mut spans = vec![Span::styled(" lmdeck ", theme.style("title"))];
    for s in crate::tui::screens::SCREENS {
        let (n, name) = (s.key, s.title);
        let style = if app.screen == s.screen {
            theme.style("tab.active").patch(theme.style("selection"))
        } else {
            theme.style("tab")
        };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" {n} {name} "), style));
    }
    // The full hint where it fits, else the one key that leads to the others.
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let hint = "   ? help  : commands  q quit";
    let hint = if used + hint.chars().count() <= area.width as usize {
        hint
    } else {
        "  ? help"
    };
    spans.push(Span::styled(hint, theme.style("text.dim")));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn render_status(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let base = theme.style("status");
    let engine = match &app.status.engine {
        Engine::Loading => Span::styled("loading…", theme.style("status.running").patch(base)),
        Engine::Ready { provider } => Span::styled(safe(provider).into_owned(), base),
        Engine::Failed(_) => Span::styled(
            "failed to load (keyword search only)",
            theme.style("status.error").patch(base),
        ),
    };
    // Most urgent first, so a narrow terminal cuts the least useful part (the db path).
    let mut spans = vec![Span::styled(" ", base)];
    if !app.pending_keys.is_empty() {
        spans.push(Span::styled(
            format!("{}… │ ", super::key::chord_label(&app.pending_keys)),
            base,
        ));
    }
    if app.closing {
        spans.push(Span::styled(
            "closing: waiting for background work to stop… │ ",
            theme.style("status.running").patch(base),
        ));
    }
    if let Some(waiting) = &app.status.db_wait {
        spans.push(Span::styled(
            format!("{} │ ", safe(waiting)),
            theme.style("status.error").patch(base),
        ));
    }
    if let Some(task) = app.tasks.first() {
        spans.push(Span::styled(
            task_line(task),
            theme.style("status.running").patch(base),
        ));
        if app.tasks.len() > 1 {
            spans.push(Span::styled(
                format!(" (+{} more: Ctrl+T)", app.tasks.len() - 1),
                base,
            ));
        }
        spans.push(Span::styled(" │ ", base));
    }
    spans.extend([
        Span::styled(
            format!("collection {} │ ", safe(app.collection().unwrap_or("-"))),
            base,
        ),
        Span::styled(format!("model {}: ", safe(&app.status.model)), base),
        engine,
        Span::styled(format!(" │ db {}", safe(&app.status.db)), base),
    ]);
    frame.render_widget(Paragraph::new(Line::from(spans)).style(base), area);
}

fn render_toasts(app: &App, theme: &Theme, frame: &mut Frame, body: Rect) {
    // Inside the panes' borders, below their titles: a toast never hides a pane's title
    // or frame.
    let body = Rect::new(
        body.x + 1,
        body.y + 1,
        body.width.saturating_sub(2),
        body.height.saturating_sub(2),
    );
    let width = (body.width / 2).max(30).min(body.width);
    let mut y = body.y;
    for toast in app.toasts.iter().rev() {
        let style = theme.style(if toast.error {
            "toast.error"
        } else {
            "toast.info"
        });
        let lines = text::wrap(&toast.text, width.saturating_sub(2) as usize);
        let height = (lines.len() as u16).min(6);
        if y + height > body.y + body.height {
            break;
        }
        let area = Rect::new(body.x + body.width - width, y, width, height);
        frame.render_widget(Clear, area);
        let text: Vec<Line> = lines
            .into_iter()
            .map(|l| Line::from(format!(" {l}")))
            .collect();
        frame.render_widget(
            Paragraph::new(text).style(style).wrap(Wrap { trim: false }),
            area,
        );
        y += height;
    }
}

/// The first row to draw so the selection is visible in `rows` rows: the state's offset when
/// it already shows the selection (scrolling stays smooth), else the nearest one that does.
/// The reducer's page size is an estimate; the view knows the real height.
pub(super) fn window(cursor: super::state::list::Cursor, rows: usize) -> usize {
    let rows = rows.max(1);
    if cursor.selected < cursor.offset {
        cursor.selected
    } else if cursor.selected >= cursor.offset + rows {
        cursor.selected + 1 - rows
    } else {
        cursor.offset
    }
}

/// One task as the status bar and the task list show it.
pub(super) fn task_line(task: &crate::tui::state::tasks::TaskView) -> String {
    use crate::tui::msg::TaskKind;
    let progress = if task.total > 0 {
        let unit = if task.kind == TaskKind::Sync {
            " docs"
        } else {
            ""
        };
        format!(
            "{} {}/{}{unit}",
            gauge(task.done, task.total, 20),
            task.done,
            task.total
        )
    } else if task.kind == TaskKind::Sync {
        "starting".into()
    } else {
        "running…".into()
    };
    let label = safe(&task.label);
    match task.kind {
        TaskKind::Sync => format!("syncing {label}: {progress}"),
        kind => format!("{} {label}: {progress}", kind.name()),
    }
}

/// A text progress bar: `▕██████░░░░▏`.
pub(super) fn gauge(done: u64, total: u64, width: usize) -> String {
    let filled = ((done.min(total) as f64 / total.max(1) as f64) * width as f64).round() as usize;
    format!("▕{}{}▏", "█".repeat(filled), "░".repeat(width - filled))
}

/// A bordered block whose border shows focus.
pub(super) fn block<'a>(title: &'a str, focused: bool, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(if focused { "border.focused" } else { "border" }))
        .title(Span::styled(
            format!(" {} ", safe(title)),
            theme.style("title"),
        ))
}

/// Draws a titled pane (see `block`) over `area` and returns the space inside it.
pub(super) fn framed(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    focused: bool,
    theme: &Theme,
) -> Rect {
    let b = block(title, focused, theme);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    inner
}

/// A message in the middle of an empty pane (loading, empty, failed).
pub(super) fn notice(frame: &mut Frame, area: Rect, text: &str, style: ratatui::style::Style) {
    let lines: Vec<Line> = safe_text(text)
        .lines()
        .map(|l| Line::from(l.to_string()))
        .collect();
    frame.render_widget(
        Paragraph::new(lines).style(style).wrap(Wrap { trim: true }),
        area,
    );
}
