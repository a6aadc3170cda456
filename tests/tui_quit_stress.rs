//! Quitting never crashes: the real console in tmux, quit (q or Ctrl+C) at pseudo-random
//! moments while the embedding model loads, while an answer loads its model or streams,
//! and while a sync runs. Every one of the 50 trials must exit with status 0; before the
//! fix, quitting while ONNX Runtime was busy on another thread could end in a segfault
//! (exit 139). The moments come from a fixed seed, so a failure can be replayed.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Env;

/// A small, fixed-seed generator (xorshift): the same delays on every run.
struct Delays(u64);

impl Delays {
    fn next_ms(&mut self, max: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % (max + 1)
    }
}

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(env: &Env) -> Tmux {
        let socket = format!("lmdeck-quit-{}", std::process::id());
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
        ])
        .args(["-x", "100", "-y", "30", "sleep 600"]);
        // The server, and so every pane, takes its environment from this first client.
        for (key, value) in env.cmd().get_envs() {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        cmd.env("TERM", "xterm-256color");
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

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", "main", k]);
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "main"])
    }

    fn wait_for(&self, secs: u64, check: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if check(&self.screen()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        false
    }

    /// Starts the console in the pane (replacing whatever ran there); its exit status goes
    /// to `status_file`.
    fn console(&self, status_file: &std::path::Path) {
        let _ = std::fs::remove_file(status_file);
        let bin = env!("CARGO_BIN_EXE_lmdeck");
        let line = format!(
            // The pane lives on after the console (the next trial replaces it): a pane
            // that ended would end the session and the tmux server with it.
            "{bin} console --collection notes; echo $? > {}; sleep 600",
            status_file.display()
        );
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "respawn-pane",
                "-k",
                "-t",
                "main",
                &line,
            ])
            .output()
            .expect("tmux");
        assert!(
            out.status.success(),
            "tmux respawn-pane failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// Waits for the console's exit status.
fn exit_status(status_file: &std::path::Path, screen: impl Fn() -> String) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(text) = std::fs::read_to_string(status_file) {
            if text.ends_with('\n') {
                return text.trim().to_string();
            }
        }
        assert!(
            Instant::now() < deadline,
            "the console did not exit within 90 s of quitting; the screen shows:\n{}",
            screen()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn quitting_at_any_moment_exits_cleanly() {
    let env = Env::new();
    for (name, text) in [
        (
            "volcanoes",
            "# Volcanoes\n\nA volcano erupts when magma rises through the crust.\n",
        ),
        (
            "tides",
            "# Tides\n\nThe moon's gravity pulls the oceans, raising high tides.\n",
        ),
        (
            "chess",
            "# Chess\n\nThe Sicilian defence answers e4 with c5.\n",
        ),
    ] {
        env.write(&format!("notes/{name}.md"), text);
    }
    let notes = env.path("notes");
    env.ok(&["ingest", notes.to_str().unwrap(), "--collection", "notes"]);
    let tmux = Tmux::start(&env);
    let status_file = env.path("exit-status");
    let mut delays = Delays(0x5eed_1e55);
    let mut failures = Vec::new();
    let mut trial = |moment: &str, n: usize, failures: &mut Vec<String>, run: &dyn Fn(u64)| {
        let delay = delays.next_ms(1_500);
        tmux.console(&status_file);
        // Keys before the first frame would reach a terminal not yet in raw mode, where
        // Ctrl+C kills the pane's shell rather than reaching lmdeck.
        assert!(
            tmux.wait_for(20, |s| s.contains("Corpus")),
            "{moment} #{n}: no first frame; the screen shows:\n{}",
            tmux.screen()
        );
        run(delay);
        let quit = if n.is_multiple_of(2) { "q" } else { "C-c" };
        // Ctrl+C quits from anywhere; q only where it is not typed into a box.
        tmux.keys(&[if moment == "load" { quit } else { "C-c" }]);
        let status = exit_status(&status_file, || tmux.screen());
        if status != "0" {
            failures.push(format!("{moment} #{n} after {delay} ms: exit {status}"));
        }
    };
    // 1. While the embedding model loads (it loads after the first frame, in about a
    //    second on this machine).
    for n in 0..20 {
        trial("load", n, &mut failures, &|delay| {
            std::thread::sleep(Duration::from_millis(delay / 2));
        });
    }
    // 2. While an answer loads the chat model, retrieves or streams.
    for n in 0..15 {
        trial("answer", n, &mut failures, &|delay| {
            tmux.keys(&["3"]);
            tmux.tmux(&["send-keys", "-t", "main", "-l", "What pulls the oceans?"]);
            tmux.keys(&["Enter"]);
            std::thread::sleep(Duration::from_millis(delay));
        });
    }
    // 3. While a sync re-embeds changed files.
    for n in 0..15 {
        env.write(
            "notes/tides.md",
            format!("# Tides\n\nThe moon's gravity pulls the oceans (revision {n}).\n"),
        );
        trial("sync", n, &mut failures, &|delay| {
            // The sync needs the embedding model: wait until the status bar names it.
            tmux.wait_for(20, |s| s.contains("cpu") || s.contains("CPU"));
            tmux.keys(&["S"]);
            if tmux.wait_for(10, |s| s.contains("y: apply")) {
                tmux.keys(&["y"]);
            }
            std::thread::sleep(Duration::from_millis(delay / 2));
        });
    }
    assert!(
        failures.is_empty(),
        "unclean exits:\n{}",
        failures.join("\n")
    );
}
