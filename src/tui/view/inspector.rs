//! The retrieval inspector: query box and parameters, the fused, vector and keyword rankings
//! side by side, and the selected chunk with its trace (or a "why not?" report).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::{framed, notice, safe, text};
use crate::retrieve::{Hit, SearchResult, StageHit};
use crate::tui::state::corpus::Corpus;
use crate::tui::state::inspector::{Inspector, Pane};
use crate::tui::state::{App, Loadable};
use crate::tui::theme::Theme;

pub fn render(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let ins = &app.inspector;
    let [query_area, lists_area, detail_area] = Layout::vertical([
        Constraint::Length(5),
        Constraint::Percentage(45),
        Constraint::Min(6),
    ])
    .areas(area);
    query_box(ins, theme, frame, query_area);
    match &ins.result {
        Loadable::Ready(result) => {
            rankings(ins, &app.corpus, result, theme, frame, lists_area);
            if matches!(ins.why, Loadable::Idle) {
                detail(ins, &app.corpus, result, theme, frame, detail_area);
            } else {
                why(ins, &app.corpus, theme, frame, detail_area);
            }
        }
        Loadable::Idle => history(ins, theme, frame, lists_area.union(detail_area)),
        Loadable::Loading => {
            let inner = framed(frame, lists_area, "Results", false, theme);
            notice(frame, inner, "Searching…", theme.style("text.dim"));
        }
        Loadable::Failed(e) => {
            let inner = framed(frame, lists_area, "Results", false, theme);
            notice(
                frame,
                inner,
                &format!("Search failed:\n{e}"),
                theme.style("status.error"),
            );
        }
    }
}

fn query_box(ins: &Inspector, theme: &Theme, frame: &mut Frame, area: Rect) {
    // The hint says what the keys do now: typing goes to the box while it is being edited.
    // Enter leaves the box for the results: both titles say which mode the keys are in.
    let title = if ins.editing {
        "Query · TYPING  (searches as you type · Enter: to the results · ↑↓ history · Esc leaves)"
    } else {
        "Query · keys move the results  (j/k · Enter opens · i edits the query)"
    };
    let inner = framed(frame, area, title, ins.editing, theme);
    let mut query = vec![
        Span::styled("> ", theme.style("title")),
        Span::raw(ins.query.text.clone()),
    ];
    if ins.editing {
        query.push(Span::styled("█", theme.style("text.dim")));
    } else if ins.query.text.is_empty() {
        query.push(Span::styled(
            "press i and type a question",
            theme.style("text.dim"),
        ));
    }
    let p = ins.params;
    let params = format!(
        "mode {} (m) · k {} (+/-) · candidates {} (</>) · rrf_k {} ([/]) · w why not?",
        p.mode, p.k, p.candidates, p.rrf_k
    );
    let timings = match ins.result.ready() {
        Some(r) => {
            let t = &r.timings;
            format!(
                "embed {:.1} ms · vector {:.1} ms · keyword {:.1} ms · fuse {:.1} ms · total {:.1} ms · {} vector and {} keyword candidates",
                t.embed_ms, t.vector_ms, t.keyword_ms, t.fuse_ms, t.total_ms, r.vector_candidates, r.keyword_candidates
            )
        }
        None => String::new(),
    };
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(query),
            Line::from(Span::styled(params, theme.style("text.dim"))),
            Line::from(Span::styled(timings, theme.style("text.dim"))),
        ]),
        inner,
    );
}

fn rankings(
    ins: &Inspector,
    corpus: &Corpus,
    r: &SearchResult,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let [fused, vector, keyword] = Layout::horizontal([
        Constraint::Percentage(40),
        Constraint::Percentage(30),
        Constraint::Percentage(30),
    ])
    .areas(area);
    let page = |a: Rect| a.height.saturating_sub(3) as usize;
    // Fused list.
    let inner = framed(frame, fused, "Fused (RRF)", ins.pane == Pane::Fused, theme);
    if r.hits.is_empty() {
        notice(frame, inner, "No results.", theme.style("text.dim"));
    } else {
        let cursor = ins.cursor(Pane::Fused);
        let rows = r
            .hits
            .iter()
            .enumerate()
            .skip(super::window(cursor, page(fused)))
            .take(page(fused))
            .map(|(i, h)| {
                Row::new(vec![
                    Span::raw(h.rank.to_string()),
                    Span::styled(
                        format!("{:.4}", h.trace.fused_score),
                        theme.style("score.fused"),
                    ),
                    Span::styled(
                        rank_or_dash(h.trace.vector_rank),
                        theme.style("score.vector"),
                    ),
                    Span::styled(
                        rank_or_dash(h.trace.keyword_rank),
                        theme.style("score.keyword"),
                    ),
                    Span::raw(safe(corpus.short_path(&h.source_path)).into_owned()),
                ])
                .style(sel(theme, ins.pane == Pane::Fused && i == cursor.selected))
            });
        let header = Row::new(["#", "score", "vec", "kw", "document"]).style(theme.style("title"));
        let widths = [
            Constraint::Length(3),
            Constraint::Length(7),
            Constraint::Length(4),
            Constraint::Length(4),
            Constraint::Fill(1),
        ];
        frame.render_widget(Table::new(rows, widths).header(header), inner);
    }
    stage_list(
        ins,
        corpus,
        Pane::Vector,
        "Vector (cosine distance)",
        &r.vector_ranking,
        "score.vector",
        theme,
        frame,
        vector,
    );
    let kw_title = if r.dropped_terms.is_empty() {
        "Keyword (BM25)".to_string()
    } else {
        format!("Keyword (BM25; common: {})", r.dropped_terms.join(" "))
    };
    stage_list(
        ins,
        corpus,
        Pane::Keyword,
        &kw_title,
        &r.keyword_ranking,
        "score.keyword",
        theme,
        frame,
        keyword,
    );
}

#[allow(clippy::too_many_arguments)]
fn stage_list(
    ins: &Inspector,
    corpus: &Corpus,
    pane: Pane,
    title: &str,
    list: &[StageHit],
    score_style: &str,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let inner = framed(frame, area, title, ins.pane == pane, theme);
    if list.is_empty() {
        let why = if pane == Pane::Vector {
            "No vector results (mode or model)."
        } else {
            "No keyword matches."
        };
        notice(frame, inner, why, theme.style("text.dim"));
        return;
    }
    let cursor = ins.cursor(pane);
    let rows = list
        .iter()
        .enumerate()
        .skip(super::window(
            cursor,
            inner.height.saturating_sub(1) as usize,
        ))
        .take(inner.height.saturating_sub(1) as usize)
        .map(|(i, h)| {
            Row::new(vec![
                Span::raw(h.rank.to_string()),
                Span::styled(format!("{:.3}", h.score), theme.style(score_style)),
                Span::raw(safe(corpus.short_path(&h.source_path)).into_owned()),
            ])
            .style(sel(theme, ins.pane == pane && i == cursor.selected))
        });
    let header = Row::new(["#", "score", "document"]).style(theme.style("title"));
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(3),
                Constraint::Length(7),
                Constraint::Fill(1),
            ],
        )
        .header(header),
        inner,
    );
}

fn detail(
    ins: &Inspector,
    corpus: &Corpus,
    r: &SearchResult,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let inner = framed(
        frame,
        area,
        "Selected chunk  (Enter opens its document · Tab next list)",
        false,
        theme,
    );
    let Some((chunk_id, _)) = ins.selected() else {
        notice(
            frame,
            inner,
            "Select a result with j/k.",
            theme.style("text.dim"),
        );
        return;
    };
    let terms = crate::retrieve::query::terms(&r.query);
    let hit: Option<&Hit> = r.hits.iter().find(|h| h.chunk_id == chunk_id);
    let mut lines = Vec::new();
    match hit {
        Some(h) => {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("chunk {} · #{} of ", h.chunk_id, h.ordinal),
                    theme.style("text.dim"),
                ),
                Span::styled(
                    safe(corpus.short_path(&h.source_path)).into_owned(),
                    theme.style("title"),
                ),
                Span::styled(
                    format!(
                        " · {}",
                        safe(if h.heading_path.is_empty() {
                            h.title.as_str()
                        } else {
                            h.heading_path.as_str()
                        })
                    ),
                    theme.style("text.dim"),
                ),
            ]));
            let t = &h.trace;
            lines.push(Line::from(vec![
                Span::styled("fused ", theme.style("text.dim")),
                Span::styled(t.formula.clone(), theme.style("score.fused")),
            ]));
            lines.push(Line::from(vec![
                Span::styled(
                    format!(
                        "vector rank {} distance {}",
                        rank_or_dash(t.vector_rank),
                        t.vector_distance.map_or("-".into(), |d| format!("{d:.4}"))
                    ),
                    theme.style("score.vector"),
                ),
                Span::raw(" · "),
                Span::styled(
                    format!(
                        "keyword rank {} bm25 {}",
                        rank_or_dash(t.keyword_rank),
                        t.bm25.map_or("-".into(), |s| format!("{s:.3}"))
                    ),
                    theme.style("score.keyword"),
                ),
            ]));
            lines.push(Line::default());
            lines.extend(text::highlighted(
                &h.text,
                &terms,
                inner.width as usize,
                Style::default(),
                theme.style("highlight.match"),
            ));
        }
        None => {
            lines.push(Line::from(Span::styled(
                format!("chunk {chunk_id} ranked in this stage but not in the fused top {}; ask why with w chunk:{chunk_id}", r.k),
                theme.style("text.dim"),
            )));
        }
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn why(ins: &Inspector, corpus: &Corpus, theme: &Theme, frame: &mut Frame, area: Rect) {
    let inner = framed(frame, area, "Why not?  (Esc closes)", true, theme);
    let w = match &ins.why {
        Loadable::Ready(w) => w,
        Loadable::Failed(e) => {
            return notice(
                frame,
                inner,
                &format!("Why-not failed:\n{e}"),
                theme.style("status.error"),
            )
        }
        _ => {
            return notice(
                frame,
                inner,
                "Ranking every chunk of the collection…",
                theme.style("text.dim"),
            )
        }
    };
    let mut lines = vec![
        Line::from(vec![Span::styled(
            safe(corpus.short_path(&w.source_path)).into_owned(),
            theme.style("title"),
        )]),
        Line::from(safe(&w.summary).into_owned()),
        Line::default(),
    ];
    for f in &w.chunks {
        lines.push(Line::from(vec![
            Span::styled(
                format!("chunk {} #{}: ", f.chunk_id, f.ordinal),
                theme.style("text.dim"),
            ),
            Span::raw(safe(&f.verdict).into_owned()),
        ]));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn history(ins: &Inspector, theme: &Theme, frame: &mut Frame, area: Rect) {
    let inner = framed(frame, area, "Recent queries", false, theme);
    if ins.history.is_empty() {
        notice(
            frame,
            inner,
            "Type a query to see how each stage ranks the corpus: vector, keyword and their fusion, with every score.\nPress i to start typing, Enter to run, Esc to leave the box.",
            theme.style("text.dim"),
        );
        return;
    }
    let lines: Vec<Line> = ins
        .history
        .iter()
        .map(|q| Line::from(safe(q).into_owned()))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn rank_or_dash(rank: Option<usize>) -> String {
    rank.map_or("-".into(), |r| r.to_string())
}

fn sel(theme: &Theme, selected: bool) -> Style {
    if selected {
        theme.style("selection")
    } else {
        Style::default()
    }
}
