//! Evaluation screen reducer tests: keys and replies in, state and effects out.

use super::eval::{EvalView, Focus};
use super::*;
use crate::tui::eval_msg::{EvalEffect, EvalReply};
use crate::tui::fixtures;
use crate::tui::fixtures_eval as fx;

fn key(app: &mut App, c: char) -> Vec<Effect> {
    app.update(Msg::Key(Key::char(c)))
}

fn code(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Msg::Key(Key::plain(code)))
}

fn reply(app: &mut App, reply: EvalReply) -> Vec<Effect> {
    app.update(Msg::reply(Reply::Eval(reply)))
}

fn evals(effects: &[Effect]) -> Vec<EvalEffect> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Eval(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

fn runs_load(effects: &[Effect]) -> Option<(u64, i64)> {
    evals(effects).into_iter().find_map(|e| match e {
        EvalEffect::LoadRuns { id, set } => Some((id, set)),
        _ => None,
    })
}

fn compare_request(effects: &[Effect]) -> (u64, Vec<i64>) {
    evals(effects)
        .into_iter()
        .find_map(|e| match e {
            EvalEffect::Compare { id, runs } => Some((id, runs)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no comparison in {effects:?}"))
}

/// The app on the evaluation screen with the fixture sets and runs loaded (set 1 selected).
fn loaded() -> App {
    let mut app = fixtures::app();
    let effects = key(&mut app, '5');
    assert_eq!(app.screen, Screen::Eval);
    let id = match evals(&effects).as_slice() {
        [EvalEffect::LoadSets { id }] => *id,
        other => panic!("expected the sets to load: {other:?}"),
    };
    let effects = reply(
        &mut app,
        EvalReply::Sets {
            id,
            result: Ok(fx::sets()),
        },
    );
    let (id, set) = runs_load(&effects).expect("the first set's runs load");
    assert_eq!(set, 1);
    reply(
        &mut app,
        EvalReply::Runs {
            id,
            result: Ok(fx::runs()),
        },
    );
    app
}

#[test]
fn runs_are_polled_only_while_one_is_active_and_the_screen_shown() {
    let mut app = loaded();
    assert!(app.eval.live() && app.wants_ticks());
    let first = app.update(Msg::Tick { now_ms: 5_000 });
    let (id, set) = runs_load(&first).expect("a live run is polled");
    assert_eq!(set, 1);
    assert!(
        app.update(Msg::Tick { now_ms: 5_400 }).is_empty(),
        "too soon"
    );
    assert!(
        app.update(Msg::Tick { now_ms: 6_500 }).is_empty(),
        "no second read behind the first"
    );
    let mut done = fx::runs();
    done[0].status = "succeeded".into();
    reply(
        &mut app,
        EvalReply::Runs {
            id,
            result: Ok(done),
        },
    );
    assert!(!app.eval.live() && !app.wants_ticks());
    assert!(app.update(Msg::Tick { now_ms: 9_000 }).is_empty());
    // Hidden: nothing is polled even with a live run.
    app.eval.runs = Loadable::Ready(fx::runs());
    key(&mut app, '1');
    assert!(app.update(Msg::Tick { now_ms: 20_000 }).is_empty());
}

#[test]
fn moving_to_another_set_loads_its_runs_and_forgets_the_marks() {
    let mut app = loaded();
    app.eval.marked = vec![1];
    let effects = key(&mut app, 'j');
    assert_eq!(runs_load(&effects).map(|(_, s)| s), Some(2));
    assert!(app.eval.marked.is_empty());
    assert_eq!(app.eval.runs, Loadable::Loading);
}

#[test]
fn space_marks_runs_in_order_and_c_compares_them() {
    let mut app = loaded();
    code(&mut app, KeyCode::Tab);
    assert_eq!(app.eval.focus, Focus::Runs);
    // Newest first: run 4, 3, 2, 1. Mark 3, then 1 (skipping 2), then unmark 3 and mark it again.
    key(&mut app, 'j');
    key(&mut app, ' ');
    key(&mut app, 'j');
    key(&mut app, ' ');
    assert_eq!(app.eval.marked, vec![3, 1]);
    key(&mut app, 'k');
    key(&mut app, 'k');
    key(&mut app, ' ');
    assert_eq!(app.eval.marked, vec![1], "Space again unmarks");
    key(&mut app, 'k');
    key(&mut app, ' ');
    assert_eq!(app.eval.marked, vec![1, 3]);
    let (_, runs) = compare_request(&key(&mut app, 'c'));
    assert_eq!(runs, vec![1, 3], "the first marked is the baseline");
    assert_eq!(app.eval.view, EvalView::Compare);
    assert_eq!(app.eval.compare, Loadable::Loading);
}

#[test]
fn c_without_marks_compares_every_run_oldest_first_and_needs_two() {
    let mut app = loaded();
    let (_, runs) = compare_request(&key(&mut app, 'c'));
    assert_eq!(runs, vec![1, 2, 3, 4]);
    code(&mut app, KeyCode::Esc);
    assert_eq!(app.eval.view, EvalView::Sets);
    app.eval.runs = Loadable::Ready(fx::runs()[..1].to_vec());
    assert!(key(&mut app, 'c').is_empty());
    assert_eq!(app.eval.view, EvalView::Sets);
    assert!(app
        .toasts
        .last()
        .is_some_and(|t| t.error && t.text.contains("two runs")));
}

#[test]
fn the_latest_comparison_wins() {
    let mut app = loaded();
    let (first, _) = compare_request(&key(&mut app, 'c'));
    let (second, _) = compare_request(&app.update(Msg::Key(Key::ctrl('r'))));
    assert_ne!(first, second);
    reply(
        &mut app,
        EvalReply::Compared {
            id: first,
            result: Err("stale".into()),
        },
    );
    assert_eq!(
        app.eval.compare,
        Loadable::Loading,
        "a stale answer is dropped"
    );
    reply(
        &mut app,
        EvalReply::Compared {
            id: second,
            result: Ok(fx::comparison()),
        },
    );
    assert!(app.eval.compare.ready().is_some());
    // m cycles the charted metric and wraps around.
    for expected in [1, 2, 3, 0] {
        key(&mut app, 'm');
        assert_eq!(app.eval.metric, expected);
    }
}

fn compared() -> App {
    let mut app = loaded();
    let (id, _) = compare_request(&key(&mut app, 'c'));
    reply(
        &mut app,
        EvalReply::Compared {
            id,
            result: Ok(fx::comparison()),
        },
    );
    app
}

#[test]
fn enter_on_a_disagreement_drills_down_and_esc_comes_back() {
    let mut app = compared();
    key(&mut app, 'j');
    let effects = code(&mut app, KeyCode::Enter);
    let (id, set, key_, runs) = evals(&effects)
        .into_iter()
        .find_map(|e| match e {
            EvalEffect::LoadItem { id, set, key, runs } => Some((id, set, key, runs)),
            _ => None,
        })
        .expect("the item loads");
    assert_eq!((set, key_.as_str(), runs), (1, "q42", vec![1, 2, 3, 4]));
    assert_eq!(app.eval.view, EvalView::Item);
    reply(
        &mut app,
        EvalReply::Item {
            id: id + 100,
            result: Err("stale".into()),
        },
    );
    assert_eq!(app.eval.item, Loadable::Loading);
    reply(
        &mut app,
        EvalReply::Item {
            id,
            result: Ok(fx::item_detail()),
        },
    );
    assert!(app.eval.item.ready().is_some());
    key(&mut app, 'j');
    assert_eq!(app.eval.item_scroll, 1);
    code(&mut app, KeyCode::Esc);
    assert_eq!(app.eval.view, EvalView::Compare);
    code(&mut app, KeyCode::Esc);
    assert_eq!(app.eval.view, EvalView::Sets);
}

#[test]
fn i_opens_the_question_in_the_inspector_and_esc_returns() {
    let mut app = compared();
    let effects = key(&mut app, 'i');
    assert_eq!(app.screen, Screen::Inspector);
    let search = effects.iter().find_map(|e| match e {
        Effect::Inspector(crate::tui::effect::InspectorEffect::Search {
            collection,
            query,
            ..
        }) => Some((collection.clone(), query.clone())),
        _ => None,
    });
    assert_eq!(
        search,
        Some((
            "handbook".to_string(),
            "How long is hot scratch storage kept?".to_string()
        ))
    );
    assert!(!app.inspector.editing, "the keys go to the results");
    code(&mut app, KeyCode::Esc);
    assert_eq!(app.screen, Screen::Eval);
    assert_eq!(app.eval.view, EvalView::Compare);
}

/// The items view of the drafted set (set 2).
fn items() -> App {
    let mut app = loaded();
    key(&mut app, 'j');
    let effects = code(&mut app, KeyCode::Enter);
    let id = evals(&effects)
        .into_iter()
        .find_map(|e| match e {
            EvalEffect::LoadItems { id, set: 2 } => Some(id),
            _ => None,
        })
        .expect("the items of set 2 load");
    assert_eq!(app.eval.view, EvalView::Items);
    reply(
        &mut app,
        EvalReply::Items {
            id,
            result: Ok(fx::items()),
        },
    );
    app
}

#[test]
fn marked_drafts_are_reviewed_together() {
    let mut app = items();
    // d1 and d2 are drafts; the third item is not and cannot be marked.
    key(&mut app, ' ');
    key(&mut app, ' ');
    assert_eq!(app.eval.marked_items, vec!["d1", "d2"]);
    assert!(key(&mut app, ' ').is_empty());
    assert!(app
        .toasts
        .last()
        .is_some_and(|t| t.error && t.text.contains("not a draft")));
    code(&mut app, KeyCode::Up);
    key(&mut app, ' ');
    assert_eq!(app.eval.marked_items, vec!["d1"], "Space again unmarks");
    key(&mut app, 'k');
    key(&mut app, ' ');
    assert_eq!(
        evals(&key(&mut app, 'r')),
        vec![EvalEffect::Review {
            set: 2,
            keys: vec!["d1".into(), "d2".into()],
            accept: false
        }]
    );
    assert!(app.eval.marked_items.is_empty(), "the marks are used up");
}

#[test]
fn a_and_r_review_drafted_items_through_the_writer() {
    let mut app = items();
    assert_eq!(
        evals(&key(&mut app, 'a')),
        vec![EvalEffect::Review {
            set: 2,
            keys: vec!["d1".into()],
            accept: true
        }]
    );
    key(&mut app, 'j');
    assert_eq!(
        evals(&key(&mut app, 'r')),
        vec![EvalEffect::Review {
            set: 2,
            keys: vec!["d2".into()],
            accept: false
        }]
    );
    // An accepted item is not reviewed again.
    key(&mut app, 'j');
    assert!(key(&mut app, 'a').is_empty());
    assert!(app
        .toasts
        .last()
        .is_some_and(|t| t.error && t.text.contains("not a draft")));
    // The change went through: a toast, and the sets and items reload.
    let effects = app.update(Msg::reply(Reply::Changed {
        message: "accepted item d1".into(),
    }));
    assert!(app
        .toasts
        .last()
        .is_some_and(|t| !t.error && t.text == "accepted item d1"));
    let reloads = evals(&effects);
    assert!(
        reloads
            .iter()
            .any(|e| matches!(e, EvalEffect::LoadSets { .. })),
        "{reloads:?}"
    );
    assert!(
        reloads
            .iter()
            .any(|e| matches!(e, EvalEffect::LoadItems { set: 2, .. })),
        "{reloads:?}"
    );
}

#[test]
fn the_eval_screen_has_a_palette_command_and_help_keys() {
    let spec = crate::tui::action::by_name("eval").expect(":eval");
    assert_eq!(spec.action, Action::Show(Screen::Eval));
    for name in [
        "mark-run",
        "compare-runs",
        "metric",
        "accept-item",
        "reject-item",
        "inspect-question",
    ] {
        let s = crate::tui::action::by_name(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(s.scope, Scope::Eval, "{name}");
    }
}
