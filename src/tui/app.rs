//! The shell: the only part of the console that does I/O. It owns the terminal, turns
//! terminal events into messages, runs effects on the worker, and draws a frame only when the
//! state changed, at most about 60 times a second. Idle, it blocks: no timers, no redraws.

use crossbeam_channel::{bounded, select, Receiver, Sender};
use crossterm::event::{self, Event, KeyEventKind};
use ratatui::backend::Backend;
use ratatui::Terminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::effect::{Effect, ShellEffect};
use super::key::Key;
use super::msg::{Msg, Reply};
use super::state::App;
use super::theme::Theme;
use super::worker::{Engine, EngineSlot, Threads, Worker};
use crate::embed::Embedder;

const FRAME: Duration = Duration::from_millis(16);
/// How often the clock ticks while something on screen depends on it (toasts, progress).
const TICK: Duration = Duration::from_millis(250);

pub struct Shell {
    pub app: App,
    pub theme: Theme,
    pub user_themes: Option<std::path::PathBuf>,
    pub no_color: bool,
    pub worker: Worker,
    pub inbox: Receiver<Msg>,
    started: Instant,
}

/// How long quitting waits for background threads (a model still loading, an answer or a
/// sync finishing its current document) before it gives up on them.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(60);

impl Shell {
    pub fn new(app: App, theme: Theme, worker: Worker, inbox: Receiver<Msg>) -> Shell {
        Shell {
            app,
            theme,
            user_themes: None,
            no_color: false,
            worker,
            inbox,
            started: Instant::now(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Runs one message through the reducer and hands its effects out.
    pub fn dispatch(&mut self, msg: Msg) {
        let now_ms = self.now_ms();
        let mut effects = self.app.update(Msg::Tick { now_ms });
        effects.extend(self.app.update(msg));
        self.execute(effects);
    }

    pub fn execute(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Shell(ShellEffect::SetTheme { name }) => self.set_theme(&name),
                Effect::Shell(ShellEffect::Copy { text }) => copy_osc52(&text),
                other => {
                    if !self.worker.run(other) {
                        self.notice("the background worker stopped; see the log file");
                    }
                }
            }
        }
    }

    fn set_theme(&mut self, name: &str) {
        match Theme::load(name, self.user_themes.as_deref(), self.no_color) {
            Ok(theme) => {
                self.theme = theme;
                self.app.update(Msg::ThemeChanged {
                    name: name.to_string(),
                });
            }
            Err(e) => self.notice(&e.to_string()),
        }
    }

    /// An error the shell itself ran into, shown like any other.
    fn notice(&mut self, text: &str) {
        self.app.update(Msg::Notice {
            text: text.to_string(),
            error: true,
        });
    }

    /// The event loop. Returns when the user quits.
    pub fn run<B: Backend>(
        &mut self,
        terminal: &mut Terminal<B>,
        input: Receiver<Msg>,
        collection: Option<&str>,
    ) -> std::io::Result<()> {
        let start = self.app.start(collection);
        self.execute(start);
        let mut last_draw: Option<Instant> = None;
        loop {
            if self.app.quit {
                return self.shut_down(terminal);
            }
            if self.app.dirty && last_draw.is_none_or(|t| t.elapsed() >= FRAME) {
                terminal.draw(|f| super::view::render(&self.app, &self.theme, f))?;
                self.app.dirty = false;
                last_draw = Some(Instant::now());
            }
            let wait = if self.app.dirty {
                Some(FRAME.saturating_sub(last_draw.map_or(Duration::ZERO, |t| t.elapsed())))
            } else if !self.app.toasts.is_empty()
                || !self.app.tasks.is_empty()
                || self.app.wants_ticks()
            {
                Some(TICK)
            } else {
                None // idle: sleep until something happens
            };
            let timeout = wait.map_or_else(crossbeam_channel::never, crossbeam_channel::after);
            select! {
                recv(input) -> msg => match msg {
                    Ok(msg) => self.dispatch(msg),
                    Err(_) => return Ok(()), // the terminal is gone
                },
                recv(self.inbox) -> msg => match msg {
                    Ok(msg) => self.dispatch(msg),
                    Err(_) => {
                        // Every background thread is gone: stop listening (or the loop would
                        // spin on the closed channel) and say so.
                        self.inbox = crossbeam_channel::never();
                        self.notice("the background worker stopped; see the log file");
                    }
                },
                recv(timeout) -> _ => {
                    let now_ms = self.now_ms();
                    // A shown screen may refresh itself on the clock (the jobs queue).
                    let effects = self.app.update(Msg::Tick { now_ms });
                    self.execute(effects);
                }
            }
        }
    }
}

impl Shell {
    /// Quitting: cancel every task, close the lanes, and wait (saying so on screen) until
    /// every background thread has ended, so no thread is inside ONNX Runtime when the
    /// process exits. Messages keep being drained meanwhile, so no thread blocks on a
    /// full channel.
    fn shut_down<B: Backend>(&mut self, terminal: &mut Terminal<B>) -> std::io::Result<()> {
        self.worker.shutdown();
        let threads = self.worker.threads().clone();
        if threads.alive() > 0 {
            self.app.closing = true;
            self.app.dirty = true;
            terminal.draw(|f| super::view::render(&self.app, &self.theme, f))?;
        }
        let inbox = self.inbox.clone();
        let ended = threads.wait(SHUTDOWN_LIMIT, || while inbox.try_recv().is_ok() {});
        if !ended {
            tracing::error!(
                "{} background threads still running after {} s; exiting anyway",
                threads.alive(),
                SHUTDOWN_LIMIT.as_secs()
            );
        }
        Ok(())
    }
}

/// Puts text on the clipboard of the terminal the user sits at (local or over SSH) with the
/// OSC 52 escape sequence; terminals that do not support it ignore it.
fn copy_osc52(text: &str) {
    use base64::Engine;
    use std::io::Write;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = std::io::stdout();
    let _ = write!(out, "\x1b]52;c;{encoded}\x07");
    let _ = out.flush();
}

/// Restores the terminal for a panic on the console's own thread. Background threads catch
/// their panics and report them as messages, so they must not tear the screen down.
pub fn install_panic_hook() {
    let ui_thread = std::thread::current().id();
    let restore_and_report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == ui_thread {
            restore_and_report(info);
        } else {
            tracing::error!("background thread panicked: {info}");
        }
    }));
}

/// Runs `work`, turning a panic into an error message.
pub fn catch<T>(what: &str, work: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|_| {
        Err(format!(
            "{what} failed unexpectedly (a bug: see the log file)"
        ))
    })
}

/// Reads terminal events on their own thread and sends them as messages.
pub fn spawn_input() -> Receiver<Msg> {
    let (tx, rx) = bounded(256);
    let spawned = std::thread::Builder::new()
        .name("lmdeck-input".into())
        .spawn(move || loop {
            let msg = match event::read() {
                Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => {
                    Msg::Key(Key::from_event(k))
                }
                Ok(Event::Resize(width, height)) => Msg::Resize { width, height },
                Ok(_) => continue,
                Err(e) => {
                    tracing::error!("reading the terminal failed: {e}");
                    return;
                }
            };
            if tx.send(msg).is_err() {
                return;
            }
        });
    if let Err(e) = spawned {
        tracing::error!("could not start the input thread: {e}");
    }
    rx
}

/// Loads the embedding model in the background and puts it in the worker's slot. The
/// thread is tracked, so quitting waits for a load in progress.
pub fn spawn_engine(
    ctx: Arc<crate::services::Context>,
    slot: EngineSlot,
    threads: &Threads,
    out: Sender<Msg>,
) {
    threads.spawn("lmdeck-engine", move || {
        let loaded = (|| -> Result<_, crate::services::ServiceError> {
            let embedder = ctx.embedder_for_queries()?;
            // The first run of a session pays for lazy initialisation (on CUDA about
            // 280 ms against 2 ms warm, measured on an H200): pay it here, not on the
            // first query.
            embedder.embed(&["warm-up".to_string()])?;
            embedder.embed_query("warm-up")?; // the query session's first run too
            let tokenizer = ctx.chunk_tokenizer()?;
            Ok((embedder, tokenizer))
        })();
        let reply = match loaded {
            Ok((embedder, tokenizer)) => {
                let model = embedder.identity().name.clone();
                let provider = embedder.provider().to_string();
                if let Ok(mut slot) = slot.write() {
                    *slot = Some(Engine {
                        embedder: Arc::new(embedder),
                        tokenizer: Arc::new(tokenizer),
                    });
                }
                Reply::EngineReady { model, provider }
            }
            Err(e) => Reply::EngineFailed {
                message: e.to_string(),
            },
        };
        let _ = out.send(Msg::reply(reply));
    });
}

/// Messages from background threads to the shell. Bounded: a flood (a fast answer, a
/// chatty task) waits for the shell instead of growing memory.
pub fn messages() -> (Sender<Msg>, Receiver<Msg>) {
    bounded(1024)
}
