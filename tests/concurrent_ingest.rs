//! Two `lmdeck ingest` processes on one database at once (into two collections, or both into
//! the same one from the same folder): both finish, and the database holds what the same
//! runs give one after the other. Before the writer took the lock first (BEGIN IMMEDIATE),
//! one of them ended in "cannot promote read transaction to write transaction".

mod common;
mod store_checks;

use common::Env;
use std::path::Path;
use std::process::{Child, Stdio};
use store_checks::{assert_consistent, contents};

/// Enough documents for two groups of embedding per run, so the runs overlap.
const DOCS: usize = 700;

fn write_corpus(env: &Env, folder: &str) -> String {
    for i in 0..DOCS {
        env.write(
            &format!("{folder}/doc{i:04}.md"),
            format!(
                "# {folder} note {i}\n\nHost {i} of {folder} logged warning W{i} while syncing shard {}.\n",
                i % 13
            ),
        );
    }
    env.path(folder).display().to_string()
}

fn spawn_ingest(env: &Env, folder: &str, collection: &str) -> Child {
    env.cmd()
        .args(["ingest", folder, "-c", collection, "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn succeeds(child: Child) -> serde_json::Value {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ingest failed: {}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap()
}

/// The same runs one after the other, in a database of their own.
fn sequential(runs: &[(&str, &str)]) -> (Env, Vec<(String, String, i64)>) {
    let env = Env::new();
    for (folder, collection) in runs {
        let folder = write_corpus(&env, folder);
        env.ok(&["ingest", &folder, "-c", collection]);
    }
    let rows = contents(&env, env.dir.path());
    (env, rows)
}

fn check_against(env: &Env, root: &Path, expected: &[(String, String, i64)]) {
    assert_consistent(env);
    let got = contents(env, root);
    assert_eq!(got.len(), expected.len());
    assert_eq!(got, expected);
}

#[test]
fn two_processes_ingest_two_collections_at_once() {
    let env = Env::new();
    let a = write_corpus(&env, "a");
    let b = write_corpus(&env, "b");
    let first = spawn_ingest(&env, &a, "a");
    let second = spawn_ingest(&env, &b, "b");
    let (ra, rb) = (succeeds(first), succeeds(second));
    assert_eq!(ra["added"], DOCS as u64, "{ra}");
    assert_eq!(rb["added"], DOCS as u64, "{rb}");

    let (_seq, expected) = sequential(&[("a", "a"), ("b", "b")]);
    check_against(&env, env.dir.path(), &expected);
}

#[test]
fn two_processes_ingest_the_same_folder_into_one_collection() {
    let env = Env::new();
    let docs = write_corpus(&env, "kb");
    let first = spawn_ingest(&env, &docs, "kb");
    let second = spawn_ingest(&env, &docs, "kb");
    let (r1, r2) = (succeeds(first), succeeds(second));
    // Each run stored or found every document, whichever got to it first.
    for r in [&r1, &r2] {
        let seen = r["added"].as_u64().unwrap() + r["unchanged"].as_u64().unwrap();
        assert_eq!(seen, DOCS as u64, "{r}");
    }

    let (_seq, expected) = sequential(&[("kb", "kb")]);
    check_against(&env, env.dir.path(), &expected);
    // And the collection is as a single run leaves it: nothing left to do.
    let again = env.json(&["ingest", &docs, "-c", "kb", "--json"]);
    assert_eq!(again["unchanged"], DOCS as u64, "{again}");
    assert_eq!(again["chunks_embedded"], 0, "{again}");
}

#[test]
fn processes_creating_one_new_database_at_once_all_succeed() {
    // Turning a new database to WAL needs an exclusive lock; SQLite answered BUSY at once
    // (no busy handler) to the second of two processes creating it, which failed with
    // "database is locked" (1 run in 10 on two cores) until opening retried.
    for round in 0..30 {
        let env = Env::new();
        let folders: Vec<String> = (0..4)
            .map(|i| {
                let folder = format!("f{i}");
                env.write(
                    &format!("{folder}/note.md"),
                    format!("# Note {i}\n\nbody {i}\n"),
                );
                env.path(&folder).display().to_string()
            })
            .collect();
        let runs: Vec<Child> = folders
            .iter()
            .enumerate()
            .map(|(i, folder)| spawn_ingest(&env, folder, &format!("c{i}")))
            .collect();
        for run in runs {
            let report = succeeds(run);
            assert_eq!(report["added"], 1, "round {round}: {report}");
        }
        assert_consistent(&env);
    }
}
