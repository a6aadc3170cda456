//! The evaluation screen: the sets over the selected set's runs (live progress, marks for
//! comparison), and a set's items (draft review). The comparison and the drill-down live in
//! `eval_compare` and `eval_item`.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table};
use ratatui::Frame;

use super::{framed, notice, safe};
use crate::tui::eval_msg::{ItemRow, RunRow, SetRow};
use crate::tui::state::eval::{Eval, EvalView, Focus};
use crate::tui::state::{App, Loadable};
use crate::tui::theme::Theme;

pub fn render(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let eval = &app.eval;
    match eval.view {
        EvalView::Sets => sets_view(eval, theme, frame, area),
        EvalView::Compare => super::eval_compare::render(eval, theme, frame, area),
        EvalView::Items => items_view(eval, theme, frame, area),
        EvalView::Item => super::eval_item::render(eval, theme, frame, area),
    }
}

/// A pane's loading or failure notice, or None when its data is ready.
pub(super) fn pending<T>(
    data: &Loadable<T>,
    what: &str,
    theme: &Theme,
    frame: &mut Frame,
    inner: Rect,
) -> bool {
    match data {
        Loadable::Ready(_) => false,
        Loadable::Failed(e) => {
            notice(
                frame,
                inner,
                &format!("Reading {what} failed:\n{e}"),
                theme.style("status.error"),
            );
            true
        }
        Loadable::Idle | Loadable::Loading => {
            notice(
                frame,
                inner,
                &format!("Loading {what}…"),
                theme.style("text.dim"),
            );
            true
        }
    }
}

fn sets_view(eval: &Eval, theme: &Theme, frame: &mut Frame, area: Rect) {
    let count = eval.sets.ready().map_or(1, Vec::len) as u16;
    let sets_height = (count + 3).clamp(4, (area.height / 3).max(4));
    let [sets_area, runs_area] =
        Layout::vertical([Constraint::Length(sets_height), Constraint::Min(3)]).areas(area);
    sets_pane(eval, theme, frame, sets_area);
    runs_pane(eval, theme, frame, runs_area);
}

fn sets_pane(eval: &Eval, theme: &Theme, frame: &mut Frame, area: Rect) {
    let title = match eval.sets.ready() {
        Some(sets) => format!("Evaluation sets ({})", sets.len()),
        None => "Evaluation sets".into(),
    };
    let inner = framed(frame, area, &title, eval.focus == Focus::Sets, theme);
    if pending(&eval.sets, "the evaluation sets", theme, frame, inner) {
        return;
    }
    let sets = eval.sets.ready().map_or(&[][..], Vec::as_slice);
    if sets.is_empty() {
        notice(
            frame,
            inner,
            "No evaluation sets yet. Import one with `lmdeck eval sets import FILE` (or draft one with `lmdeck eval draft`).",
            theme.style("text.dim"),
        );
        return;
    }
    let rows = inner.height.saturating_sub(1) as usize;
    let first = super::window(eval.set_cursor, rows);
    let body = sets
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, s)| {
            let row = set_row(s, theme);
            if i == eval.set_cursor.selected {
                row.style(theme.style("selection"))
            } else {
                row
            }
        });
    let header =
        Row::new(["name", "items", "drafts", "status", "collection"]).style(theme.style("title"));
    let widths = [
        Constraint::Fill(2),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Length(9),
        Constraint::Fill(1),
    ];
    frame.render_widget(Table::new(body, widths).header(header), inner);
}

fn set_row<'a>(s: &SetRow, theme: &Theme) -> Row<'a> {
    let drafts = if s.drafts > 0 {
        Span::styled(s.drafts.to_string(), theme.style("eval.draft"))
    } else {
        Span::raw("-")
    };
    Row::new(vec![
        Span::raw(safe(&s.name).into_owned()),
        Span::raw(format!("{:>5}", s.items)),
        drafts,
        Span::styled(
            s.status.clone(),
            if s.status == "draft" {
                theme.style("eval.draft")
            } else {
                theme.style("text")
            },
        ),
        Span::raw(safe(s.collection.as_deref().unwrap_or("-")).into_owned()),
    ])
}

fn runs_pane(eval: &Eval, theme: &Theme, frame: &mut Frame, area: Rect) {
    let set = eval.selected_set();
    let mut title = match set {
        Some(s) => format!("Runs of {}", safe(&s.name)),
        None => "Runs".into(),
    };
    if !eval.marked.is_empty() {
        title.push_str(&format!(" · {} marked (c compares)", eval.marked.len()));
    }
    if eval.live() {
        title.push_str(" · live");
    }
    let inner = framed(frame, area, &title, eval.focus == Focus::Runs, theme);
    let [list_area, hint_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    frame.render_widget(
        Paragraph::new(Span::styled(
            "Tab sets/runs · Space mark · c compare · Enter items · Ctrl+R reload",
            theme.style("text.dim"),
        )),
        hint_area,
    );
    let Some(set) = set else {
        return;
    };
    if pending(&eval.runs, "the runs", theme, frame, list_area) {
        return;
    }
    let runs = eval.run_rows();
    if runs.is_empty() {
        let text = format!(
            "No runs of {} yet. Start some with `lmdeck eval run --set {} --config default --matrix rag=on,off`.",
            safe(&set.name),
            safe(&set.name)
        );
        notice(frame, list_area, &text, theme.style("text.dim"));
        return;
    }
    let rows = list_area.height.saturating_sub(1) as usize;
    let first = super::window(eval.run_cursor, rows);
    let body = runs
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, r)| {
            let marked = eval.marked.iter().position(|m| *m == r.id);
            let row = run_row(r, marked, theme);
            if i == eval.run_cursor.selected && eval.focus == Focus::Runs {
                row.style(theme.style("selection"))
            } else {
                row
            }
        });
    let header = Row::new(["   id", "name", "model", "RAG", "status", "progress", "F1"])
        .style(theme.style("title"));
    let widths = [
        Constraint::Length(6),
        Constraint::Fill(1),
        Constraint::Fill(1),
        Constraint::Length(3),
        Constraint::Length(9),
        Constraint::Length(20),
        Constraint::Length(5),
    ];
    frame.render_widget(Table::new(body, widths).header(header), list_area);
}

pub(super) fn run_status_style(status: &str, theme: &Theme) -> Style {
    match status {
        "running" | "queued" => theme.style("status.running"),
        "failed" => theme.style("status.error"),
        _ => theme.style("text"),
    }
}

/// `▕███░░░▏ 57/120 ✗2`: items done of the run's total, and how many failed.
fn progress(r: &RunRow) -> String {
    let done = (r.done + r.failed).max(0) as u64;
    let mut text = format!(
        "{} {}/{}",
        super::gauge(done, r.total.max(0) as u64, 6),
        r.done,
        r.total
    );
    if r.failed > 0 {
        text.push_str(&format!(" ✗{}", r.failed));
    }
    text
}

/// A model given as a folder (a fine-tune's checkpoint evaluation) by its last two parts,
/// `ftval-a/eval-300` for `/root/.local/share/lmdeck/models/ftval-a.checkpoints/eval-300/model`
/// (the `model` folder of a checkpoint's export says nothing): the column is narrow, and the
/// start of an absolute path is the same for every run.
fn model_label(model: &str) -> String {
    if !model.contains('/') {
        return model.to_string();
    }
    let mut parts: Vec<&str> = model.split('/').filter(|p| !p.is_empty()).collect();
    if parts.len() > 2 && parts.last() == Some(&"model") {
        parts.pop();
    }
    match parts.as_slice() {
        [.., parent, last] => format!("{}/{last}", parent.trim_end_matches(".checkpoints")),
        _ => model.to_string(),
    }
}

fn run_row<'a>(r: &RunRow, marked: Option<usize>, theme: &Theme) -> Row<'a> {
    // The baseline (first marked) shows as B, the others by their order.
    let mark = match marked {
        Some(0) => "B".to_string(),
        Some(i) => (i + 1).to_string(),
        None => " ".into(),
    };
    Row::new(vec![
        Span::raw(format!("{mark}{:>4}", r.id)),
        Span::raw(safe(&r.name).into_owned()),
        Span::raw(safe(&model_label(&r.model)).into_owned()),
        Span::raw(if r.rag { "on" } else { "off" }),
        Span::styled(r.status.clone(), run_status_style(&r.status, theme)),
        Span::raw(progress(r)),
        Span::raw(r.mean_f1.map_or_else(|| "-".into(), |f| format!("{f:.2}"))),
    ])
}

fn items_view(eval: &Eval, theme: &Theme, frame: &mut Frame, area: Rect) {
    let name = eval
        .selected_set()
        .map_or("?".into(), |s| safe(&s.name).into_owned());
    let items = eval.item_rows();
    let drafts = items.iter().filter(|i| i.draft).count();
    let title = if eval.items.ready().is_some() {
        format!(
            "Items of {name} · {} items, {drafts} drafts  (Esc: sets)",
            items.len()
        )
    } else {
        format!("Items of {name}  (Esc: sets)")
    };
    let inner = framed(frame, area, &title, true, theme);
    let [list_area, hint_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let hint = if drafts > 0 {
        "a accept · r reject (Space marks drafts) · Enter answers · i inspector"
    } else {
        "Enter answers of the runs · i open the question in the inspector"
    };
    frame.render_widget(
        Paragraph::new(Span::styled(hint, theme.style("text.dim"))),
        hint_area,
    );
    if pending(&eval.items, "the items", theme, frame, list_area) {
        return;
    }
    if items.is_empty() {
        notice(
            frame,
            list_area,
            "The set has no items.",
            theme.style("text.dim"),
        );
        return;
    }
    let rows = list_area.height.saturating_sub(1) as usize;
    let first = super::window(eval.item_cursor, rows);
    let body = items
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, item)| {
            let marked = eval.marked_items.contains(&item.key);
            let row = item_row(item, marked, theme);
            if i == eval.item_cursor.selected {
                row.style(theme.style("selection"))
            } else {
                row
            }
        });
    let header =
        Row::new(["key", "status", "question", "gold answers"]).style(theme.style("title"));
    let widths = [
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Fill(3),
        Constraint::Fill(2),
    ];
    frame.render_widget(Table::new(body, widths).header(header), list_area);
}

fn item_row<'a>(item: &ItemRow, marked: bool, theme: &Theme) -> Row<'a> {
    let (status, style) = match (item.draft, item.unanswerable) {
        (true, _) => ("draft", theme.style("eval.draft")),
        (false, true) => ("no answer", theme.style("text.dim")),
        (false, false) => ("accepted", theme.style("text")),
    };
    let answers: Vec<String> = item.answers.iter().map(|a| safe(a).into_owned()).collect();
    let key = if marked {
        format!("✓{}", safe(&item.key))
    } else {
        safe(&item.key).into_owned()
    };
    Row::new(vec![
        Span::raw(key),
        Span::styled(status, style),
        Span::raw(safe(&item.question).into_owned()),
        Span::raw(answers.join(" | ")),
    ])
}

/// `Line`s of a label and its value, the label styled as a title.
pub(super) fn field<'a>(label: &str, value: String, theme: &Theme) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{label}: "), theme.style("title")),
        Span::raw(value),
    ])
}

#[cfg(test)]
mod tests {
    use super::model_label;

    #[test]
    fn a_model_folder_shows_by_its_last_two_parts() {
        assert_eq!(
            model_label("/root/.local/share/lmdeck/models/ftval-a.checkpoints/eval-300/model"),
            "ftval-a/eval-300"
        );
        assert_eq!(model_label("/data/ft.checkpoints/eval-5"), "ft/eval-5");
        assert_eq!(model_label("models/my-ft/"), "models/my-ft");
        assert_eq!(
            model_label("smollm2-135m-instruct"),
            "smollm2-135m-instruct"
        );
        assert_eq!(model_label("/only"), "/only");
    }
}
