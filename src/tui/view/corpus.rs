//! The corpus screen: collections, the documents table (only visible rows are built), a
//! document's chunks, near-duplicate pairs and the chunk-length histogram.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::{framed, notice, safe, safe_text, text};
use crate::tui::state::corpus::{Corpus, CorpusView};
use crate::tui::state::list::Cursor;
use crate::tui::state::{App, Loadable};
use crate::tui::theme::Theme;
use crate::util::human_bytes;

/// Widths of the documents table's columns: id, status, chunks, size, tags, path.
pub const DOCUMENT_COLUMNS: [Constraint; 6] = [
    Constraint::Length(7),
    Constraint::Length(9),
    Constraint::Length(7),
    Constraint::Length(10),
    Constraint::Length(16),
    Constraint::Fill(1),
];

pub fn render(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let c = &app.corpus;
    match c.view {
        CorpusView::Collections => collections(c, theme, frame, area),
        CorpusView::Documents => documents(c, theme, frame, area),
        CorpusView::Document => document(c, theme, frame, area),
        CorpusView::Dupes => dupes(c, theme, frame, area),
        CorpusView::Histogram => histogram(c, theme, frame, area),
    }
}

/// Draws the non-ready states of a loadable; true when the caller should draw the data.
fn placeholder<T>(
    l: &Loadable<T>,
    what: &str,
    theme: &Theme,
    frame: &mut Frame,
    inner: Rect,
) -> bool {
    match l {
        Loadable::Ready(_) => true,
        Loadable::Idle | Loadable::Loading => {
            notice(
                frame,
                inner,
                &format!("Loading {what}…"),
                theme.style("text.dim"),
            );
            false
        }
        Loadable::Failed(e) => {
            notice(
                frame,
                inner,
                &format!("Could not load {what}:\n{e}"),
                theme.style("status.error"),
            );
            false
        }
    }
}

fn selected_style(theme: &Theme, cursor: &Cursor, i: usize) -> Style {
    if i == cursor.selected {
        theme.style("selection")
    } else {
        Style::default()
    }
}

fn collections(c: &Corpus, theme: &Theme, frame: &mut Frame, area: Rect) {
    let inner = framed(
        frame,
        area,
        "Collections  (Enter open · S sync · d duplicates · H histogram)",
        true,
        theme,
    );
    if !placeholder(&c.collections, "collections", theme, frame, inner) {
        return;
    }
    let list = c.collections.ready().map(Vec::as_slice).unwrap_or_default();
    if list.is_empty() {
        notice(
            frame,
            inner,
            "No collections yet.\n\nIngest a folder from a shell:\n  lmdeck ingest PATH --collection NAME\nthen press Ctrl+R here.",
            theme.style("text.dim"),
        );
        return;
    }
    let rows = list
        .iter()
        .enumerate()
        .skip(super::window(
            c.coll_cursor,
            inner.height.saturating_sub(1) as usize,
        ))
        .take(inner.height.saturating_sub(1) as usize)
        .map(|(i, s)| {
            let active = c.active.as_deref() == Some(s.collection.name.as_str());
            Row::new(vec![
                format!(
                    "{}{}",
                    if active { "● " } else { "  " },
                    safe(&s.collection.name)
                ),
                s.documents.to_string(),
                s.excluded.to_string(),
                s.chunks.to_string(),
                human_bytes(s.bytes as u64),
                s.collection
                    .model
                    .as_ref()
                    .map_or("-".into(), |m| safe(&m.name).into_owned()),
                s.collection
                    .last_sync
                    .map_or("never".into(), crate::util::format_unix),
            ])
            .style(selected_style(theme, &c.coll_cursor, i))
        });
    let header = Row::new([
        "collection",
        "docs",
        "excluded",
        "chunks",
        "size",
        "model",
        "last sync",
    ])
    .style(theme.style("title"));
    let widths = [
        Constraint::Fill(2),
        Constraint::Length(7),
        Constraint::Length(9),
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Fill(2),
        Constraint::Length(20),
    ];
    frame.render_widget(Table::new(rows, widths).header(header), inner);
}

fn documents(c: &Corpus, theme: &Theme, frame: &mut Frame, area: Rect) {
    let name = c.active.as_deref().unwrap_or("-");
    let count = match c.docs.ready() {
        Some(all) if c.visible.len() != all.len() => {
            format!("{} of {}", c.visible.len(), all.len())
        }
        Some(all) => all.len().to_string(),
        None => String::new(),
    };
    let title = format!("{name}: documents {count}  sorted by {}  (x exclude · t tag · D delete · / filter · s sort)", c.sort.label());
    let inner = framed(frame, area, &title, true, theme);
    let [table_area, filter_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    filter_line(c, theme, frame, filter_area);
    if !placeholder(&c.docs, "documents", theme, frame, table_area) {
        return;
    }
    let docs = c.docs.ready().map(Vec::as_slice).unwrap_or_default();
    if c.visible.is_empty() {
        let why = if docs.is_empty() {
            "This collection has no documents."
        } else {
            "No document matches the filter (Esc clears it)."
        };
        notice(frame, table_area, why, theme.style("text.dim"));
        return;
    }
    let page = table_area.height.saturating_sub(1) as usize;
    // Virtualised: only the rows in the window are turned into widgets.
    let rows = c
        .visible
        .iter()
        .enumerate()
        .skip(super::window(c.doc_cursor, page))
        .take(page)
        .filter_map(|(i, &idx)| docs.get(idx).map(|d| (i, d)))
        .map(|(i, d)| {
            let style = if d.status == "active" {
                Style::default()
            } else {
                theme.style("status.excluded")
            };
            Row::new(vec![
                d.id.to_string(),
                d.status.clone(),
                d.chunks.to_string(),
                human_bytes(d.size as u64),
                safe(&d.tags.join(",")).into_owned(),
                safe(c.short_path(&d.source_path)).into_owned(),
            ])
            .style(style.patch(selected_style(theme, &c.doc_cursor, i)))
        });
    let header =
        Row::new(["id", "status", "chunks", "size", "tags", "path"]).style(theme.style("title"));
    frame.render_widget(
        Table::new(rows, DOCUMENT_COLUMNS).header(header),
        table_area,
    );
}

fn filter_line(c: &Corpus, theme: &Theme, frame: &mut Frame, area: Rect) {
    let line = match (&c.filter_edit, &c.filter) {
        (Some(input), _) => Line::from(vec![
            Span::styled("/", theme.style("title")),
            Span::raw(input.text.clone()),
            Span::styled("█", theme.style("text.dim")),
            Span::styled(
                "   Enter keep · Esc clear · re: regex · ! invert · tag: status:",
                theme.style("text.dim"),
            ),
        ]),
        (None, Some(f)) => Line::from(vec![Span::styled(
            format!("filter: {}  (Esc clears)", f.text),
            theme.style("text.dim"),
        )]),
        (None, None) => Line::from(Span::styled(
            "/ filter · Enter open · Esc back",
            theme.style("text.dim"),
        )),
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn document(c: &Corpus, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(detail) = c.detail.ready() else {
        let inner = framed(frame, area, "Document", true, theme);
        placeholder(&c.detail, "the document", theme, frame, inner);
        return;
    };
    let d = &detail.doc;
    let [list_area, text_area] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(area);
    let title = format!(
        "{} · {} · {} chunks{}",
        c.short_path(&d.source_path),
        d.status,
        d.chunks,
        if d.tags.is_empty() {
            String::new()
        } else {
            format!(" · [{}]", d.tags.join(", "))
        }
    );
    let inner = framed(frame, list_area, &title, true, theme);
    // Fixed columns and the spaces between the five columns leave this for the heading path.
    let heading_width = (inner.width as usize).saturating_sub(4 + 7 + 6 + 8 + 4);
    let rows = detail
        .chunks
        .iter()
        .enumerate()
        .skip(super::window(
            c.chunk_cursor,
            inner.height.saturating_sub(1) as usize,
        ))
        .take(inner.height.saturating_sub(1) as usize)
        .map(|(i, ch)| {
            let style = if ch.excluded || d.status != "active" {
                theme.style("status.excluded")
            } else {
                Style::default()
            };
            Row::new(vec![
                format!("#{}", ch.ordinal),
                ch.id.to_string(),
                ch.token_count.to_string(),
                if ch.excluded {
                    "excluded".into()
                } else {
                    String::new()
                },
                text::heading_tail(&ch.heading_path, heading_width),
            ])
            .style(style.patch(selected_style(theme, &c.chunk_cursor, i)))
        });
    let header = Row::new(["#", "chunk", "tokens", "", "heading"]).style(theme.style("title"));
    let widths = [
        Constraint::Length(4),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Fill(1),
    ];
    frame.render_widget(Table::new(rows, widths).header(header), inner);

    let chunk = detail.chunks.get(c.chunk_cursor.selected);
    let inner = framed(
        frame,
        text_area,
        "Chunk text  (x exclude chunk · X exclude document · p pin to chat · Esc back)",
        false,
        theme,
    );
    if let Some(ch) = chunk {
        let mut lines = vec![
            Line::from(Span::styled(
                format!(
                    "{} · bytes {}..{}",
                    safe(&d.title),
                    ch.byte_start,
                    ch.byte_end
                ),
                theme.style("text.dim"),
            )),
            Line::from(Span::styled(
                if ch.heading_path.is_empty() {
                    "(no heading)".to_string()
                } else {
                    safe(&ch.heading_path).into_owned()
                },
                theme.style("title"),
            )),
            Line::default(),
        ];
        lines.extend(
            text::wrap(&ch.text, inner.width as usize)
                .into_iter()
                .map(Line::from),
        );
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

fn dupes(c: &Corpus, theme: &Theme, frame: &mut Frame, area: Rect) {
    let [list_area, pair_area] =
        Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(area);
    let title = format!(
        "Near duplicates in {} at cosine ≥ {}  (a/b exclude left/right · Enter open · Esc back)",
        c.active.as_deref().unwrap_or("-"),
        c.threshold
    );
    let inner = framed(frame, list_area, &title, true, theme);
    if !placeholder(
        &c.dupes,
        "near duplicates (comparing every chunk pair)",
        theme,
        frame,
        inner,
    ) {
        return;
    }
    let Some(view) = c.dupes.ready() else { return };
    if view.pairs.is_empty() {
        notice(frame, inner, &format!("No chunk pairs at similarity ≥ {} among {} chunks. Press d to try a lower threshold.", view.threshold, view.chunks_compared), theme.style("text.dim"));
        return;
    }
    let rows = view
        .pairs
        .iter()
        .enumerate()
        .skip(super::window(c.dupe_cursor, inner.height as usize))
        .take(inner.height as usize)
        .map(|(i, p)| {
            Row::new(vec![
                format!("{:.3}", p.similarity),
                format!("{} {}", p.a.chunk.id, safe(c.short_path(&p.a.source_path))),
                format!("{} {}", p.b.chunk.id, safe(c.short_path(&p.b.source_path))),
            ])
            .style(selected_style(theme, &c.dupe_cursor, i))
        });
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(6),
                Constraint::Fill(1),
                Constraint::Fill(1),
            ],
        ),
        inner,
    );
    if let Some(p) = view.pairs.get(c.dupe_cursor.selected) {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(pair_area);
        for (side, area, chunk) in [("a", left, &p.a), ("b", right, &p.b)] {
            let state = if chunk.chunk.excluded {
                " [excluded]"
            } else {
                ""
            };
            let title = format!(
                "{side}: chunk {} of {}{state}",
                chunk.chunk.id,
                c.short_path(&chunk.source_path)
            );
            let inner = framed(frame, area, &title, false, theme);
            let style = if chunk.chunk.excluded {
                theme.style("status.excluded")
            } else {
                Style::default()
            };
            frame.render_widget(
                Paragraph::new(safe_text(&chunk.chunk.text).into_owned())
                    .style(style)
                    .wrap(Wrap { trim: true }),
                inner,
            );
        }
    }
}

fn histogram(c: &Corpus, theme: &Theme, frame: &mut Frame, area: Rect) {
    let title = format!(
        "Chunk lengths in {} (tokens)  Esc back",
        c.active.as_deref().unwrap_or("-")
    );
    let inner = framed(frame, area, &title, true, theme);
    if !placeholder(&c.histogram, "chunk lengths", theme, frame, inner) {
        return;
    }
    let Some(h) = c.histogram.ready() else { return };
    let [summary, chart] =
        Layout::vertical([Constraint::Length(2), Constraint::Min(3)]).areas(inner);
    frame.render_widget(
        Paragraph::new(format!(
            "{} chunks · min {} · median {} · max {} tokens",
            h.total, h.min, h.median, h.max
        ))
        .style(theme.style("text.dim")),
        summary,
    );
    let bars: Vec<Bar> = h
        .bounds
        .iter()
        .zip(&h.counts)
        .map(|(lo, n)| {
            Bar::default()
                .value(*n)
                .label(Line::from(format!("{lo}+")))
                .style(theme.style("chart"))
        })
        .collect();
    let slots = h.bounds.len().max(1) as u16;
    let width = (chart.width / slots).saturating_sub(1).clamp(3, 12);
    frame.render_widget(
        BarChart::default()
            .data(BarGroup::default().bars(&bars))
            .bar_width(width)
            .bar_gap(1),
        chart,
    );
}
