//! A job's detail (progress, alerts, a chart chosen with `v`, the log tail and the frozen
//! spec) and the compare view (the marked runs' loss on one chart, their spec differences).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Wrap};
use ratatui::Frame;

use super::jobs::{progress, status, status_style};
use super::{framed, notice, safe};
use crate::jobs::derive::human_duration;
use crate::tui::jobs_msg::{thin, CompareView, JobDetail, JobRow};
use crate::tui::state::jobs::{Editing, Jobs, Lower};
use crate::tui::state::Loadable;
use crate::tui::theme::Theme;

/// Wide enough to show the log and the spec side by side with the chart.
const WIDE: u16 = 120;
/// Line styles of the compared runs, in mark order.
const RUN_STYLES: [&str; 5] = [
    "chart.loss",
    "score.vector",
    "score.keyword",
    "status.running",
    "status.error",
];

pub fn detail(jobs: &Jobs, theme: &Theme, frame: &mut Frame, area: Rect) {
    let d = match &jobs.detail {
        Loadable::Ready(d) => d,
        Loadable::Failed(e) => {
            let inner = framed(frame, area, "Job", true, theme);
            let text = format!("Reading the job failed:\n{e}\n\nEsc: back to the queue");
            notice(frame, inner, &text, theme.style("status.error"));
            return;
        }
        _ => {
            let inner = framed(frame, area, "Job", true, theme);
            notice(frame, inner, "Loading the job…", theme.style("text.dim"));
            return;
        }
    };
    let title = format!(
        "Job #{} {}{}  (Esc: queue)",
        d.row.id,
        d.row.name,
        backend(&d.row)
    );
    let inner = framed(frame, area, &title, true, theme);
    let [head, body] = Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(inner);
    summary(d, theme, frame, head);
    if body.height < 3 {
        return;
    }
    if area.width >= WIDE {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(body);
        let [chart_area, spec_area] =
            Layout::vertical([Constraint::Percentage(60), Constraint::Min(3)]).areas(right);
        log(jobs, d, theme, frame, left);
        chart(jobs, d, theme, frame, chart_area);
        spec(d, theme, frame, spec_area);
    } else {
        let [chart_area, lower] =
            Layout::vertical([Constraint::Percentage(45), Constraint::Min(3)]).areas(body);
        chart(jobs, d, theme, frame, chart_area);
        match jobs.lower {
            Lower::Log => log(jobs, d, theme, frame, lower),
            Lower::Spec => spec(d, theme, frame, lower),
        }
    }
}

/// Where the job runs, when not here: " · slurm job 123".
fn backend(r: &JobRow) -> String {
    match (r.slurm_id.as_deref(), r.backend.as_str()) {
        (Some(id), b) => format!(" · {} job {}", safe(b), safe(id)),
        (None, "local" | "") => String::new(),
        (None, b) => format!(" · {}", safe(b)),
    }
}

fn summary(d: &JobDetail, theme: &Theme, frame: &mut Frame, area: Rect) {
    let r = &d.row;
    let steps = match (d.step, d.total) {
        (Some(s), Some(t)) => format!("step {s}/{t}"),
        (Some(s), None) => format!("step {s}"),
        _ => "no progress yet".into(),
    };
    let mut first = vec![
        Span::styled(status(r), status_style(r, theme)),
        Span::raw(format!("  {}  {steps}", progress(r.fraction, 12))),
    ];
    if let Some(why) = r.wait_reason.as_deref().filter(|_| !r.ended) {
        // For a Slurm job, Slurm's pending reason: Resources, Priority, Dependency, ...
        first.push(Span::styled(
            format!("  waiting: {}", safe(why)),
            theme.style("status.excluded"),
        ));
    }
    if let Some(eta) = r.eta_s {
        first.push(Span::raw(format!("  ETA {}", human_duration(eta))));
    }
    if let Some(t) = d.throughput.filter(|t| t.is_finite()) {
        first.push(Span::raw(format!("  {t:.2} steps/s")));
    }
    let alerts = if d.alerts.is_empty() {
        Line::from(Span::styled("no alerts", theme.style("text.dim")))
    } else {
        let text: Vec<String> = d.alerts.iter().map(|a| safe(a).into_owned()).collect();
        Line::from(Span::styled(
            format!("⚠ {}", text.join(" · ")),
            theme.style("status.error"),
        ))
    };
    let keys = Line::from(Span::styled(
        "v chart · o stdout/stderr · F follow · / search · Tab log/spec · c cancel · p pause · R retry",
        theme.style("text.dim"),
    ));
    frame.render_widget(Paragraph::new(vec![Line::from(first), alerts, keys]), area);
}

fn log(jobs: &Jobs, d: &JobDetail, theme: &Theme, frame: &mut Frame, area: Rect) {
    let lines = jobs.log_lines();
    let mut title = format!(
        "{} · {} · last {} lines of {} KiB",
        d.stream.name(),
        if jobs.follow {
            "following"
        } else {
            "paused (F follows)"
        },
        d.log.len(),
        d.log_bytes.div_ceil(1024)
    );
    if !jobs.search.is_empty() {
        title.push_str(&format!(
            " · search `{}`: {} lines",
            safe(&jobs.search),
            lines.len()
        ));
    }
    let inner = framed(frame, area, &title, false, theme);
    let editing = matches!(jobs.editing, Some((Editing::Search, _)));
    let [text_area, input_area] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(u16::from(editing))]).areas(inner);
    if let Some((Editing::Search, input)) = &jobs.editing {
        let line = Line::from(vec![
            Span::styled("/", theme.style("title")),
            Span::raw(safe(&input.text).into_owned()),
            Span::styled("█  Enter keeps · Esc clears", theme.style("text.dim")),
        ]);
        frame.render_widget(Paragraph::new(line), input_area);
    }
    if let Some(e) = &d.log_error {
        notice(frame, text_area, e, theme.style("text.dim"));
        return;
    }
    let rows = text_area.height as usize;
    let end = lines.len().saturating_sub(jobs.scroll);
    let start = end.saturating_sub(rows);
    let shown: Vec<Line> = lines[start..end]
        .iter()
        .map(|l| {
            let style = if !jobs.search.is_empty() {
                theme.style("highlight.match")
            } else {
                theme.style("text")
            };
            Line::from(Span::styled(safe(l).into_owned(), style))
        })
        .collect();
    frame.render_widget(Paragraph::new(shown), text_area);
}

fn spec(d: &JobDetail, theme: &Theme, frame: &mut Frame, area: Rect) {
    let inner = framed(frame, area, "Frozen spec (env redacted)", false, theme);
    let lines: Vec<Line> = d
        .spec
        .iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!("{}: ", safe(k)), theme.style("title")),
                Span::raw(safe(v).into_owned()),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn chart(jobs: &Jobs, d: &JobDetail, theme: &Theme, frame: &mut Frame, area: Rect) {
    let metric = jobs.chart.metric();
    let names: Vec<&str> = crate::tui::state::jobs::Chart::ALL
        .iter()
        .map(|c| c.title())
        .collect();
    let title = format!("{} (v: {})", jobs.chart.title(), names.join(" → "));
    let points = d.series.get(metric).map(Vec::as_slice).unwrap_or_default();
    let runs = [(jobs.chart.title().to_string(), points)];
    plot(&title, &runs, theme, frame, area);
}

/// One chart of one or more series, each thinned to the chart's width.
fn plot(
    title: &str,
    runs: &[(String, &[(f64, f64)])],
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let inner_width = area.width.saturating_sub(10).max(2) as usize;
    let finite: Vec<Vec<(f64, f64)>> = runs
        .iter()
        .map(|(_, pts)| {
            let ok: Vec<(f64, f64)> = pts
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            thin(&ok, inner_width * 2)
        })
        .collect();
    let all = finite.iter().flatten();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        let inner = framed(frame, area, title, false, theme);
        notice(frame, inner, "nothing logged yet", theme.style("text.dim"));
        return;
    }
    if (x1 - x0).abs() < f64::EPSILON {
        x1 = x0 + 1.0;
    }
    let pad = ((y1 - y0) * 0.05).max(y1.abs() * 1e-3).max(1e-12);
    (y0, y1) = (y0 - pad, y1 + pad);
    let datasets: Vec<Dataset> = runs
        .iter()
        .zip(&finite)
        .enumerate()
        .map(|(i, ((name, _), pts))| {
            Dataset::default()
                .name(safe(name).into_owned())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.style(RUN_STYLES[i % RUN_STYLES.len()]))
                .data(pts)
        })
        .collect();
    let label = |v: f64| Span::raw(short(v));
    let axis_style: Style = theme.style("chart");
    let one = runs.len() < 2;
    let chart = Chart::new(datasets)
        .block(super::block(title, false, theme))
        .x_axis(
            Axis::default()
                .style(axis_style)
                .bounds([x0, x1])
                .labels([label(x0), label(x1)]),
        )
        .y_axis(
            Axis::default()
                .style(axis_style)
                .bounds([y0, y1])
                .labels([label(y0), label(y1)]),
        )
        .hidden_legend_constraints((Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)));
    // One series is named by the title; a legend would only hide the curve.
    let chart = if one {
        chart.legend_position(None)
    } else {
        chart
    };
    frame.render_widget(chart, area);
}

/// A number in at most about 8 characters.
fn short(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{v:.1e}")
    } else if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

pub fn compare(jobs: &Jobs, theme: &Theme, frame: &mut Frame, area: Rect) {
    let c: &CompareView = match &jobs.compare {
        Loadable::Ready(c) => c,
        Loadable::Failed(e) => {
            let inner = framed(frame, area, "Compare", true, theme);
            notice(
                frame,
                inner,
                &format!("Compare failed:\n{e}"),
                theme.style("status.error"),
            );
            return;
        }
        _ => {
            let inner = framed(frame, area, "Compare", true, theme);
            notice(frame, inner, "Loading the runs…", theme.style("text.dim"));
            return;
        }
    };
    let [chart_area, diff_area] = if area.width >= WIDE {
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(area)
    } else {
        Layout::vertical([Constraint::Percentage(55), Constraint::Min(3)]).areas(area)
    };
    let runs: Vec<(String, &[(f64, f64)])> = c
        .runs
        .iter()
        .map(|(id, name, pts)| (format!("#{id} {name}"), pts.as_slice()))
        .collect();
    plot(
        "Loss of the marked runs  (Esc: queue)",
        &runs,
        theme,
        frame,
        chart_area,
    );
    let inner = framed(frame, diff_area, "Spec differences", false, theme);
    let mut lines: Vec<Line> = c
        .runs
        .iter()
        .enumerate()
        .map(|(i, (id, name, pts))| {
            Line::from(Span::styled(
                format!("■ #{id} {} ({} points)", safe(name), pts.len()),
                theme.style(RUN_STYLES[i % RUN_STYLES.len()]),
            ))
        })
        .collect();
    lines.push(Line::default());
    lines.extend(c.diff.iter().map(|l| Line::from(safe(l).into_owned())));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
