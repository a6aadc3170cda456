//! Part of `lmdeck bench console`: the jobs screen's frame cost with a 10,000-job queue at
//! 200x60 (only the visible rows become widgets, but the state filter runs over every job),
//! against a baseline in the same run that builds a row for every job, and a state-filter
//! key press through `update` to a drawn frame.

use ratatui::backend::TestBackend;
use ratatui::widgets::{Row, Table};
use ratatui::Terminal;
use std::time::Instant;

use crate::jobs::gpu::Inventory;
use crate::tui::jobs_msg::{JobRow, QueueView};
use crate::tui::key::Key;
use crate::tui::keymap::Keymap;
use crate::tui::msg::Msg;
use crate::tui::state::{App, Loadable, Screen};
use crate::tui::theme::Theme;
use crate::tui::view;
use crate::util::percentile;

/// The figures, in ms: (jobs-screen frame p50, all-rows baseline p50, key to frame p50).
pub fn run(
    jobs: usize,
    frames: usize,
    params: crate::retrieve::SearchParams,
) -> anyhow::Result<(f64, f64, f64)> {
    let (width, height) = (200u16, 60u16);
    let mut app = App::new("bench.db", "-", "-", params, Keymap::default(), "dark");
    app.update(Msg::Resize { width, height });
    app.screen = Screen::Jobs;
    app.jobs.queue = Loadable::Ready(QueueView {
        now_ms: 1_800_000_000_000,
        rows: synthetic_jobs(jobs),
        gpus: Inventory::NoGpu {
            reason: "benchmark".into(),
        },
        holders: Default::default(),
    });
    // The middle of the queue, where a naive table does the most work.
    app.jobs.cursor.selected = jobs / 2;
    app.jobs.cursor.offset = (jobs / 2).saturating_sub(10);
    let theme = Theme::load("dark", None, false)?;
    let mut terminal = Terminal::new(TestBackend::new(width, height))?;
    let mut sample = |n: usize, draw: &dyn Fn(&mut ratatui::Frame)| -> anyhow::Result<Vec<f64>> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            terminal.draw(draw)?;
            out.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(out)
    };
    sample(5, &|f| view::render(&app, &theme, f))?;
    let screen = sample(frames, &|f| view::render(&app, &theme, f))?;
    let rows = app
        .jobs
        .queue
        .ready()
        .map(|q| q.rows.as_slice())
        .unwrap_or_default();
    let naive = sample(frames.clamp(1, 20), &|f| {
        let all = rows.iter().map(|r| {
            Row::new(vec![
                r.id.to_string(),
                r.name.clone(),
                r.state.clone(),
                format!("{:?}", r.fraction),
                r.gpus.clone(),
                r.backend.clone(),
            ])
        });
        f.render_widget(
            Table::new(all, [ratatui::layout::Constraint::Fill(1); 6]),
            f.area(),
        );
    })?;
    let mut key_ms = Vec::with_capacity(frames);
    for _ in 0..frames {
        let t = Instant::now();
        app.update(Msg::Key(Key::char('f')));
        terminal.draw(|f| view::render(&app, &theme, f))?;
        key_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let med = |s: &[f64]| percentile(s, 50.0);
    let (s, n, k) = (med(&screen), med(&naive), med(&key_ms));
    println!("jobs screen benchmark: queue table, {jobs} jobs, {width}x{height}");
    println!(
        "  jobs frame          p50 {s:.3} ms  p95 {:.3} ms  (goal < 5 ms)",
        percentile(&screen, 95.0)
    );
    println!(
        "  all-rows baseline   p50 {n:.3} ms  -> the screen is {:.0}x faster",
        n / s.max(1e-9)
    );
    println!("  state filter key -> update -> frame  p50 {k:.3} ms  (goal < 50 ms)");
    Ok((s, n, k))
}

/// Jobs in every state, with names, progress and GPUs like a busy shared machine's.
fn synthetic_jobs(n: usize) -> Vec<JobRow> {
    const STATES: [&str; 6] = [
        "succeeded",
        "failed",
        "cancelled",
        "running",
        "queued",
        "succeeded",
    ];
    (0..n)
        .map(|i| {
            let state = STATES[i % STATES.len()];
            JobRow {
                id: i as i64 + 1,
                name: format!("sweep-{}-lr{}e-5-seed{}", i % 13, 1 + i % 9, i % 5),
                state: state.into(),
                ended: !matches!(state, "running" | "queued"),
                paused: i % 97 == 0,
                cancel_requested: false,
                fraction: Some((i % 100) as f64 / 100.0),
                eta_s: (state == "running").then_some((i % 5000) as f64),
                gpus: (i % 8).to_string(),
                created_ms: 1_800_000_000_000 - i as i64 * 60_000,
                backend: "local".into(),
                pid: None,
                slurm_id: None,
                wait_reason: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_jobs_benchmark_runs_on_a_10000_job_queue() {
        let (screen, naive, key) = super::run(10_000, 3, crate::tui::fixtures::params()).unwrap();
        assert!(screen > 0.0 && naive > 0.0 && key > 0.0);
    }
}
