//! The comparison's conclusions: the 2x2 block (each run's mean on the design's metric and
//! the RAG, fine-tune and interaction effects with their intervals) and the verdict with
//! the warnings, wrapped.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::eval_compare::{num, signed};
use super::{framed, notice, safe, text};
use crate::eval::compare::{Comparison, Effect, Factorial};
use crate::tui::theme::Theme;

pub(super) fn factorial_pane(c: &Comparison, theme: &Theme, frame: &mut Frame, area: Rect) {
    if area.height < 3 {
        return;
    }
    let Some(f) = &c.factorial else {
        let inner = framed(frame, area, "2x2", false, theme);
        notice(
            frame,
            inner,
            "The runs do not form base vs fine-tuned x RAG off vs on: no 2x2 effects.",
            theme.style("text.dim"),
        );
        return;
    };
    let inner = framed(
        frame,
        area,
        &format!("2x2 on {}", safe(&f.metric)),
        false,
        theme,
    );
    frame.render_widget(Paragraph::new(factorial_lines(c, f, theme)), inner);
}

fn factorial_lines<'a>(c: &Comparison, f: &Factorial, theme: &Theme) -> Vec<Line<'a>> {
    let row = c.metrics.iter().find(|m| m.metric == f.metric);
    let mean = |run: i64| {
        row.and_then(|m| m.cells.iter().find(|c| c.run == run))
            .map_or("-".into(), |c| num(c.mean))
    };
    let cell = |run: i64| format!("{:<12}", format!("#{run} {}", mean(run)));
    let effect = |name: &str, e: &Effect| {
        let significant = e.significant();
        let style = match (significant, e.estimate > 0.0) {
            (true, true) => theme.style("eval.better"),
            (true, false) => theme.style("eval.worse"),
            _ => theme.style("text"),
        };
        let mark = if significant { "*" } else { "" };
        Line::from(vec![
            Span::styled(format!("{name:<12} "), theme.style("title")),
            Span::styled(
                format!(
                    "{} [{}, {}]{mark}",
                    signed(e.estimate, 3),
                    signed(e.low, 3),
                    signed(e.high, 3)
                ),
                style,
            ),
        ])
    };
    vec![
        Line::from(Span::styled(
            format!("{:<13}{:<12}{}", "", "RAG off", "RAG on"),
            theme.style("title"),
        )),
        Line::from(vec![
            Span::styled(format!("{:<13}", "base"), theme.style("title")),
            Span::raw(cell(f.base_off)),
            Span::raw(cell(f.base_on)),
        ]),
        Line::from(vec![
            Span::styled(format!("{:<13}", "fine-tuned"), theme.style("title")),
            Span::raw(cell(f.tuned_off)),
            Span::raw(cell(f.tuned_on)),
        ]),
        effect("RAG", &f.rag),
        effect("fine-tune", &f.finetune),
        effect("interaction", &f.interaction),
    ]
}

pub(super) fn verdict(c: &Comparison, theme: &Theme, frame: &mut Frame, area: Rect) {
    let inner = framed(frame, area, "Verdict", false, theme);
    let width = inner.width.saturating_sub(2) as usize;
    let mut lines = Vec::new();
    let mut push = |text: &str, lead: &str, style| {
        for (i, l) in text::wrap(text, width).into_iter().enumerate() {
            let lead = if i == 0 { lead } else { "  " };
            lines.push(Line::from(Span::styled(format!("{lead}{l}"), style)));
        }
    };
    // The headline first, then what qualifies it (leakage, unpaired items, judge failures),
    // so a short terminal still shows both; then the other metrics, judges and costs.
    let (headline, rest) = c
        .verdict
        .split_first()
        .map_or((None, &[][..]), |(h, r)| (Some(h), r));
    if let Some(h) = headline {
        push(h, "• ", theme.style("text"));
    }
    for warning in &c.warnings {
        push(warning, "⚠ ", theme.style("status.error"));
    }
    for sentence in rest {
        push(sentence, "• ", theme.style("text"));
    }
    for r in &c.runs {
        if let Some(j) = &r.judge {
            push(
                &format!("run {} judged by {}", r.id, j.describe()),
                "· ",
                theme.style("text.dim"),
            );
        }
        if let Some(t) = r.cost_text() {
            push(
                &format!("run {} costs {t} per item", r.id),
                "· ",
                theme.style("text.dim"),
            );
        }
    }
    lines.push(Line::from(Span::styled(
        format!(
            "{} resamples, seed {} · * significant at 5 %",
            c.resamples, c.seed
        ),
        theme.style("text.dim"),
    )));
    frame.render_widget(Paragraph::new(lines), inner);
}
