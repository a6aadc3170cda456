//! The console's curation tools as headless commands: sync from stored folders (dry run
//! first), near duplicates, the chunk-length histogram, "why not?", and relative paths.

mod common;

use common::{ingest_kb, Env};

#[test]
fn sync_dry_run_shows_the_diff_and_writes_nothing_then_applies_it() {
    let env = Env::new();
    ingest_kb(&env);
    env.write(
        "docs/new.md",
        "# New page\n\nFresh content about quota requests.\n",
    );
    env.write(
        "docs/gpu-drain.md",
        "# Draining GPU nodes\n\nUse `nodectl drain --grace 600` now.\n",
    );
    std::fs::remove_file(env.path("docs/password.txt")).unwrap();
    let before = env.sql_count("SELECT count(*) FROM documents");

    let plan = env.json(&["sync", "-c", "kb", "--dry-run", "--json"]);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["added"], 1);
    assert_eq!(plan["modified"], 1);
    let removed = plan["removed"].as_array().unwrap();
    assert_eq!(removed.len(), 1);
    assert!(removed[0].as_str().unwrap().ends_with("password.txt"));
    assert_eq!(
        env.sql_count("SELECT count(*) FROM documents"),
        before,
        "a dry run writes nothing"
    );

    let done = env.json(&["sync", "-c", "kb", "--json"]);
    assert_eq!(done["added"], 1);
    assert_eq!(done["pruned"], true);
    assert_eq!(
        env.sql_count("SELECT count(*) FROM documents WHERE source_path LIKE '%password.txt'"),
        0
    );
    assert_eq!(
        env.sql_count("SELECT count(*) FROM documents WHERE source_path LIKE '%new.md'"),
        1
    );
    let again = env.json(&["sync", "-c", "kb", "--dry-run", "--json"]);
    assert_eq!(
        (again["added"].as_u64(), again["modified"].as_u64()),
        (Some(0), Some(0))
    );
}

#[test]
fn sync_of_an_unknown_collection_is_a_clear_error() {
    let env = Env::new();
    // No database yet: named, and not created by a command that only reads.
    let err = env.fails(&["sync", "-c", "nope"]);
    assert!(err.contains("does not exist"), "{err}");
    assert!(err.contains(&env.db().display().to_string()), "{err}");
    assert!(
        !env.db().exists(),
        "a reading command must not create the database"
    );
    env.write("d/a.md", "# A\n\nSome text about clusters.\n");
    env.ok(&["ingest", env.path("d").to_str().unwrap(), "-c", "real"]);
    let err = env.fails(&["sync", "-c", "nope"]);
    assert!(err.contains("no collection named `nope`"), "{err}");
}

#[test]
fn a_db_in_a_missing_folder_is_refused_by_readers_and_created_by_ingest() {
    let env = Env::new();
    let db = env.path("no/such/folder/x.db");
    let db_arg = db.to_str().unwrap();
    for args in [
        vec!["--db", db_arg, "collections"],
        vec!["--db", db_arg, "docs", "list", "-c", "x"],
        vec!["--db", db_arg, "search", "gpu", "-c", "x"],
    ] {
        let err = env.fails(&args);
        assert!(err.contains(db_arg), "{args:?}: {err}");
        assert!(!db.exists(), "{args:?} created the database");
    }
    env.write("d/a.md", "# A\n\nSome text about clusters.\n");
    let out = env
        .cmd()
        .args([
            "--db",
            db_arg,
            "ingest",
            env.path("d").to_str().unwrap(),
            "-c",
            "x",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("created a new database"), "{stderr}");
    assert!(db.exists());
}

#[test]
fn near_duplicates_are_found_and_bad_thresholds_refused() {
    let env = Env::new();
    let text =
        "The cluster scheduler restarts every night at two in the morning for log rotation and \
                configuration reloads; jobs submitted during the restart wait in the queue.";
    env.write("d/a.md", format!("# Scheduler\n\n{text}\n"));
    env.write(
        "d/b.md",
        format!("# Scheduler notes\n\n{text} Nothing is lost.\n"),
    );
    env.write(
        "d/c.md",
        "# Lunch\n\nThe cafeteria serves soup on Mondays.\n",
    );
    env.ok(&["ingest", env.path("d").to_str().unwrap(), "-c", "dup"]);
    let report = env.json(&["dupes", "-c", "dup", "--threshold", "0.9", "--json"]);
    let pairs = report["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 1, "{report}");
    assert!(pairs[0]["similarity"].as_f64().unwrap() >= 0.9);
    assert_eq!(report["chunks_compared"], 3);

    // Excluding one side removes the pair.
    let a = pairs[0]["a"].as_i64().unwrap().to_string();
    env.ok(&["chunk", "exclude", &a]);
    let report = env.json(&["dupes", "-c", "dup", "--threshold", "0.9", "--json"]);
    assert_eq!(report["pairs"].as_array().unwrap().len(), 0);

    let err = env.fails(&["dupes", "-c", "dup", "--threshold", "1.5"]);
    assert!(err.contains("threshold 1.5 is outside 0.5..1"), "{err}");
    let err = env.fails(&["dupes", "-c", "dup", "--threshold", "0.1"]);
    assert!(err.contains("threshold 0.1 is outside 0.5..1"), "{err}");
}

#[test]
fn histogram_counts_every_chunk() {
    let env = Env::new();
    ingest_kb(&env);
    let chunks = env.sql_count("SELECT count(*) FROM chunks");
    let out = env.ok(&["histogram", "-c", "kb", "--buckets", "4"]);
    assert!(
        out.starts_with(&format!("{chunks} chunks, tokens min ")),
        "{out}"
    );
    let counted: i64 = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(1).unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(counted, chunks);
}

#[test]
fn why_not_explains_an_excluded_document_and_a_missing_one() {
    let env = Env::new();
    ingest_kb(&env);
    // Relative paths name documents in every command.
    let why_drain = || {
        let report = env.json(&[
            "why",
            "drain the gpu node",
            "gpu-drain.md",
            "-c",
            "kb",
            "--json",
        ]);
        report["summary"].as_str().unwrap().to_string()
    };
    env.ok(&["docs", "exclude", "gpu-drain.md", "-c", "kb"]);
    let summary = why_drain();
    assert!(summary.contains("the document is excluded"), "{summary}");

    env.ok(&["docs", "include", "gpu-drain.md", "-c", "kb"]);
    let summary = why_drain();
    assert!(summary.contains("returned at rank 1"), "{summary}");

    let report = env.json(&[
        "why",
        "drain the gpu node",
        "billing.html",
        "-c",
        "kb",
        "--k",
        "1",
        "--json",
    ]);
    let summary = report["summary"].as_str().unwrap();
    assert!(
        summary.contains("below k = 1") || summary.contains("cut before fusion"),
        "{summary}"
    );
    assert!(report["chunks"][0]["vector_rank"].as_u64().unwrap() > 1);

    let err = env.fails(&["why", "drain", "nothing-here.md", "-c", "kb"]);
    assert!(err.contains("no document nothing-here.md"), "{err}");
}

#[test]
fn tags_by_relative_path_and_ambiguous_suffixes() {
    let env = Env::new();
    env.write("t/a/readme.md", "# A\n\nFirst readme.\n");
    env.write("t/b/readme.md", "# B\n\nSecond readme.\n");
    env.ok(&["ingest", env.path("t").to_str().unwrap(), "-c", "t"]);
    env.ok(&["docs", "tag", "a/readme.md", "team-a", "-c", "t"]);
    assert_eq!(
        env.sql_count("SELECT count(*) FROM document_tags WHERE tag = 'team-a'"),
        1
    );
    let err = env.fails(&["docs", "tag", "readme.md", "x", "-c", "t"]);
    assert!(err.contains("several documents end with it"), "{err}");
    let err = env.fails(&["docs", "tag", "a/readme.md", "  ", "-c", "t"]);
    assert!(err.contains("tag must not be empty"), "{err}");
}
