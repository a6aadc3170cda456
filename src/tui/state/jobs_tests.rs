//! Jobs screen reducer tests: keys and replies in, state and effects out.

use super::jobs::{JobsView, StateFilter};
use super::*;
use crate::tui::fixtures;
use crate::tui::fixtures_jobs as fx;
use crate::tui::jobs_msg::{JobOp, JobsEffect, JobsReply, LogStream};

fn key(app: &mut App, c: char) -> Vec<Effect> {
    app.update(Msg::Key(Key::char(c)))
}

fn code(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Msg::Key(Key::plain(code)))
}

fn tick(app: &mut App, now_ms: u64) -> Vec<Effect> {
    app.update(Msg::Tick { now_ms })
}

fn queue_id(effects: &[Effect]) -> u64 {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Jobs(JobsEffect::LoadQueue { id }) => Some(*id),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no queue load in {effects:?}"))
}

/// The app on the jobs screen with the fixture queue loaded.
fn loaded() -> App {
    let mut app = fixtures::app();
    let effects = key(&mut app, '4');
    assert_eq!(app.screen, Screen::Jobs);
    let id = queue_id(&effects);
    app.update(Msg::reply(Reply::Jobs(JobsReply::Queue {
        id,
        result: Ok(fx::queue(fx::no_gpu())),
    })));
    app
}

fn select(app: &mut App, job: i64) {
    key(app, 'g');
    key(app, 'g');
    for _ in 0..app.jobs.visible().len() {
        if app.jobs.selected().map(|r| r.id) == Some(job) {
            return;
        }
        key(app, 'j');
    }
    assert_eq!(
        app.jobs.selected().map(|r| r.id),
        Some(job),
        "job {job} not shown"
    );
}

#[test]
fn the_queue_refreshes_about_once_a_second_only_while_shown() {
    let mut app = fixtures::app();
    assert!(tick(&mut app, 5_000).is_empty(), "not shown: no reads");
    app.clock_ms = 10_000;
    let first = key(&mut app, '4');
    let id = queue_id(&first);
    assert!(tick(&mut app, 10_400).is_empty(), "too soon");
    // No answer yet: no second read piles up behind the first.
    assert!(tick(&mut app, 11_100).is_empty());
    app.update(Msg::reply(Reply::Jobs(JobsReply::Queue {
        id,
        result: Ok(fx::queue(fx::no_gpu())),
    })));
    let next = tick(&mut app, 12_200);
    assert_ne!(queue_id(&next), id);
    // A read that never answers is given up on.
    assert!(!tick(&mut app, 30_000).is_empty());
    key(&mut app, '1');
    assert!(tick(&mut app, 60_000).is_empty(), "hidden again: no reads");
}

#[test]
fn stale_queue_replies_are_dropped_and_the_selection_follows_its_job() {
    let mut app = loaded();
    select(&mut app, 4);
    app.update(Msg::reply(Reply::Jobs(JobsReply::Queue {
        id: 9_999,
        result: Err("old".into()),
    })));
    assert!(app.toasts.is_empty(), "a stale reply says nothing");
    // A failing refresh keeps the queue shown, marked stale, and says so once.
    for _ in 0..2 {
        let id = queue_id(&app.jobs_refresh(true));
        app.update(Msg::reply(Reply::Jobs(JobsReply::Queue {
            id,
            result: Err("database is locked".into()),
        })));
    }
    assert_eq!(app.toasts.len(), 1);
    assert_eq!(app.jobs.visible().len(), 6);
    assert!(app.jobs.stale.is_some());
    let id = queue_id(&app.jobs_refresh(true));
    let mut q = fx::queue(fx::no_gpu());
    q.rows.remove(0); // job 1 cleaned: rows shift up
    app.update(Msg::reply(Reply::Jobs(JobsReply::Queue {
        id,
        result: Ok(q),
    })));
    assert_eq!(app.jobs.selected().map(|r| r.id), Some(4));
    assert!(app.jobs.stale.is_none());
}

#[test]
fn state_and_text_filters_narrow_the_table() {
    let mut app = loaded();
    assert_eq!(app.jobs.visible().len(), 6);
    key(&mut app, 'f');
    assert_eq!(app.jobs.state_filter, StateFilter::Active);
    let ids: Vec<i64> = app.jobs.visible().iter().map(|r| r.id).collect();
    assert_eq!(
        ids,
        vec![3, 4, 5],
        "running, queued and the paused running job"
    );
    key(&mut app, 'f');
    assert_eq!(app.jobs.visible().len(), 2, "running (paused included)");
    for _ in 0..4 {
        key(&mut app, 'f');
    }
    assert_eq!(app.jobs.state_filter, StateFilter::All);
    key(&mut app, '/');
    for c in "LORA".chars() {
        key(&mut app, c);
    }
    assert_eq!(
        app.jobs.visible().len(),
        2,
        "the filter applies as it is typed"
    );
    code(&mut app, KeyCode::Enter);
    assert!(app.jobs.editing.is_none());
    assert_eq!(app.jobs.text_filter, "LORA");
    code(&mut app, KeyCode::Esc);
    assert_eq!(app.jobs.visible().len(), 6, "Esc clears the filter");
}

#[test]
fn enter_opens_the_detail_and_the_log_stream_toggles() {
    let mut app = loaded();
    select(&mut app, 3);
    let effects = code(&mut app, KeyCode::Enter);
    assert_eq!(app.jobs.view, JobsView::Detail);
    let id = match effects.as_slice() {
        [Effect::Jobs(JobsEffect::LoadDetail {
            id,
            job: 3,
            stream: LogStream::Stdout,
        })] => *id,
        other => panic!("{other:?}"),
    };
    app.update(Msg::reply(Reply::Jobs(JobsReply::Detail {
        id,
        result: Ok(fx::detail()),
    })));
    assert!(app.jobs.detail.ready().is_some());
    let effects = key(&mut app, 'o');
    assert!(matches!(
        effects.as_slice(),
        [Effect::Jobs(JobsEffect::LoadDetail {
            job: 3,
            stream: LogStream::Stderr,
            ..
        })]
    ));
    key(&mut app, 'v');
    assert_eq!(app.jobs.chart.metric(), "eval_loss");
    code(&mut app, KeyCode::Esc);
    assert_eq!(app.jobs.view, JobsView::Queue);
}

#[test]
fn scrolling_up_stops_following_and_keeps_the_lines_in_place() {
    let mut app = loaded();
    select(&mut app, 3);
    let effects = code(&mut app, KeyCode::Enter);
    let Some(Effect::Jobs(JobsEffect::LoadDetail { id, .. })) = effects.first() else {
        panic!("{effects:?}");
    };
    app.update(Msg::reply(Reply::Jobs(JobsReply::Detail {
        id: *id,
        result: Ok(fx::detail()),
    })));
    assert!(app.jobs.follow);
    key(&mut app, 'k');
    key(&mut app, 'k');
    assert_eq!(app.jobs.scroll, 2);
    assert!(!app.jobs.follow);
    // A refresh with more lines: the view stays on the lines it had.
    let effects = app.jobs_refresh(true);
    let id = effects
        .iter()
        .find_map(|e| match e {
            Effect::Jobs(JobsEffect::LoadDetail { id, .. }) => Some(*id),
            _ => None,
        })
        .unwrap();
    let mut more = fx::detail();
    more.log.push("a new line".into());
    app.update(Msg::reply(Reply::Jobs(JobsReply::Detail {
        id,
        result: Ok(more),
    })));
    assert!(!app.jobs.log_lines().contains(&"a new line"));
    key(&mut app, 'G');
    assert!(app.jobs.follow);
    assert_eq!(app.jobs.scroll, 0);
    // Search narrows the tail.
    key(&mut app, '/');
    for c in "195".chars() {
        key(&mut app, c);
    }
    code(&mut app, KeyCode::Enter);
    assert_eq!(app.jobs.log_lines().len(), 1);
    code(&mut app, KeyCode::Esc);
    assert_eq!(
        app.jobs.view,
        JobsView::Detail,
        "Esc clears the search first"
    );
    assert!(app.jobs.search.is_empty());
}

#[test]
fn cancel_asks_first_then_runs_as_a_task() {
    let mut app = loaded();
    select(&mut app, 3);
    assert!(key(&mut app, 'c').is_empty());
    assert!(matches!(
        app.overlay,
        Some(Overlay::Confirm(Confirm::CancelJob { job: 3, .. }))
    ));
    // Anything but y keeps the overlay; n keeps the job.
    code(&mut app, KeyCode::Enter);
    assert!(app.overlay.is_some());
    key(&mut app, 'n');
    assert!(app.overlay.is_none());
    key(&mut app, 'c');
    let effects = key(&mut app, 'y');
    let task = match effects.as_slice() {
        [Effect::Jobs(JobsEffect::Control {
            task,
            job: 3,
            op: JobOp::Cancel,
        })] => *task,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        app.task_of(TaskKind::JobControl).map(|t| t.task),
        Some(task)
    );
    let effects = app.update(Msg::reply(Reply::Jobs(JobsReply::Controlled {
        job: 3,
        op: JobOp::Cancel,
        result: Err("job 3 is succeeded: only queued or running jobs can be cancelled".into()),
    })));
    assert!(app
        .toasts
        .last()
        .is_some_and(|t| t.error && t.text.contains("cancel of job 3 failed")));
    queue_id(&effects); // the queue reloads after any control action
}

#[test]
fn control_keys_check_the_state_first() {
    let mut app = loaded();
    select(&mut app, 1);
    assert!(key(&mut app, 'c').is_empty());
    assert!(app.overlay.is_none(), "an ended job cannot be cancelled");
    assert!(app.toasts.last().is_some_and(|t| t.error));
    assert!(key(&mut app, 'p').is_empty(), "only running jobs pause");
    assert!(matches!(
        key(&mut app, 'R').as_slice(),
        [Effect::Jobs(JobsEffect::Control {
            job: 1,
            op: JobOp::Retry,
            ..
        })]
    ));
    select(&mut app, 5);
    assert!(matches!(
        key(&mut app, 'p').as_slice(),
        [Effect::Jobs(JobsEffect::Control {
            job: 5,
            op: JobOp::Resume,
            ..
        })]
    ));
    select(&mut app, 3);
    assert!(matches!(
        key(&mut app, 'p').as_slice(),
        [Effect::Jobs(JobsEffect::Control {
            job: 3,
            op: JobOp::Pause,
            ..
        })]
    ));
    assert!(
        key(&mut app, 'R').is_empty(),
        "a running job is not retried"
    );
    // A failed run continues from its checkpoint; a queued one has nothing to continue.
    select(&mut app, 2);
    assert!(matches!(
        key(&mut app, 'p').as_slice(),
        [Effect::Jobs(JobsEffect::Control {
            job: 2,
            op: JobOp::Continue,
            ..
        })]
    ));
    select(&mut app, 4);
    assert!(key(&mut app, 'p').is_empty());
}

#[test]
fn compare_needs_two_marked_runs() {
    let mut app = loaded();
    select(&mut app, 1);
    key(&mut app, 'm');
    assert_eq!(app.jobs.selected().map(|r| r.id), Some(2), "m moves on");
    assert!(key(&mut app, 'C').is_empty());
    assert_eq!(app.jobs.view, JobsView::Queue);
    select(&mut app, 3);
    key(&mut app, 'm');
    let effects = key(&mut app, 'C');
    assert_eq!(app.jobs.view, JobsView::Compare);
    let id = match effects.as_slice() {
        [Effect::Jobs(JobsEffect::LoadCompare { id, jobs })] if jobs == &[1, 3] => *id,
        other => panic!("{other:?}"),
    };
    app.update(Msg::reply(Reply::Jobs(JobsReply::Compare {
        id,
        result: Ok(fx::compare()),
    })));
    assert!(app.jobs.compare.ready().is_some());
    select_back(&mut app);
    assert_eq!(app.jobs.view, JobsView::Queue);
}

fn select_back(app: &mut App) {
    code(app, KeyCode::Esc);
}

fn cluster_id(effects: &[Effect]) -> Option<u64> {
    effects.iter().find_map(|e| match e {
        Effect::Jobs(JobsEffect::LoadCluster { id }) => Some(*id),
        _ => None,
    })
}

#[test]
fn the_cluster_panel_loads_in_the_background_only_while_shown() {
    let mut app = loaded();
    app.clock_ms = 20_000;
    assert_eq!(
        cluster_id(&tick(&mut app, 21_000)),
        None,
        "hidden: no sinfo"
    );
    let first = key(&mut app, 'S');
    assert!(app.jobs.show_cluster);
    let id = cluster_id(&first).expect("S reads the cluster at once");
    assert!(matches!(app.jobs.cluster, Loadable::Loading));
    // One read out at a time, even when the queue refreshes.
    assert_eq!(cluster_id(&tick(&mut app, 22_100)), None);
    assert_eq!(
        cluster_id(&key(&mut app, 'S')),
        None,
        "hiding reads nothing"
    );
    key(&mut app, 'S');
    app.update(Msg::reply(Reply::Jobs(JobsReply::Cluster {
        id,
        result: Err("no Slurm: sbatch not found".into()),
    })));
    // No Slurm is the panel's state, not a toast on every refresh.
    assert_eq!(
        app.jobs.cluster,
        Loadable::Failed("no Slurm: sbatch not found".into())
    );
    assert!(app.toasts.is_empty(), "{:?}", app.toasts);
    let next = cluster_id(&tick(&mut app, 23_200)).expect("refreshed with the queue");
    assert_ne!(next, id);
    // A stale answer is dropped; the current one shows.
    app.update(Msg::reply(Reply::Jobs(JobsReply::Cluster {
        id,
        result: Ok(fx::cluster()),
    })));
    assert!(matches!(app.jobs.cluster, Loadable::Failed(_)));
    app.update(Msg::reply(Reply::Jobs(JobsReply::Cluster {
        id: next,
        result: Ok(fx::cluster()),
    })));
    assert_eq!(app.jobs.cluster.ready().map(|c| c.nodes.len()), Some(3));
    key(&mut app, '1');
    assert_eq!(cluster_id(&tick(&mut app, 60_000)), None, "screen hidden");
}
