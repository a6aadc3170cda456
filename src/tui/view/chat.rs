//! The chat screen: sessions, the conversation with streamed answers in light Markdown, the
//! last answer's sources (cited ones marked), and the question box.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table};
use ratatui::Frame;

use super::{framed, notice, safe, safe_text, text};
use crate::store::chat::Rating;
use crate::tui::state::chat::{Chat, Turn};
use crate::tui::state::{App, Loadable};
use crate::tui::theme::Theme;

pub fn render(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let chat = &app.chat;
    let [left, right] =
        Layout::horizontal([Constraint::Length(28), Constraint::Min(20)]).areas(area);
    sessions(chat, theme, frame, left);
    let sources_height = if chat.last_sources().is_empty() {
        0
    } else {
        (chat.last_sources().len() as u16 + 2).min(8)
    };
    let [talk, src, input] = Layout::vertical([
        Constraint::Min(4),
        Constraint::Length(sources_height),
        Constraint::Length(6),
    ])
    .areas(right);
    conversation(app, theme, frame, talk);
    if sources_height > 0 {
        sources(app, theme, frame, src);
    }
    question_box(app, theme, frame, input);
}

fn sessions(chat: &Chat, theme: &Theme, frame: &mut Frame, area: Rect) {
    let inner = framed(frame, area, "Sessions (Tab)", chat.sessions_focus, theme);
    match &chat.sessions {
        Loadable::Ready(list) if list.is_empty() => {
            notice(frame, inner, "No sessions yet.", theme.style("text.dim"))
        }
        Loadable::Ready(list) => {
            let rows = list
                .iter()
                .enumerate()
                .skip(super::window(chat.session_cursor, inner.height as usize))
                .take(inner.height as usize)
                .map(|(i, s)| {
                    let mark = if Some(s.id) == chat.session {
                        "● "
                    } else {
                        "  "
                    };
                    let style = if chat.sessions_focus && i == chat.session_cursor.selected {
                        theme.style("selection")
                    } else {
                        Style::default()
                    };
                    Row::new(vec![format!("{mark}{}", safe(&s.title))]).style(style)
                });
            frame.render_widget(Table::new(rows, [Constraint::Fill(1)]), inner);
        }
        Loadable::Failed(e) => notice(
            frame,
            inner,
            &format!("Could not load sessions:\n{e}"),
            theme.style("status.error"),
        ),
        _ => notice(frame, inner, "Loading…", theme.style("text.dim")),
    }
}

/// Light Markdown: headings, list items and fenced code blocks get their own styles.
fn markdown(answer: &str, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let mut in_code = false;
    for raw in safe_text(answer).lines() {
        if raw.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            out.push(Line::from(Span::styled(
                format!("  {raw}"),
                theme.style("chat.code"),
            )));
            continue;
        }
        let trimmed = raw.trim_start();
        if let Some(h) = trimmed
            .strip_prefix("#")
            .map(|h| h.trim_start_matches('#').trim())
        {
            out.push(Line::from(Span::styled(
                h.to_string(),
                theme.style("title"),
            )));
            continue;
        }
        let (prefix, rest) = match trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "))
        {
            Some(item) => ("• ", item),
            None => ("", trimmed),
        };
        let rest = rest.replace("**", "");
        for (i, piece) in text::wrap(&rest, width.saturating_sub(2))
            .into_iter()
            .enumerate()
        {
            let lead = if i == 0 {
                prefix
            } else if prefix.is_empty() {
                ""
            } else {
                "  "
            };
            out.push(Line::from(format!("{lead}{piece}")));
        }
    }
    out
}

fn turn_lines(turn: &Turn, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(vec![
        Span::styled("You: ", theme.style("title")),
        Span::raw(safe(&turn.question).into_owned()),
    ])];
    if turn.answer.is_empty() && turn.live {
        let what = match &turn.phase {
            Some(phase) => phase.as_str(),
            None if turn.rag && turn.sources.is_empty() => "retrieving sources…",
            None => "thinking…",
        };
        lines.push(Line::from(Span::styled(
            what.to_string(),
            theme.style("text.dim"),
        )));
    }
    lines.extend(markdown(&turn.answer, width, theme));
    let mode = if turn.rag {
        format!("RAG on, {} sources", turn.sources.len())
    } else {
        "RAG off".to_string()
    };
    let status = match (&turn.error, &turn.stats, turn.live) {
        (Some(e), _, _) if e == crate::tui::msg::STOPPED_BEFORE_ANSWER => Span::styled(
            format!("{} · stopped before the answer began", safe(&turn.model)),
            theme.style("text.dim"),
        ),
        (Some(e), _, _) => {
            Span::styled(format!("failed: {}", safe(e)), theme.style("status.error"))
        }
        (None, _, true) => Span::styled(
            format!("{} · {mode} · streaming… (s stops)", safe(&turn.model)),
            theme.style("status.running"),
        ),
        (None, Some(s), false) => Span::styled(
            format!(
                "{}{} · {mode}{} · {} tokens · first token {:.0} ms{} · {:.1} tokens/s{}",
                if turn.stopped() { "stopped · " } else { "" },
                safe(&turn.model),
                // Early in the line: a narrow transcript cuts the end off.
                grounded(turn),
                s.completion_tokens,
                // The generator's own figure, from its request, as `lmdeck bench generate`
                // measures it; the wait from Enter (retrieval, a model load) beside it.
                s.time_to_first_token_ms,
                from_enter(turn.waited_ms(), s.time_to_first_token_ms),
                s.decode_tokens_per_s,
                if turn.cited.is_empty() {
                    String::new()
                } else {
                    format!(
                        " · cites {}",
                        turn.cited
                            .iter()
                            .map(|n| format!("[{n}]"))
                            .collect::<String>()
                    )
                }
            ),
            theme.style("text.dim"),
        ),
        (None, None, false) => Span::styled(
            format!("{} · {mode}", safe(&turn.model)),
            theme.style("text.dim"),
        ),
    };
    let mut status_line = Vec::new();
    match turn.rating {
        Some(Rating::Good) => status_line.push(Span::styled("✓ good · ", theme.style("title"))),
        Some(Rating::Bad) => {
            status_line.push(Span::styled("✗ bad · ", theme.style("status.error")))
        }
        None => {}
    }
    status_line.push(status);
    lines.push(Line::from(status_line));
    lines.push(Line::default());
    lines
}

/// " (1.4 s from Enter)" when the user waited noticeably longer than the generator took
/// (retrieval, loading the model); nothing otherwise.
fn from_enter(waited_ms: Option<u64>, first_token_ms: f64) -> String {
    match waited_ms {
        Some(ms) if ms as f64 > first_token_ms * 1.2 + 100.0 => {
            format!(" ({:.1} s from Enter)", ms as f64 / 1000.0)
        }
        _ => String::new(),
    }
}

/// " · grounded 2/3": sentences supported by similarity, when the answer was attributed.
fn grounded(turn: &Turn) -> String {
    match &turn.attribution {
        Some(a) if !a.sentences.is_empty() => {
            format!(" · grounded {}/{}", a.supported(), a.sentences.len())
        }
        _ => String::new(),
    }
}

fn conversation(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let chat = &app.chat;
    let title = match chat.session {
        Some(id) => format!("Chat · session {id}"),
        None => "Chat · new session".to_string(),
    };
    let inner = framed(
        frame,
        area,
        &title,
        !chat.editing && !chat.sessions_focus && !chat.sources_focus,
        theme,
    );
    if chat.turns.is_empty() {
        notice(
            frame,
            inner,
            "Ask a question about the corpus: the answer streams in, grounded in numbered sources you can open.\nr switches RAG off to compare with the model alone; m picks the model; y copies the answer.",
            theme.style("text.dim"),
        );
        return;
    }
    let width = inner.width as usize;
    let lines: Vec<Line> = chat
        .turns
        .iter()
        .flat_map(|t| turn_lines(t, width, theme))
        .collect();
    // The newest text in view unless the user scrolled up (clamped to the start).
    let bottom = lines.len().saturating_sub(inner.height as usize);
    let skip = bottom.saturating_sub(chat.scroll);
    frame.render_widget(
        Paragraph::new(lines.into_iter().skip(skip).collect::<Vec<_>>()),
        inner,
    );
}

fn sources(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let chat = &app.chat;
    let last = chat.turns.last();
    let cited = last.map_or(&[][..], |t| t.cited.as_slice());
    let attributed = last
        .and_then(|t| t.attribution.as_ref())
        .map_or(&[][..], |a| a.attributed.as_slice());
    let inner = framed(
        frame,
        area,
        "Last answer's sources (Tab, j/k, Enter opens · * cited · ~ similar)",
        chat.sources_focus,
        theme,
    );
    let rows = chat
        .last_sources()
        .iter()
        .enumerate()
        .skip(super::window(chat.source_cursor, inner.height as usize))
        .take(inner.height as usize)
        .map(|(i, s)| {
            // The model's own citations win; `~` marks what only similarity found.
            let mark = if cited.contains(&s.n) {
                "*"
            } else if attributed.contains(&s.n) {
                "~"
            } else {
                " "
            };
            let pin = if chat.pinned.contains(&s.chunk_id) {
                " (pinned)"
            } else {
                ""
            };
            let heading = if s.heading_path.is_empty() {
                String::new()
            } else {
                format!(" > {}", safe(&s.heading_path))
            };
            let style = if !chat.editing && !chat.sessions_focus && i == chat.source_cursor.selected
            {
                theme.style("selection")
            } else {
                Style::default()
            };
            Row::new(vec![format!(
                "{mark}[{}] {}{heading}{pin}",
                s.n,
                safe(app.corpus.short_path(&s.source_path))
            )])
            .style(style)
        });
    frame.render_widget(Table::new(rows, [Constraint::Fill(1)]), inner);
}

fn question_box(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let chat = &app.chat;
    let rag = if chat.rag {
        format!("RAG on ({})", app.collection().unwrap_or("no collection"))
    } else {
        "RAG off".into()
    };
    let pins = if chat.pinned.is_empty() {
        String::new()
    } else {
        format!(" · {} pinned", chat.pinned.len())
    };
    // The hint says what the keys do now: letters go to the box while it is being edited.
    let keys = if chat.editing {
        "typing: Enter sends · Alt+Enter new line · Esc leaves the box"
    } else {
        "i write · k/j scroll · Tab sources · r RAG · m model · s stop · y copy · n new"
    };
    let title = format!("Question · {} · {rag}{pins}  ({keys})", chat.model);
    let inner = framed(frame, area, &title, chat.editing, theme);
    frame.render_widget(&chat.input, inner);
}

#[cfg(test)]
mod from_enter_tests {
    use super::from_enter;

    #[test]
    fn the_wait_from_enter_shows_only_when_it_differs() {
        assert_eq!(from_enter(Some(9_900), 640.0), " (9.9 s from Enter)");
        assert_eq!(from_enter(Some(700), 640.0), "");
        assert_eq!(from_enter(None, 640.0), "");
    }
}
