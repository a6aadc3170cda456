//! Hostile input files (issue 9): none may crash a run, amplify storage or be lost unsaid.

mod common;

use common::Env;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the command, killing it after `limit`; returns (success, stdout, stderr).
fn run_within(mut cmd: Command, limit: Duration) -> (bool, String, String) {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Output is read after exit; a report is small enough for the pipe buffers.
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {limit:?}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ingest_json(env: &Env, extra: &[&str], limit: Duration) -> serde_json::Value {
    let mut cmd = env.cmd();
    cmd.args(["ingest", env.path("in").to_str().unwrap(), "--json"])
        .args(extra);
    let (ok, stdout, stderr) = run_within(cmd, limit);
    assert!(ok, "ingest failed\nstdout: {stdout}\nstderr: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn skip_reason(report: &serde_json::Value, name: &str) -> String {
    report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"].as_str().unwrap().ends_with(name))
        .map(|s| s["reason"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("{name} not reported: {report:#}"))
}

fn good_files(env: &Env) {
    env.write("in/a.md", "# Quotas\n\nEach project gets eight GPUs.\n");
    env.write(
        "in/b.txt",
        "Draining a node\n\nCordon it first, then drain.\n",
    );
    env.write(
        "in/c.html",
        "<html><body><h1>Backups</h1><p>Nightly at two.</p></body></html>",
    );
}

#[test]
fn deeply_nested_html_is_a_skip_and_the_other_files_are_stored() {
    let env = Env::new();
    good_files(&env);
    // 50,000 levels (550 KB) overflowed the stack and aborted the run (exit 134).
    let depth = 50_000;
    env.write(
        "in/deep.html",
        format!(
            "<html><body>{}deep text{}</body></html>",
            "<div>".repeat(depth),
            "</div>".repeat(depth)
        ),
    );
    let limit = Duration::from_secs(60);
    let plan = ingest_json(&env, &["--dry-run"], limit);
    assert!(skip_reason(&plan, "deep.html").contains("nested more than"));
    let report = ingest_json(&env, &[], limit);
    assert!(
        skip_reason(&report, "deep.html").contains("nested more than"),
        "{report:#}"
    );
    assert_eq!(report["added"], 3, "{report:#}");
    assert_eq!(env.sql_count("SELECT count(*) FROM documents"), 3);
}

#[test]
fn a_long_heading_does_not_amplify_storage_and_chunks_stay_distinct() {
    let env = Env::new();
    // A 200 KB H1 over a 196 KB body: every chunk stored (and embedded) the whole heading,
    // a 98.6 MB database of identical vectors.
    let heading: String = (0..40_000).map(|i| format!("w{} ", i % 997)).collect();
    let body: String = (0..6_000)
        .map(|i| format!("Sentence {i} about topic {}. ", i % 431))
        .collect();
    let file = format!("# {heading}\n\n{body}\n");
    assert!(
        file.len() > 350_000 && file.len() < 450_000,
        "{}",
        file.len()
    );
    env.write("in/long-heading.md", &file);
    let report = ingest_json(&env, &[], Duration::from_secs(600));
    assert_eq!(report["added"], 1, "{report:#}");

    let size = file.len() as i64;
    let stored = env.sql_count("SELECT sum(length(heading_path) + length(text)) FROM chunks")
        + env.sql_count("SELECT sum(length(title)) FROM documents");
    let indexed = env.sql_count("SELECT sum(length(body)) FROM chunks_fts");
    assert!(
        stored < 2 * size,
        "stored {stored} chars for a {size}-byte file"
    );
    assert!(
        indexed < 2 * size,
        "indexed {indexed} chars for a {size}-byte file"
    );
    assert!(env.sql_count("SELECT max(length(heading_path)) FROM chunks") <= 300);
    let chunks = env.sql_count("SELECT count(*) FROM chunks");
    assert!(chunks > 10);
    assert_eq!(
        env.sql_count("SELECT count(DISTINCT text_sha256) FROM chunks"),
        chunks
    );
    assert_eq!(
        env.sql_count("SELECT count(DISTINCT embedding) FROM vec_model_1"),
        chunks,
        "identical vectors"
    );
}

#[test]
fn a_long_line_without_spaces_becomes_many_bounded_chunks() {
    let env = Env::new();
    // 2 MB without a word boundary was one 2 MB chunk counted as one token.
    let line: String = (0..2_000_000u32)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    env.write("in/line.txt", format!("{line}\n"));
    let mut cmd = env.cmd();
    cmd.env("LMDECK_INGEST_MAX_FILE_MB", "4").args([
        "ingest",
        env.path("in").to_str().unwrap(),
        "--json",
    ]);
    let (ok, stdout, stderr) = run_within(cmd, Duration::from_secs(600));
    assert!(ok, "{stdout}\n{stderr}");
    let chunks = env.sql_count("SELECT count(*) FROM chunks");
    assert!(chunks > 500, "{chunks} chunks");
    assert!(env.sql_count("SELECT max(length(text)) FROM chunks") <= 4_096);
    assert!(env.sql_count("SELECT sum(token_count) FROM chunks") >= 400_000);
}

#[test]
fn names_differing_only_in_invalid_bytes_are_two_documents() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("in")).unwrap();
    for (name, text) in [
        (&b"nonutf8-\xff\xfe.md"[..], "first file about GPUs"),
        (b"nonutf8-\xfe\xff.md", "second file about disks"),
    ] {
        std::fs::write(env.path("in").join(OsStr::from_bytes(name)), text).unwrap();
    }
    let report = ingest_json(&env, &[], Duration::from_secs(120));
    assert_eq!(report["added"], 2, "{report:#}");
    let listed = env.sql_count(
        "SELECT count(*) FROM documents WHERE source_path LIKE '%nonutf8-\\xFF\\xFE.md' \
         OR source_path LIKE '%nonutf8-\\xFE\\xFF.md'",
    );
    assert_eq!(listed, 2);
    // Read back through the same names: nothing changed, nothing lost.
    let again = ingest_json(&env, &[], Duration::from_secs(120));
    assert_eq!(again["unchanged"], 2, "{again:#}");
    assert_eq!(again["added"], 0);
}

#[test]
fn links_and_fifos_are_reported_and_never_block_the_run() {
    let env = Env::new();
    good_files(&env);
    let dir = env.path("in");
    std::os::unix::fs::symlink("nowhere.md", dir.join("dangling.md")).unwrap();
    std::os::unix::fs::symlink("loop2.md", dir.join("loop1.md")).unwrap();
    std::os::unix::fs::symlink("loop1.md", dir.join("loop2.md")).unwrap();
    let fifo = std::ffi::CString::new(dir.join("pipe.md").as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);

    let report = ingest_json(&env, &[], Duration::from_secs(120));
    assert_eq!(report["added"], 3, "{report:#}");
    assert!(skip_reason(&report, "dangling.md").contains("dangling"));
    assert!(skip_reason(&report, "loop1.md").contains("loop"));
    assert!(skip_reason(&report, "pipe.md").contains("FIFO"));

    // A FIFO named as a root is refused too, never opened for a blocking read.
    let mut cmd = env.cmd();
    cmd.args(["ingest", dir.join("pipe.md").to_str().unwrap(), "--json"]);
    let (ok, stdout, stderr) = run_within(cmd, Duration::from_secs(60));
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("FIFO"), "{stdout}");
}
