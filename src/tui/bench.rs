//! `lmdeck bench console`: the console's frame cost with a 100,000-document collection.
//! Rendering the documents table at 200x60 (virtualised: only the visible rows become widgets)
//! against a baseline that builds a row for every document, as an unvirtualised table would;
//! a live filter keystroke over all documents; and a key press through `update` to a drawn
//! frame. The real terminal figures (cold start, idle CPU, key-to-frame during an ingestion)
//! come from `scripts/bench-console.sh`, which drives the binary in tmux.

use ratatui::backend::TestBackend;
use ratatui::widgets::{Row, Table};
use ratatui::Terminal;
use std::time::Instant;

use crate::args::BenchConsoleArgs;
use crate::embed::ModelIdentity;
use crate::services::Context;
use crate::store::collections::{Collection, CollectionStats};
use crate::store::documents::DocumentRow;
use crate::tui::key::Key;
use crate::tui::keymap::Keymap;
use crate::tui::msg::Msg;
use crate::tui::state::corpus::CorpusView;
use crate::tui::state::{App, Loadable};
use crate::tui::theme::Theme;
use crate::tui::view;
use crate::util::percentile;

/// Jobs in the jobs screen's benchmark.
const JOBS: usize = 10_000;

pub fn run(ctx: &Context, args: &BenchConsoleArgs) -> anyhow::Result<()> {
    let (width, height) = (200u16, 60u16);
    let docs = synthetic_documents(args.docs);
    let mut app = App::new(
        "bench.db",
        "all-minilm-l6-v2-int8",
        "smollm2-135m-instruct",
        ctx.search_params()?,
        Keymap::default(),
        "dark",
    );
    app.update(Msg::Resize { width, height });
    app.corpus.collections = Loadable::Ready(vec![stats(args.docs)]);
    app.corpus.active = Some("bench".into());
    app.corpus.view = CorpusView::Documents;
    app.corpus.docs = Loadable::Ready(docs);
    let page = app.page();
    app.corpus.refresh_visible(page);
    // Scroll to the middle, where a naive table would do the most work.
    app.corpus
        .doc_cursor
        .step((args.docs / 2) as isize, app.corpus.visible.len(), page);
    let theme = Theme::load("dark", None, false)?;
    let mut terminal = Terminal::new(TestBackend::new(width, height))?;

    let frames = |terminal: &mut Terminal<TestBackend>,
                  n: usize,
                  draw: &dyn Fn(&mut ratatui::Frame)|
     -> anyhow::Result<Vec<f64>> {
        let mut samples = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            terminal.draw(draw)?;
            samples.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(samples)
    };
    frames(&mut terminal, 20, &|f| view::render(&app, &theme, f))?;
    let virtualised = frames(&mut terminal, args.frames, &|f| {
        view::render(&app, &theme, f)
    })?;
    let all_rows = app
        .corpus
        .docs
        .ready()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let naive = frames(&mut terminal, args.frames.clamp(1, 20), &|f| {
        let rows = all_rows.iter().map(|d| {
            Row::new(vec![
                d.id.to_string(),
                d.status.clone(),
                d.chunks.to_string(),
                d.size.to_string(),
                d.tags.join(","),
                d.source_path.clone(),
            ])
        });
        f.render_widget(Table::new(rows, view::corpus::DOCUMENT_COLUMNS), f.area());
    })?;

    // A live-filter keystroke: the filter runs over every document.
    let mut filter_ms = Vec::new();
    for text in ["re:topic-1[0-9]/", "tag:gpu", "!status:active", "doc-4"] {
        let t = Instant::now();
        app.corpus.filter =
            Some(crate::tui::state::filter::Filter::parse(text).map_err(anyhow::Error::msg)?);
        app.corpus.refresh_visible(page);
        filter_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    app.corpus.filter = None;
    app.corpus.refresh_visible(page);

    // Key press to frame: update + draw, as the shell does for each key.
    let mut key_ms = Vec::with_capacity(args.frames);
    for i in 0..args.frames {
        let key = if i % 2 == 0 {
            Key::char('j')
        } else {
            Key::char('k')
        };
        let t = Instant::now();
        app.update(Msg::Key(key));
        terminal.draw(|f| view::render(&app, &theme, f))?;
        key_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }

    let med = |s: &[f64]| percentile(s, 50.0);
    println!(
        "console frame benchmark: documents table, {} documents, {width}x{height}",
        args.docs
    );
    println!(
        "  virtualised frame   p50 {:.3} ms  p95 {:.3} ms  (goal < 5 ms)",
        med(&virtualised),
        percentile(&virtualised, 95.0)
    );
    println!(
        "  all-rows baseline   p50 {:.3} ms  -> virtualised is {:.0}x faster",
        med(&naive),
        med(&naive) / med(&virtualised).max(1e-9)
    );
    println!(
        "  live filter keystroke over every document  p50 {:.3} ms  max {:.3} ms",
        med(&filter_ms),
        percentile(&filter_ms, 100.0)
    );
    println!(
        "  key -> update -> frame  p50 {:.3} ms  p95 {:.3} ms  (goal < 50 ms)",
        med(&key_ms),
        percentile(&key_ms, 95.0)
    );
    super::bench_jobs::run(JOBS, args.frames, ctx.search_params()?)?;
    if args.scan_chunks > 0 {
        super::bench_lanes::run(args.scan_chunks, ctx.search_params()?)?;
    }
    Ok(())
}

fn stats(docs: usize) -> CollectionStats {
    CollectionStats {
        collection: Collection {
            id: 1,
            name: "bench".into(),
            model: Some(ModelIdentity {
                name: "all-minilm-l6-v2-int8".into(),
                sha256: String::new(),
                dim: 384,
            }),
            model_id: Some(1),
            chunk_target: Some(200),
            chunk_overlap: Some(32),
            last_sync: Some(0),
        },
        documents: docs as i64,
        excluded: (docs / 50) as i64,
        chunks: docs as i64 * 6,
        bytes: docs as i64 * 4000,
        roots: vec!["/data/bench".into()],
    }
}

/// Documents with realistic paths, sizes, statuses and tags.
fn synthetic_documents(n: usize) -> Vec<DocumentRow> {
    (0..n)
        .map(|i| {
            let tags = match i % 7 {
                0 => vec!["gpu".to_string()],
                3 => vec!["policy".to_string(), "legal".to_string()],
                _ => Vec::new(),
            };
            DocumentRow {
                id: i as i64 + 1,
                collection_id: 1,
                source_path: format!(
                    "/data/bench/dept-{:02}/topic-{}/doc-{i}.md",
                    i % 17,
                    i % 301
                ),
                content_sha256: String::new(),
                size: 1000 + (i as i64 * 7919) % 50_000,
                mtime: 1_700_000_000 + i as i64,
                status: if i % 50 == 0 {
                    "excluded".into()
                } else {
                    "active".into()
                },
                title: format!("Document {i}"),
                format: "markdown".into(),
                chunks: 1 + (i as i64 * 31) % 20,
                tags,
            }
        })
        .collect()
}
