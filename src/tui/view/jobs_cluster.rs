//! The jobs screen's Slurm cluster panel (`S`): partitions and nodes (state, CPUs, GPUs
//! free of total) and the user's other Slurm jobs, read-only; or why there is no cluster.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{framed, notice, safe};
use crate::tui::jobs_msg::ClusterView;
use crate::tui::state::jobs::Jobs;
use crate::tui::state::Loadable;
use crate::tui::theme::Theme;

pub fn panel(jobs: &Jobs, theme: &Theme, frame: &mut Frame, area: Rect) {
    let inner = framed(frame, area, "Slurm cluster (S hides)", false, theme);
    match &jobs.cluster {
        Loadable::Ready(c) => {
            frame.render_widget(Paragraph::new(lines(c, theme)), inner);
        }
        Loadable::Failed(why) => {
            // Not an error of the console: the panel says what is missing, once.
            notice(frame, inner, why, theme.style("text.dim"));
        }
        Loadable::Idle | Loadable::Loading => {
            notice(
                frame,
                inner,
                "Reading sinfo and squeue…",
                theme.style("text.dim"),
            );
        }
    }
}

fn lines<'a>(c: &ClusterView, theme: &Theme) -> Vec<Line<'a>> {
    let title = theme.style("title");
    let mut out = Vec::new();
    for p in &c.partitions {
        let states: Vec<String> = p.states.iter().map(|(s, n)| format!("{s} {n}")).collect();
        out.push(Line::from(format!(
            "partition {}: {} node{} ({}) · GPUs {}/{} free",
            safe(&p.name),
            p.nodes,
            if p.nodes == 1 { "" } else { "s" },
            safe(&states.join(", ")),
            p.gpus_free,
            p.gpus_total
        )));
    }
    out.push(Line::from(Span::styled(
        format!(
            "{:<12} {:<12} {:>9} {:>10}  partitions",
            "node", "state", "CPUs used", "GPUs free"
        ),
        title,
    )));
    if c.nodes.is_empty() {
        out.push(Line::from(Span::styled(
            "no nodes",
            theme.style("text.dim"),
        )));
    }
    for n in &c.nodes {
        out.push(Line::from(format!(
            "{:<12} {:<12} {:>9} {:>10}  {}",
            cut(&n.name, 12),
            safe(&n.state),
            format!("{}/{}", n.cpus_alloc, n.cpus_total),
            format!("{}/{}", n.gpus_free(), n.gpus_total),
            safe(&n.partitions.join(","))
        )));
    }
    let whose = c
        .user
        .as_deref()
        .map_or_else(|| "every user".to_string(), |u| safe(u).into_owned());
    if c.others.is_empty() {
        out.push(Line::from(Span::styled(
            format!("other Slurm jobs of {whose}: none"),
            theme.style("text.dim"),
        )));
        return out;
    }
    out.push(Line::from(Span::styled(
        format!(
            "other Slurm jobs of {whose} ({}): id, name, state, reason, partition",
            c.others.len()
        ),
        title,
    )));
    for j in &c.others {
        out.push(Line::from(format!(
            "{:<10} {:<16} {:<10} {:<12} {}",
            j.id(),
            cut(&j.name, 16),
            safe(&j.state.to_lowercase()),
            if j.reason.is_empty() {
                "-".into()
            } else {
                safe(&j.reason)
            },
            safe(&j.partition)
        )));
    }
    out
}

/// At most `n` characters, so the columns stay in line.
fn cut(text: &str, n: usize) -> String {
    safe(text).chars().take(n).collect()
}
