//! One item across runs (the drill-down): the question, the gold answers, and each run's
//! answer with its metrics, latency and sources (`*` cited, `~` attributed by similarity).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::eval::field;
use super::{framed, notice, safe, text};
use crate::tui::eval_msg::{ItemDetail, RunAnswer};
use crate::tui::state::eval::Eval;
use crate::tui::state::Loadable;
use crate::tui::theme::Theme;

pub fn render(eval: &Eval, theme: &Theme, frame: &mut Frame, area: Rect) {
    let d = match &eval.item {
        Loadable::Ready(d) => d,
        Loadable::Failed(e) => {
            let inner = framed(frame, area, "Item  (Esc: back)", true, theme);
            let text = format!("Reading the item failed:\n{e}");
            notice(frame, inner, &text, theme.style("status.error"));
            return;
        }
        _ => {
            let inner = framed(frame, area, "Item  (Esc: back)", true, theme);
            notice(frame, inner, "Loading the item…", theme.style("text.dim"));
            return;
        }
    };
    let title = format!(
        "Item {} · {} runs  (i: inspector · ↑↓ scroll · Esc: back)",
        safe(&d.key),
        d.runs.len()
    );
    let inner = framed(frame, area, &title, true, theme);
    let lines = lines(d, inner.width.saturating_sub(2) as usize, theme);
    let max = lines.len().saturating_sub(inner.height as usize);
    let skip = eval.item_scroll.min(max);
    let shown: Vec<Line> = lines.into_iter().skip(skip).collect();
    frame.render_widget(Paragraph::new(shown), inner);
}

fn lines<'a>(d: &ItemDetail, width: usize, theme: &Theme) -> Vec<Line<'a>> {
    let mut out = Vec::new();
    for (i, l) in text::wrap(&d.question, width.saturating_sub(10))
        .into_iter()
        .enumerate()
    {
        if i == 0 {
            out.push(field("Question", l, theme));
        } else {
            out.push(Line::from(format!("          {l}")));
        }
    }
    let gold = if d.unanswerable || d.answers.is_empty() {
        "(unanswerable: the right answer is to abstain)".to_string()
    } else {
        let answers: Vec<String> = d.answers.iter().map(|a| safe(a).into_owned()).collect();
        answers.join(" | ")
    };
    out.push(field("Gold", gold, theme));
    out.push(Line::default());
    for run in &d.runs {
        out.extend(run_lines(run, width, theme));
        out.push(Line::default());
    }
    out.push(Line::from(Span::styled(
        "sources: * cited in the answer · ~ attributed by similarity",
        theme.style("text.dim"),
    )));
    out
}

fn run_lines<'a>(run: &RunAnswer, width: usize, theme: &Theme) -> Vec<Line<'a>> {
    let mut head = format!(
        "#{} {} · RAG {}",
        run.run,
        safe(&run.name),
        if run.rag { "on" } else { "off" }
    );
    for (name, value) in &run.metrics {
        head.push_str(&format!(" · {} {value:.3}", safe(name)));
    }
    if let Some(ms) = run.latency_ms {
        head.push_str(&format!(" · {ms:.0} ms"));
    }
    let mut out = vec![Line::from(Span::styled(head, theme.style("title")))];
    let indent = width.saturating_sub(2);
    match (&run.answer, &run.error) {
        (Some(answer), _) => {
            out.extend(
                text::wrap(answer, indent)
                    .into_iter()
                    .map(|l| Line::from(format!("  {l}"))),
            );
        }
        (None, Some(e)) => out.extend(
            text::wrap(&format!("failed: {e}"), indent)
                .into_iter()
                .map(|l| Line::from(Span::styled(format!("  {l}"), theme.style("status.error")))),
        ),
        (None, None) => out.push(Line::from(Span::styled(
            "  no result for this item yet",
            theme.style("text.dim"),
        ))),
    }
    for s in &run.sources {
        let marks = format!(
            "{}{}",
            if s.cited { "*" } else { " " },
            if s.attributed { "~" } else { " " }
        );
        let place = if s.heading_path.is_empty() {
            safe(&s.source_path).into_owned()
        } else {
            format!("{} › {}", safe(&s.source_path), safe(&s.heading_path))
        };
        let label = format!("  [{}]{marks} ", s.n);
        let room = width.saturating_sub(label.chars().count());
        let style = if s.cited {
            theme.style("eval.better")
        } else if s.attributed {
            theme.style("text")
        } else {
            theme.style("text.dim")
        };
        out.push(Line::from(vec![
            Span::styled(label, style),
            Span::raw(text::tail(&place, room)),
        ]));
    }
    out
}
