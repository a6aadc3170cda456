//! The interactive console. Elm-style: `state` is plain data changed by `update(msg)`, `view`
//! draws it, `app` (the shell) does all I/O, `worker` runs effects in the background. Nothing
//! in the core modules imports this.

pub mod action;
pub mod app;
pub mod bench;
mod bench_jobs;
mod bench_lanes;
pub mod effect;
pub mod eval_msg;
#[cfg(test)]
pub mod fixtures;
#[cfg(test)]
mod fixtures_eval;
#[cfg(test)]
mod fixtures_jobs;
pub mod jobs_msg;
pub mod key;
pub mod keymap;
pub mod msg;
pub mod screens;
pub mod state;
pub mod theme;
pub mod view;
pub mod worker;

use std::sync::Arc;

use crate::services::Context;
use keymap::Keymap;
use state::App;
use theme::Theme;

/// Opens the console on the configured database (on `collection`'s documents when given)
/// and returns when the user quits. The terminal is restored on every way out, panics
/// included.
pub fn run(ctx: Context, collection: Option<&str>) -> anyhow::Result<()> {
    // A missing database is named and refused here, never silently created empty: a
    // mistyped --db would otherwise open an empty console.
    drop(ctx.open_store()?);
    let ctx = Arc::new(ctx);
    let config = ctx.config().clone();
    let user_themes = ctx.paths.config_dir.join("themes");
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let mut notices = Vec::new();
    let theme = Theme::load(&config.ui.theme, Some(&user_themes), no_color).unwrap_or_else(|e| {
        notices.push(format!("{e}; using the default theme"));
        Theme::load(crate::config::DEFAULT_THEME, None, no_color)
            .unwrap_or_else(|_| Theme::fallback())
    });
    let (keymap, keymap_error) = Keymap::load(&ctx.paths.config_dir.join("keymap.toml"));
    notices.extend(keymap_error);
    let params = ctx.search_params()?;
    let mut app = App::new(
        &config.store.db.display().to_string(),
        &config.embed.model,
        &config.generate.model,
        params,
        keymap,
        &config.ui.theme,
    );
    for text in notices {
        app.update(msg::Msg::Notice { text, error: true });
    }

    let (msg_tx, msg_rx) = app::messages();
    let worker_config = worker::WorkerConfig {
        db: config.store.db.clone(),
        ctx: Some(Arc::clone(&ctx)),
        chunk: ctx.chunk_settings().ok(),
        max_file_bytes: config.ingest.max_file_mb * 1024 * 1024,
        dupes_max_chunks: crate::curate::dupes::DEFAULT_MAX_CHUNKS,
        jobs_dir: ctx.paths.jobs_dir(),
    };
    let worker = worker::Worker::spawn(worker_config, msg_tx.clone());

    let mut terminal = match ratatui::try_init() {
        Ok(t) => t,
        Err(e) => {
            ratatui::restore();
            return Err(e.into());
        }
    };
    app::install_panic_hook();
    // From here on every way out goes through `restore`.
    let result = (|| -> std::io::Result<()> {
        let size = terminal.size()?;
        app.update(msg::Msg::Resize {
            width: size.width,
            height: size.height,
        });
        let input = app::spawn_input();
        // The model loads after the first frame is up.
        app::spawn_engine(
            Arc::clone(&ctx),
            worker.engine_slot(),
            worker.threads(),
            msg_tx,
        );
        let mut shell = app::Shell::new(app, theme, worker, msg_rx);
        shell.user_themes = Some(user_themes);
        shell.no_color = no_color;
        let result = shell.run(&mut terminal, input, collection);
        // Every background thread has ended (`run` waited); dropping the shell now drops
        // the chat models, then the embedding model, then the writer, in this thread,
        // before the terminal is restored and the process exits.
        drop(shell);
        result
    })();
    ratatui::restore();
    Ok(result?)
}
