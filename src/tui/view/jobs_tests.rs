//! Jobs screen snapshots at 80x24 and 120x40 from fixture data (queue in several states,
//! GPUs or none, a job's detail with a chart and alerts, compare), and no panic at tiny
//! sizes.

use super::tests::{describe, draw};
use crate::tui::fixtures;
use crate::tui::fixtures_jobs as fx;
use crate::tui::state::jobs::{JobsView, Lower};
use crate::tui::state::{App, Confirm, Loadable, Overlay, Screen};
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

fn queue(gpus: crate::jobs::gpu::Inventory) -> App {
    let mut app = fixtures::app();
    app.screen = Screen::Jobs;
    app.jobs.queue = Loadable::Ready(fx::queue(gpus));
    app.jobs.marked = vec![1];
    app.jobs.cursor.selected = 2;
    app
}

fn detail() -> App {
    let mut app = queue(fx::no_gpu());
    app.jobs.view = JobsView::Detail;
    app.jobs.detail_job = Some(3);
    app.jobs.detail = Loadable::Ready(fx::detail());
    app.jobs.follow = true;
    app
}

#[test]
fn jobs_queue_without_gpu() {
    snapshot("jobs_queue_no_gpu", &mut queue(fx::no_gpu()));
}

#[test]
fn jobs_queue_with_gpus_filtered() {
    let mut app = queue(fx::two_gpus());
    app.jobs.text_filter = "lora".into();
    snapshot("jobs_queue_gpus", &mut app);
}

#[test]
fn jobs_detail_with_chart_and_alerts() {
    snapshot("jobs_detail", &mut detail());
    let mut app = detail();
    app.jobs.lower = Lower::Spec;
    app.jobs.follow = false;
    app.jobs.scroll = 3;
    snapshot("jobs_detail_spec", &mut app);
}

#[test]
fn jobs_compare() {
    let mut app = queue(fx::no_gpu());
    app.jobs.view = JobsView::Compare;
    app.jobs.marked = vec![1, 3];
    app.jobs.compare = Loadable::Ready(fx::compare());
    snapshot("jobs_compare", &mut app);
}

#[test]
fn jobs_cancel_confirmation() {
    let mut app = queue(fx::no_gpu());
    app.overlay = Some(Overlay::Confirm(Confirm::CancelJob {
        job: 3,
        label: "job 3 (lora-qwen-7b)".into(),
    }));
    snapshot("jobs_cancel_confirm", &mut app);
}

#[test]
fn jobs_views_survive_tiny_terminals() {
    let theme = Theme::load("dark", None, false).unwrap();
    let mut views = vec![queue(fx::two_gpus()), detail(), queue(fx::no_gpu())];
    views[2].jobs.view = JobsView::Compare;
    views[2].jobs.compare = Loadable::Ready(fx::compare());
    let mut spec = detail();
    spec.jobs.lower = Lower::Spec;
    views.push(spec);
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

#[test]
fn jobs_cluster_panel() {
    let mut app = queue(fx::two_gpus());
    app.jobs.show_cluster = true;
    app.jobs.cluster = Loadable::Ready(fx::cluster());
    snapshot("jobs_cluster", &mut app);
}

#[test]
fn jobs_cluster_panel_without_slurm() {
    let mut app = queue(fx::no_gpu());
    app.jobs.show_cluster = true;
    app.jobs.cluster = Loadable::Failed("no Slurm: sbatch not found".into());
    snapshot("jobs_cluster_no_slurm", &mut app);
    app.jobs.cluster = Loadable::Failed(
        "controller down: Unable to contact slurm controller (connect failure)".into(),
    );
    snapshot("jobs_cluster_down", &mut app);
    app.jobs.cluster = Loadable::Loading;
    snapshot("jobs_cluster_loading", &mut app);
}

#[test]
fn jobs_detail_of_a_pending_slurm_job() {
    let mut app = detail();
    let mut d = fx::detail();
    d.row = fx::row(4, "eval-sweep", "queued");
    d.row.backend = "slurm".into();
    d.row.slurm_id = Some("5020_1".into());
    d.row.wait_reason = Some("Slurm: Resources".into());
    app.jobs.detail_job = Some(4);
    app.jobs.detail = Loadable::Ready(d);
    snapshot("jobs_detail_slurm_pending", &mut app);
}
