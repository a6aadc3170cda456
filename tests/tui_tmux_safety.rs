//! The real console in tmux with a file whose name and text carry terminal escapes
//! (`\e]0;TITLE\a` retitles a tmux pane, `\e[31m` colours everything after it): the pane's
//! title stays as it was, and the screen shows the escapes as text.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Env;

#[allow(dead_code)]
/// One tmux server per test (its own socket), killed when the test ends.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(env: &Env, width: u16, height: u16, extra_env: &[(&str, String)]) -> Tmux {
        let socket = format!(
            "lmdeck-safety-{}-{}",
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

const NAME: &str = "esc-\x1b[31mred\x1b[0m-\x1b]0;PWNED\x07.md";

#[test]
fn hostile_names_and_text_do_not_retitle_the_pane() {
    let env = Env::new();
    env.write(
        &format!("notes/{NAME}"),
        "# Volcano \x1b]0;PWNED-HEADING\x07 notes\n\nA volcano erupts \x1b]2;PWNED-TEXT\x07 when magma rises.\n",
    );
    env.write("notes/tides.md", "# Tides\n\nThe moon pulls the oceans.\n");
    let notes = env.path("notes");
    env.ok(&["ingest", notes.to_str().unwrap(), "--collection", "notes"]);

    let t = Tmux::start(&env, 160, 45, &[]);
    let title = || t.tmux(&["display", "-p", "-t", "main", "#{pane_title}"]);
    let before = title();
    t.wait_for("the collection list", 20, |s| s.contains("Collections"));
    t.keys(&["Enter"]);
    let screen = t.wait_for("the documents table", 10, |s| s.contains("documents 2"));
    let retitled = title();
    assert!(
        !retitled.contains("PWNED"),
        "the pane was retitled: {retitled}"
    );
    assert!(screen.contains("esc-\\e[31mred"), "{screen}");
    t.keys(&["Enter"]);
    t.wait_for("the escaped text of the document", 10, |s| {
        s.contains("\\e]2;PWNED-TEXT\\a")
    });
    t.wait_for("the embedding model", 60, |s| {
        s.contains("CPUExecutionProvider")
    });
    t.keys(&["2"]);
    t.wait_for("the query box", 5, |s| s.contains("Query"));
    t.type_text("volcano magma");
    t.keys(&["Enter"]);
    t.wait_for("a hit on the hostile file", 20, |s| {
        s.contains("esc-\\e[31mred") && s.contains("total")
    });
    let after = title();
    assert!(!after.contains("PWNED"), "the pane was retitled: {after}");
    assert_eq!(before, after);
    t.keys(&["q"]);
    t.wait_for("a clean exit", 10, |s| s.contains("LMDECK_EXIT=0"));
}
