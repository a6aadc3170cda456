//! End to end: the real binary in tmux, driven with `send-keys` and read with `capture-pane`,
//! on a small ingested corpus with the real embedding model (installed by `lmdeck setup`).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Env;

/// One tmux server per test (its own socket), killed when the test ends.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(env: &Env, width: u16, height: u16, extra_env: &[(&str, String)]) -> Tmux {
        let socket = format!(
            "lmdeck-test-{}-{}",
            std::process::id(),
            env.dir.path().file_name().unwrap().to_string_lossy()
        );
        let bin = env!("CARGO_BIN_EXE_lmdeck");
        let mut cmd = Command::new("tmux");
        cmd.args([
            "-L",
            &socket,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
        cmd.arg(format!("{bin}; echo LMDECK_EXIT=$?; sleep 120"));
        // The server takes its environment from this first client.
        let probe = env.cmd();
        for (key, value) in probe.get_envs() {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        cmd.env("TERM", "xterm-256color").env_remove("NO_COLOR");
        for (key, value) in extra_env {
            cmd.env(key, value);
        }
        let status = cmd
            .status()
            .expect("tmux must be installed (scripts/test.sh installs it)");
        assert!(status.success(), "tmux new-session failed");
        Tmux { socket }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "main"])
    }

    /// Named keys (`Enter`, `Escape`) or single characters.
    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", "main", k]);
            // A key alone, not glued to the next one (Esc then 1 would read as Alt+1).
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "main", "-l", text]);
        std::thread::sleep(Duration::from_millis(60));
    }

    /// Waits until the screen satisfies `check`; panics with the screen after `secs`.
    fn wait_for(&self, what: &str, secs: u64, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the screen shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn corpus(env: &Env) {
    env.write("notes/volcanoes.md", "# Volcanoes\n\nA volcano erupts when magma rises through the crust. Lava flows, ash clouds and pyroclastic surges follow the eruption.\n");
    env.write("notes/sourdough.md", "# Sourdough bread\n\nFeed the starter with flour and water, let the dough rise overnight, then bake it in a hot oven.\n");
    env.write("notes/tides.md", "# Tides\n\nThe moon's gravity pulls the oceans, raising high tides twice a day along most coasts.\n");
    env.write("notes/chess.md", "# Chess openings\n\nThe Sicilian defence answers e4 with c5 and leads to sharp, unbalanced positions.\n");
    env.write("notes/geology.md", "# Rocks\n\nIgneous rock forms when lava or magma cools; basalt and granite are common examples.\n");
    let notes = env.path("notes");
    env.ok(&["ingest", notes.to_str().unwrap(), "--collection", "notes"]);
}

/// The fused ranking's document column, top first.
fn fused_documents(screen: &str) -> Vec<String> {
    screen
        .lines()
        .filter_map(|l| l.strip_prefix('│'))
        .filter_map(|l| {
            let fused = l.split('│').next()?;
            let mut cols = fused.split_whitespace();
            let rank: usize = cols.next()?.parse().ok()?;
            let score: f64 = cols.next()?.parse().ok()?;
            (rank > 0 && score < 1.0).then(|| cols.last().unwrap_or_default().to_string())
        })
        .collect()
}

#[test]
fn search_exclude_search_again_help_and_quit() {
    let env = Env::new();
    corpus(&env);
    let t = Tmux::start(&env, 160, 45, &[]);
    t.wait_for("the collection list", 20, |s| {
        s.contains("notes") && s.contains("Collections")
    });
    t.wait_for("the embedding model", 60, |s| {
        s.contains("CPUExecutionProvider")
    });

    // Inspector: type a query, read the ranked results.
    t.keys(&["2"]);
    t.wait_for("the query box", 5, |s| s.contains("Query"));
    t.type_text("how does a volcano erupt");
    t.keys(&["Enter"]);
    let screen = t.wait_for("ranked results", 20, |s| {
        !fused_documents(s).is_empty() && s.contains("total")
    });
    let ranked = fused_documents(&screen);
    assert_eq!(
        ranked.first().map(String::as_str),
        Some("volcanoes.md"),
        "{screen}"
    );
    assert!(
        screen.contains("Vector (cosine distance)") && screen.contains("Keyword (BM25)"),
        "{screen}"
    );

    // Corpus screen: open the collection, filter to the top document, exclude it.
    t.keys(&["1"]);
    t.wait_for("the collections list", 5, |s| s.contains("Collections"));
    t.keys(&["Enter"]);
    t.wait_for("the documents table", 10, |s| s.contains("documents 5"));
    t.keys(&["/"]);
    t.type_text("volcano");
    t.keys(&["Enter"]);
    t.wait_for("the filtered table", 5, |s| s.contains("documents 1 of 5"));
    t.keys(&["x"]);
    t.wait_for("the exclusion", 10, |s| {
        s.contains("excluded: it will not be retrieved")
    });

    // The same query again: the excluded document is gone.
    t.keys(&["2"]);
    t.keys(&["i", "Enter"]);
    let screen = t.wait_for("results without the excluded document", 20, |s| {
        let docs = fused_documents(s);
        !docs.is_empty() && !docs.iter().any(|d| d == "volcanoes.md")
    });
    assert!(
        !fused_documents(&screen).contains(&"volcanoes.md".to_string()),
        "{screen}"
    );

    // Why not? names the exclusion.
    t.keys(&["w"]);
    t.type_text("volcanoes.md");
    t.keys(&["Enter"]);
    t.wait_for("the why-not report", 20, |s| {
        s.contains("the document is excluded from retrieval")
    });
    t.keys(&["Escape"]);

    // Help, then quit cleanly.
    t.keys(&["?"]);
    t.wait_for("the help overlay", 5, |s| {
        s.contains("Quit lmdeck") && s.contains("Why not?")
    });
    t.keys(&["Escape"]);
    t.wait_for("help to close", 5, |s| !s.contains("Quit lmdeck"));
    t.keys(&["q"]);
    t.wait_for("a clean exit", 10, |s| s.contains("LMDECK_EXIT=0"));
}

#[test]
fn broken_keymap_and_theme_are_reported_and_defaults_used() {
    let env = Env::new();
    corpus(&env);
    let config_dir = env.path("confdir");
    env.write(
        "confdir/keymap.toml",
        "[[keys]]\non = [\"j\"]\nrun = \"down\"\n\n[[keys]]\non = [\"z\"]\nrun = \"teleport\"\n",
    );
    env.write(
        "confdir/themes/neon.toml",
        "name = \"neon\"\n[styles]\n\"text\" = { fg = \"#ffffff\" \n",
    );
    env.write("config.toml", "[ui]\ntheme = \"neon\"\n");
    let t = Tmux::start(
        &env,
        160,
        45,
        &[("LMDECK_CONFIG_DIR", config_dir.display().to_string())],
    );
    let screen = t.wait_for("the error toasts", 20, |s| {
        s.contains("teleport") && s.contains("neon")
    });
    assert!(
        screen.contains("line 5"),
        "the keymap error names the line:\n{screen}"
    );
    // Still running with the default keys: j moves, : palette rejects an unknown command.
    t.keys(&[":"]);
    t.type_text("fly");
    t.keys(&["Enter"]);
    t.wait_for("the unknown-command message", 5, |s| {
        s.contains("unknown command `:fly`")
    });
    t.keys(&["q"]);
    t.wait_for("a clean exit", 10, |s| s.contains("LMDECK_EXIT=0"));
}

#[test]
fn chat_streams_an_answer_with_sources_and_opens_a_citation() {
    let env = Env::new();
    corpus(&env);
    let t = Tmux::start(
        &env,
        160,
        45,
        &[("LMDECK_GENERATE_MAX_TOKENS", "24".to_string())],
    );
    t.wait_for("the embedding model", 60, |s| {
        s.contains("CPUExecutionProvider")
    });
    t.keys(&["3"]);
    t.wait_for("the chat screen", 5, |s| {
        s.contains("Question") && s.contains("RAG on (notes)")
    });
    t.type_text("How does a volcano erupt?");
    t.keys(&["Enter"]);
    t.wait_for("the question in the conversation", 5, |s| {
        s.contains("You: How does a volcano erupt?")
    });
    let screen = t.wait_for("the finished answer", 90, |s| {
        s.contains("tokens/s") && s.contains("Last answer's sources")
    });
    assert!(
        screen.contains("* cited · ~ similar"),
        "the legend tells the model's citations from attributed sources:\n{screen}"
    );
    assert!(
        screen.contains("[1] volcanoes.md"),
        "the best source comes first:\n{screen}"
    );
    assert!(screen.contains("RAG on, "), "{screen}");
    // Open the first source: its document, in the corpus screen.
    t.keys(&["Escape"]);
    t.keys(&["Enter"]);
    t.wait_for("the cited document", 10, |s| {
        s.contains("volcanoes.md · active") && s.contains("Chunk text")
    });
    t.keys(&["q"]);
    t.wait_for("a clean exit", 10, |s| s.contains("LMDECK_EXIT=0"));
}
