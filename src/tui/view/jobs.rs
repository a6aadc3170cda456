//! The jobs screen: the queue table (state and text filters, progress, ETA, GPUs, age) over
//! the GPU panel; the detail and compare views live in `jobs_detail`.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table};
use ratatui::Frame;

use super::{framed, notice, safe};
use crate::jobs::derive::human_duration;
use crate::jobs::gpu::Inventory;
use crate::tui::jobs_msg::{JobRow, QueueView};
use crate::tui::state::jobs::{Editing, Jobs, JobsView};
use crate::tui::state::{App, Loadable};
use crate::tui::theme::Theme;

pub fn render(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let jobs = &app.jobs;
    match jobs.view {
        JobsView::Queue => queue(jobs, theme, frame, area),
        JobsView::Detail => super::jobs_detail::detail(jobs, theme, frame, area),
        JobsView::Compare => super::jobs_detail::compare(jobs, theme, frame, area),
    }
}

fn queue(jobs: &Jobs, theme: &Theme, frame: &mut Frame, area: Rect) {
    let q = match &jobs.queue {
        Loadable::Ready(q) => q,
        Loadable::Idle | Loadable::Loading => {
            let inner = framed(frame, area, "Jobs", true, theme);
            notice(frame, inner, "Loading the queue…", theme.style("text.dim"));
            return;
        }
        Loadable::Failed(e) => {
            let inner = framed(frame, area, "Jobs", true, theme);
            notice(
                frame,
                inner,
                &format!("Reading the jobs queue failed:\n{e}"),
                theme.style("status.error"),
            );
            return;
        }
    };
    let gpu_rows = match &q.gpus {
        Inventory::NoGpu { .. } => 1,
        Inventory::Gpus { gpus, .. } => gpus.len().max(1) as u16 + 1,
    };
    let gpu_height = (gpu_rows + 2).min(area.height / 3).max(3);
    // The cluster panel takes the GPU panel's place, with room for nodes and other jobs.
    let lower = if jobs.show_cluster {
        (area.height / 2).max(3)
    } else {
        gpu_height
    };
    let [table_area, lower_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(lower)]).areas(area);
    table(jobs, q, theme, frame, table_area);
    if jobs.show_cluster {
        super::jobs_cluster::panel(jobs, theme, frame, lower_area);
    } else {
        gpu_panel(q, theme, frame, lower_area);
    }
}

fn table(jobs: &Jobs, q: &QueueView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let rows = jobs.visible();
    let mut title = format!(
        "Jobs {} of {} · state {} (f)",
        rows.len(),
        q.rows.len(),
        jobs.state_filter.name()
    );
    if !jobs.text_filter.is_empty() {
        title.push_str(&format!(" · filter `{}`", safe(&jobs.text_filter)));
    }
    if !jobs.marked.is_empty() {
        title.push_str(&format!(" · {} marked (C compares)", jobs.marked.len()));
    }
    if let Some(e) = &jobs.stale {
        title.push_str(&format!(" · STALE: refresh failed: {}", safe(e)));
    }
    let inner = framed(frame, area, &title, true, theme);
    let [list_area, hint_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    hint(jobs, theme, frame, hint_area);
    if rows.is_empty() {
        let text = if q.rows.is_empty() {
            "No jobs yet. Queue one with `lmdeck jobs submit SPEC.toml`."
        } else {
            "No job matches the filters (f: state, /: text, Esc clears the text)."
        };
        notice(frame, list_area, text, theme.style("text.dim"));
        return;
    }
    let page = list_area.height.saturating_sub(1) as usize;
    let first = super::window(jobs.cursor, page);
    let body = rows
        .iter()
        .enumerate()
        .skip(first)
        .take(page)
        .map(|(i, r)| {
            let marked = jobs.marked.contains(&r.id);
            let row = job_row(r, marked, q.now_ms, theme);
            if i == jobs.cursor.selected {
                row.style(theme.style("selection"))
            } else {
                row
            }
        });
    let header = Row::new([
        "  id", "name", "status", "progress", "ETA", "GPUs", "age", "backend",
    ])
    .style(theme.style("title"));
    let widths = [
        Constraint::Length(6),
        Constraint::Fill(1),
        Constraint::Length(10),
        Constraint::Length(13),
        Constraint::Length(7),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(7),
    ];
    frame.render_widget(Table::new(body, widths).header(header), list_area);
}

fn hint(jobs: &Jobs, theme: &Theme, frame: &mut Frame, area: Rect) {
    let line = match &jobs.editing {
        Some((Editing::Filter, input)) => Line::from(vec![
            Span::styled("filter: ", theme.style("title")),
            Span::raw(safe(&input.text).into_owned()),
            Span::styled("█  Enter keeps · Esc clears", theme.style("text.dim")),
        ]),
        _ => Line::from(Span::styled(
            "Enter detail · f state · / filter · m mark · C compare · c cancel · p pause/resume · R retry",
            theme.style("text.dim"),
        )),
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The state shown: paused and cancelling are states the user asked for.
pub(super) fn status(r: &JobRow) -> String {
    if r.paused && !r.ended {
        "paused".into()
    } else if r.cancel_requested && !r.ended {
        "cancelling".into()
    } else {
        r.state.clone()
    }
}

pub(super) fn status_style(r: &JobRow, theme: &Theme) -> Style {
    match r.state.as_str() {
        _ if r.paused && !r.ended => theme.style("status.excluded"),
        "running" | "starting" => theme.style("status.running"),
        "failed" | "lost" => theme.style("status.error"),
        "cancelled" => theme.style("status.excluded"),
        _ => theme.style("text"),
    }
}

/// `▕████░░░░▏ 45%`, or `-` when the job reports no total.
pub(super) fn progress(fraction: Option<f64>, width: usize) -> String {
    match fraction.filter(|f| f.is_finite()) {
        Some(f) => {
            let pct = (f.clamp(0.0, 1.0) * 1000.0).round() as u64;
            format!("{} {:>3}%", super::gauge(pct, 1000, width), pct / 10)
        }
        None => "-".into(),
    }
}

fn job_row<'a>(r: &JobRow, marked: bool, now_ms: i64, theme: &Theme) -> Row<'a> {
    let mark = if marked { "●" } else { " " };
    Row::new(vec![
        Span::raw(format!("{mark}{:>4}", r.id)),
        Span::raw(safe(&r.name).into_owned()),
        Span::styled(status(r), status_style(r, theme)),
        Span::raw(progress(r.fraction, 6)),
        Span::raw(r.eta_s.map_or_else(|| "-".into(), human_duration)),
        Span::raw(safe(&r.gpus).into_owned()),
        Span::raw(human_duration(
            (now_ms - r.created_ms).max(0) as f64 / 1000.0,
        )),
        Span::raw(safe(&r.backend).into_owned()),
    ])
}

fn gpu_panel(q: &QueueView, theme: &Theme, frame: &mut Frame, area: Rect) {
    match &q.gpus {
        Inventory::NoGpu { reason } => {
            let inner = framed(frame, area, "GPUs", false, theme);
            let line = Line::from(vec![
                Span::styled("no GPU: ", theme.style("status.error")),
                Span::raw(safe(reason).into_owned()),
            ]);
            frame.render_widget(Paragraph::new(line), inner);
        }
        Inventory::Gpus { source, gpus } => {
            let inner = framed(frame, area, &format!("GPUs (from {source})"), false, theme);
            let rows = gpus.iter().map(|g| {
                let held = q.holders.get(&g.index).cloned().unwrap_or_default();
                let jobs = if held.is_empty() {
                    "-".to_string()
                } else {
                    held.iter()
                        .map(|id| format!("#{id}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                let mem = g.memory_used_mb as f64 / g.memory_total_mb.max(1) as f64;
                Row::new(vec![
                    format!("{}", g.index),
                    safe(&g.name).into_owned(),
                    g.utilization_pct
                        .map_or_else(|| "?".into(), |u| format!("{u}%")),
                    format!(
                        "{} {}/{} MiB",
                        super::gauge((mem * 100.0) as u64, 100, 6),
                        g.memory_used_mb,
                        g.memory_total_mb
                    ),
                    g.temperature_c
                        .map_or_else(|| "?".into(), |t| format!("{t}°C")),
                    jobs,
                ])
            });
            let header = Row::new(["#", "name", "util", "memory", "temp", "jobs"])
                .style(theme.style("title"));
            let widths = [
                Constraint::Length(2),
                Constraint::Fill(1),
                Constraint::Length(5),
                Constraint::Length(26),
                Constraint::Length(5),
                Constraint::Length(12),
            ];
            frame.render_widget(Table::new(rows, widths).header(header), inner);
        }
    }
}
