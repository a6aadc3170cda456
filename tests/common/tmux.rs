//! The console in its own tmux server (one socket per run), for end-to-end tests: start it
//! with a command's environment, read the screen, send keys, wait for text; the server is
//! killed when dropped. The pane outlives the console (`LMDECK_EXIT=<status>` is printed),
//! so a failure can still be read.
#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Tells apart the servers of tests running at once in one test binary.
static RUNS: AtomicU64 = AtomicU64::new(0);

/// tmux's full path on this process's PATH (plain "tmux" when none is found, so the start
/// fails with the install hint).
fn tmux_program() -> std::path::PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("tmux"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| "tmux".into())
}

pub struct Console {
    socket: String,
}

impl Console {
    /// Starts the binary in a `width`x`height` pane with `env_from`'s environment (the
    /// server takes its environment from this first client).
    pub fn start(env_from: &Command, name: &str, width: u16, height: u16) -> Console {
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        let socket = format!("lmdeck-{name}-{}-{run}", std::process::id());
        let bin = env!("CARGO_BIN_EXE_lmdeck");
        // Found on this process's PATH: a test may give the console a PATH without tmux.
        let mut tmux = Command::new(tmux_program());
        tmux.args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args([
                "-s",
                "main",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .arg(format!("{bin}; echo LMDECK_EXIT=$?; sleep 600"));
        for (key, value) in env_from.get_envs() {
            match value {
                Some(v) => tmux.env(key, v),
                None => tmux.env_remove(key),
            };
        }
        tmux.env("TERM", "xterm-256color").env_remove("NO_COLOR");
        let status = tmux
            .status()
            .expect("tmux must be installed (scripts/test.sh installs it)");
        assert!(status.success(), "tmux new-session failed");
        Console { socket }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "main"])
    }

    /// Sends keys one at a time, each alone (not glued to the next one).
    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", "main", k]);
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    /// The console's pid: the pane runs a shell, the console is its only child.
    pub fn console_pid(&self) -> i64 {
        let shell = self.tmux(&["display", "-p", "-t", "main", "#{pane_pid}"]);
        let out = Command::new("pgrep")
            .args(["-P", shell.trim()])
            .output()
            .expect("pgrep");
        let children = String::from_utf8_lossy(&out.stdout).to_string();
        let pids: Vec<i64> = children.split_whitespace().flat_map(str::parse).collect();
        assert_eq!(
            pids.len(),
            1,
            "one console under the pane's shell: {children}"
        );
        pids[0]
    }

    pub fn wait_for(&self, what: &str, secs: u64, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the screen shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}
