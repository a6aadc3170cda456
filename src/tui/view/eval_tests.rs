//! Evaluation screen snapshots at 80x24 and 120x40 from fixture data (no sets, sets with runs
//! one of which runs, a comparison with the 2x2 block, a failed comparison, the items of a
//! drafted set, one item across runs), and no panic at tiny sizes.

use super::tests::{describe, draw};
use crate::tui::fixtures;
use crate::tui::fixtures_eval as fx;
use crate::tui::state::eval::{EvalView, Focus};
use crate::tui::state::{App, Loadable, Screen};
use crate::tui::theme::Theme;

fn snapshot(name: &str, app: &mut App) {
    for (w, h) in [(80, 24), (120, 40)] {
        app.size = (w, h);
        for theme_name in ["dark", "high-contrast"] {
            let theme = Theme::load(theme_name, None, false).unwrap();
            let shown = describe(&draw(app, &theme), &theme);
            insta::assert_snapshot!(format!("{name}_{w}x{h}@{theme_name}"), shown);
        }
    }
}

fn runs() -> App {
    let mut app = fixtures::app();
    app.screen = Screen::Eval;
    app.eval.sets = Loadable::Ready(fx::sets());
    app.eval.runs_of = Some(1);
    app.eval.runs = Loadable::Ready(fx::runs());
    app.eval.focus = Focus::Runs;
    app.eval.run_cursor.selected = 1;
    app.eval.marked = vec![1, 2];
    app
}

fn compare() -> App {
    let mut app = runs();
    app.eval.view = EvalView::Compare;
    app.eval.compared = vec![1, 2, 3, 4];
    app.eval.compare = Loadable::Ready(fx::comparison());
    app
}

fn item() -> App {
    let mut app = compare();
    app.eval.view = EvalView::Item;
    app.eval.item_back = EvalView::Compare;
    app.eval.item = Loadable::Ready(fx::item_detail());
    app
}

fn items() -> App {
    let mut app = runs();
    app.eval.set_cursor.selected = 1;
    app.eval.runs_of = Some(2);
    app.eval.runs = Loadable::Ready(Vec::new());
    app.eval.view = EvalView::Items;
    app.eval.items = Loadable::Ready(fx::items());
    app
}

#[test]
fn eval_without_sets_says_how_to_add_one() {
    let mut app = fixtures::app();
    app.screen = Screen::Eval;
    app.eval.sets = Loadable::Ready(Vec::new());
    snapshot("eval_empty", &mut app);
}

#[test]
fn eval_sets_and_runs_with_one_running() {
    snapshot("eval_runs", &mut runs());
}

#[test]
fn eval_comparison_with_factorial() {
    snapshot("eval_compare", &mut compare());
}

#[test]
fn eval_comparison_failed() {
    let mut app = compare();
    app.eval.compare =
        Loadable::Failed("run 4 has no results yet; wait for it or `lmdeck eval retry 4`".into());
    snapshot("eval_compare_failed", &mut app);
}

#[test]
fn eval_item_across_runs() {
    snapshot("eval_item", &mut item());
}

#[test]
fn eval_items_of_a_drafted_set() {
    snapshot("eval_items", &mut items());
}

#[test]
fn eval_views_survive_tiny_terminals() {
    let theme = Theme::load("dark", None, false).unwrap();
    let mut loading = runs();
    loading.eval.runs = Loadable::Loading;
    let mut verdict = compare();
    verdict.eval.lower = crate::tui::state::eval::Lower::Verdict;
    let mut views = vec![runs(), compare(), item(), items(), loading, verdict];
    for app in &mut views {
        for (w, h) in [
            (1, 1),
            (2, 3),
            (10, 5),
            (20, 8),
            (40, 10),
            (79, 12),
            (119, 6),
            (200, 50),
        ] {
            app.size = (w, h);
            draw(app, &theme); // must not panic
        }
    }
}
