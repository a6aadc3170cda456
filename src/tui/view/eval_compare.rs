//! The comparison: the metric table (each run's mean, and against the baseline the
//! difference with its 95 % interval, significant ones marked `*` and coloured), a bar chart
//! of one metric across runs (`m`), the 2x2 block when the runs form one, the verdict and
//! warnings, and the items the runs disagree on most.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell as TableCell, Paragraph, Row, Table};
use ratatui::Frame;

use super::{framed, notice, safe};
use crate::eval::compare::{Cell, Comparison, MetricRow};
use crate::tui::state::eval::{Eval, Lower};
use crate::tui::state::Loadable;
use crate::tui::theme::Theme;

/// Wide enough for the intervals in the table and two panes side by side below it.
const WIDE: u16 = 120;
const METRIC_COL: u16 = 18;
const DETECT_COL: u16 = 7;
/// Room a run's column needs for `0.520 +0.21 [+0.15,+0.27]*`.
const FULL_CELL: u16 = 26;
/// Room for the interval alone, on a second line: `[+0.15,+0.27]`.
const INTERVAL: u16 = 13;

/// How a run's cell in the metric table is laid out, by the room there is.
#[derive(Clone, Copy, PartialEq)]
enum Cells {
    /// Mean, difference and interval on one line.
    Full,
    /// The interval on a second line.
    TwoLines,
    /// Mean and difference only.
    Compact,
}

fn cells(c: &Comparison, area: Rect) -> Cells {
    let runs = c.runs.len().max(1) as u16;
    // Inside the borders, less the other columns and one space between columns.
    let per_run = area
        .width
        .saturating_sub(2 + METRIC_COL + DETECT_COL + runs + 1)
        / runs;
    let two_line_height = c.metrics.len() as u16 * 2 + 3;
    if per_run >= FULL_CELL {
        Cells::Full
    } else if per_run >= INTERVAL && two_line_height <= area.height / 2 {
        Cells::TwoLines
    } else {
        Cells::Compact
    }
}

pub fn render(eval: &Eval, theme: &Theme, frame: &mut Frame, area: Rect) {
    let c = match &eval.compare {
        Loadable::Ready(c) => c,
        Loadable::Failed(e) => {
            let inner = framed(frame, area, "Comparison  (Esc: runs)", true, theme);
            let runs: Vec<String> = eval.compared.iter().map(|r| format!("#{r}")).collect();
            let text = format!(
                "Comparing runs {} failed:\n{e}\n\nEsc: back to the runs · Ctrl+R: try again",
                runs.join(", ")
            );
            notice(frame, inner, &text, theme.style("status.error"));
            return;
        }
        _ => {
            let inner = framed(frame, area, "Comparison  (Esc: runs)", true, theme);
            let runs: Vec<String> = eval.compared.iter().map(|r| format!("#{r}")).collect();
            let text = format!("Comparing runs {}…", runs.join(", "));
            notice(frame, inner, &text, theme.style("text.dim"));
            return;
        }
    };
    let layout = cells(c, area);
    let per_metric = if layout == Cells::TwoLines { 2 } else { 1 };
    let table_height = (c.metrics.len() as u16 * per_metric + 3)
        .min(area.height / 2)
        .max(3);
    let [table_area, lower, hint_area] = Layout::vertical([
        Constraint::Length(table_height),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    metric_table(c, layout, theme, frame, table_area);
    let wide = area.width >= WIDE;
    let hint = if wide {
        "m next metric · ↑↓ item · Enter its answers · i inspector · Ctrl+R recompute · Esc runs"
    } else {
        "m metric · Tab chart/verdict/items · ↑↓ Enter item · i inspector · Esc runs"
    };
    frame.render_widget(
        Paragraph::new(Span::styled(hint, theme.style("text.dim"))),
        hint_area,
    );
    if lower.height < 3 {
        return;
    }
    if wide {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(lower);
        let bars_height = (c.runs.len() as u16 + 2).min(left.height);
        let [bars_area, fact_area] =
            Layout::vertical([Constraint::Length(bars_height), Constraint::Min(0)]).areas(left);
        bars(eval, c, theme, frame, bars_area);
        super::eval_verdict::factorial_pane(c, theme, frame, fact_area);
        let [verdict_area, dis_area] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Min(3)]).areas(right);
        super::eval_verdict::verdict(c, theme, frame, verdict_area);
        disagreements(eval, c, theme, frame, dis_area);
    } else {
        match eval.lower {
            Lower::Chart if c.factorial.is_some() && lower.width >= 76 => {
                let [l, r] =
                    Layout::horizontal([Constraint::Fill(1), Constraint::Length(40)]).areas(lower);
                bars(eval, c, theme, frame, l);
                super::eval_verdict::factorial_pane(c, theme, frame, r);
            }
            Lower::Chart => {
                let bars_height = (c.runs.len() as u16 + 2).min(lower.height);
                let [b, f] =
                    Layout::vertical([Constraint::Length(bars_height), Constraint::Min(0)])
                        .areas(lower);
                bars(eval, c, theme, frame, b);
                super::eval_verdict::factorial_pane(c, theme, frame, f);
            }
            Lower::Verdict => super::eval_verdict::verdict(c, theme, frame, lower),
            Lower::Disagreements => disagreements(eval, c, theme, frame, lower),
        }
    }
}

/// A number in a few characters: latencies and counts whole, scores to 3 places.
pub(super) fn num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

pub(super) fn signed(v: f64, places: usize) -> String {
    if v.abs() >= 100.0 {
        format!("{v:+.0}")
    } else {
        format!("{v:+.places$}")
    }
}

/// Better (green) or worse (red) than the baseline, when the interval leaves out zero.
fn delta_style(row: &MetricRow, cell: &Cell, theme: &Theme) -> Style {
    match &cell.delta {
        Some(d) if d.significant() => {
            if (d.diff > 0.0) == row.higher_is_better {
                theme.style("eval.better")
            } else {
                theme.style("eval.worse")
            }
        }
        _ => theme.style("text"),
    }
}

fn run_label(c: &Comparison, id: i64) -> String {
    let name = c
        .runs
        .iter()
        .find(|r| r.id == id)
        .map_or("?".into(), |r| safe(&r.name).into_owned());
    format!("#{id} {name}")
}

fn metric_table(c: &Comparison, layout: Cells, theme: &Theme, frame: &mut Frame, area: Rect) {
    let title = format!(
        "Comparison of {} runs on {} · {} paired items · baseline #{}",
        c.runs.len(),
        safe(&c.set),
        c.paired_items,
        c.baseline
    );
    let inner = framed(frame, area, &title, true, theme);
    let mut header = vec![TableCell::from("metric")];
    header.extend(c.runs.iter().map(|r| {
        let mut label = run_label(c, r.id);
        if r.id == c.baseline {
            label.push_str(" (B)");
        }
        TableCell::from(label)
    }));
    header.push(TableCell::from("detect±"));
    let rows = c.metrics.iter().map(|m| {
        let mut cells = vec![TableCell::from(safe(&m.metric).into_owned())];
        cells.extend(m.cells.iter().map(|cell| {
            // A run the metric does not apply to (n = 0) has no mean to show.
            let mean = if cell.n == 0 {
                "-".to_string()
            } else {
                num(cell.mean)
            };
            let mut first = vec![Span::raw(mean)];
            let mut second = Vec::new();
            if let Some(d) = &cell.delta {
                let style = delta_style(m, cell, theme);
                let mark = if d.significant() { "*" } else { "" };
                let interval = format!("[{},{}]", signed(d.low, 2), signed(d.high, 2));
                let diff = signed(d.diff, 2);
                match layout {
                    Cells::Full => {
                        first.push(Span::styled(format!(" {diff} {interval}{mark}"), style))
                    }
                    Cells::TwoLines => {
                        first.push(Span::styled(format!(" {diff}{mark}"), style));
                        second.push(Span::styled(interval, style));
                    }
                    Cells::Compact => first.push(Span::styled(format!(" {diff}{mark}"), style)),
                }
            }
            TableCell::from(vec![Line::from(first), Line::from(second)])
        }));
        cells.push(TableCell::from(
            m.detectable.map_or("-".into(), |d| format!("±{}", num(d))),
        ));
        Row::new(cells).height(if layout == Cells::TwoLines { 2 } else { 1 })
    });
    let mut widths = vec![Constraint::Length(METRIC_COL)];
    widths.extend(c.runs.iter().map(|_| Constraint::Fill(1)));
    widths.push(Constraint::Length(DETECT_COL));
    frame.render_widget(
        Table::new(rows, widths).header(Row::new(header).style(theme.style("title"))),
        inner,
    );
}

fn bars(eval: &Eval, c: &Comparison, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(m) = c.metrics.get(eval.metric) else {
        let inner = framed(frame, area, "Chart", false, theme);
        notice(frame, inner, "no metric to chart", theme.style("text.dim"));
        return;
    };
    let title = format!(
        "{} by run (m: {}/{})",
        safe(&m.metric),
        eval.metric + 1,
        c.metrics.len()
    );
    let inner = framed(frame, area, &title, false, theme);
    let label_width = 14usize;
    let value_width = 7usize;
    let bar_width = (inner.width as usize).saturating_sub(label_width + value_width + 2);
    let top = m
        .cells
        .iter()
        .map(|cell| cell.mean.abs())
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let lines: Vec<Line> = m
        .cells
        .iter()
        .map(|cell| {
            let label: String = run_label(c, cell.run).chars().take(label_width).collect();
            let share = if top > 0.0 && cell.mean.is_finite() {
                (cell.mean.abs() / top).min(1.0)
            } else {
                0.0
            };
            let filled = (share * bar_width as f64).round() as usize;
            let style = match &cell.delta {
                Some(d) if d.significant() => delta_style(m, cell, theme),
                Some(_) => theme.style("eval.bar"),
                None => theme.style("text.dim"), // the baseline
            };
            Line::from(vec![
                Span::raw(format!("{label:<label_width$} ")),
                Span::styled("█".repeat(filled), style),
                Span::styled(
                    "░".repeat(bar_width.saturating_sub(filled)),
                    theme.style("text.dim"),
                ),
                Span::raw(format!(" {:>value_width$}", num(cell.mean))),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn disagreements(eval: &Eval, c: &Comparison, theme: &Theme, frame: &mut Frame, area: Rect) {
    let inner = framed(
        frame,
        area,
        "Items the runs disagree on most (Enter: answers)",
        false,
        theme,
    );
    if c.disagreements.is_empty() {
        notice(
            frame,
            inner,
            "The runs agree on every paired item.",
            theme.style("text.dim"),
        );
        return;
    }
    let rows = inner.height as usize;
    let first = super::window(eval.disagreement_cursor, rows);
    let values_width = c.runs.len() * 5;
    let question_width = (inner.width as usize).saturating_sub(values_width + 10);
    let lines: Vec<Line> = c
        .disagreements
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, d)| {
            let values: Vec<String> = d
                .values
                .iter()
                .map(|v| v.map_or("   - ".into(), |v| format!("{v:>4.2} ")))
                .collect();
            let question = head(&d.question, question_width);
            let line = format!(
                "{:<8} {:<question_width$} {}",
                safe(&d.item_key),
                question,
                values.join("")
            );
            let style = if i == eval.disagreement_cursor.selected {
                theme.style("selection")
            } else {
                theme.style("text")
            };
            Line::from(Span::styled(line, style))
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `text` on one line, cut to `width` characters behind a trailing `…` when longer.
pub(super) fn head(text: &str, width: usize) -> String {
    let text = safe(text);
    if text.chars().count() <= width {
        return text.into_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    if width > 0 {
        out.push('…');
    }
    out
}
