//! Helpers for tests that drive the real binary against a temporary database.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Self {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("test.db")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file (creating folders) and returns its path.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    /// The binary with an isolated database and config; models come from the normal data
    /// dir, where `lmdeck setup` installed them.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lmdeck"));
        cmd.env("LMDECK_DB", self.db())
            .env("LMDECK_CONFIG", self.path("config.toml"))
            .env_remove("ORT_DYLIB_PATH")
            .env("LMDECK_RUNTIME_DEVICE", "cpu");
        // Settings from the developer's environment must not leak into tests; the data and
        // cache dirs are kept so the installed models are found.
        const KEEP: &[&str] = &[
            "LMDECK_DATA_DIR",
            "LMDECK_CACHE_DIR",
            "LMDECK_DB",
            "LMDECK_CONFIG",
            "LMDECK_RUNTIME_DEVICE",
        ];
        for (key, _) in std::env::vars() {
            if key.starts_with("LMDECK_") && !KEEP.contains(&key.as_str()) {
                cmd.env_remove(&key);
            }
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run lmdeck")
    }

    /// Runs and asserts success, returning stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "lmdeck {args:?} failed\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Runs and asserts failure, returning stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "lmdeck {args:?} should fail\nstdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).to_string()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.ok(args);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("invalid JSON from {args:?}: {e}\n{out}"))
    }

    pub fn sql_count(&self, sql: &str) -> i64 {
        let store = lmdeck::store::Store::open(&self.db()).unwrap();
        store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

/// A small corpus with distinct topics, used by several tests.
pub fn write_corpus(env: &Env) -> PathBuf {
    env.write(
        "docs/gpu-drain.md",
        "# Draining GPU nodes\n\nBefore maintenance, drain the node with `nodectl drain --grace 300` so running \
         training jobs migrate to healthy hosts.\n\n## Verifying\n\nCheck that no pods remain with `nodectl pods`.\n",
    );
    env.write(
        "docs/password.txt",
        "Password reset\n\nSteps to recover account credentials: open the self-service portal, choose \
         forgot password and follow the link sent by email.\n",
    );
    env.write(
        "docs/billing.html",
        "<html><head><title>Billing</title><script>track()</script></head><body><h1>Invoices</h1>\
         <p>Invoices are issued on the first business day of each month and are payable within 30 days.</p></body></html>",
    );
    env.write(
        "docs/kb.jsonl",
        "{\"_id\": \"kb1\", \"title\": \"Storage tiers\", \"text\": \"Hot NVMe scratch storage is wiped after 14 days; archive storage keeps data for seven years.\"}\n\
         {\"_id\": \"kb2\", \"title\": \"Cafeteria\", \"text\": \"The cafeteria serves vegetarian lunch on Fridays.\"}\n",
    );
    env.path("docs")
}

/// The small corpus of `write_corpus`, ingested into the collection `kb`; returns its folder.
pub fn ingest_kb(env: &Env) -> PathBuf {
    let docs = write_corpus(env);
    env.ok(&["ingest", docs.to_str().unwrap(), "-c", "kb"]);
    docs
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
