//! Ingestion through the real binary: incremental runs, dry runs, pruning, duplicates and bad
//! input.

mod common;
use common::{write_corpus, Env};

#[test]
fn second_ingest_reports_everything_unchanged() {
    let env = Env::new();
    let docs = write_corpus(&env);
    let docs = docs.to_str().unwrap();
    let first = env.json(&["ingest", docs, "--collection", "kb", "--json"]);
    assert_eq!(first["added"], 5, "{first}");
    assert_eq!(first["modified"], 0);
    assert!(first["chunks_written"].as_u64().unwrap() >= 5);

    let second = env.json(&["ingest", docs, "--collection", "kb", "--json"]);
    assert_eq!(second["added"], 0);
    assert_eq!(second["modified"], 0);
    assert_eq!(second["unchanged"], 5);
    assert_eq!(second["chunks_embedded"], 0);
    let human = env.ok(&["ingest", docs, "--collection", "kb"]);
    assert!(
        human.contains("0 added, 0 modified, 5 unchanged, 0 removed"),
        "{human}"
    );
}

#[test]
fn modified_files_reuse_unchanged_chunk_embeddings() {
    let env = Env::new();
    let long: String = (0..12)
        .map(|i| format!("## Section {i}\n\nParagraph {i} explains topic number {i} in some detail with several words.\n\n"))
        .collect();
    let path = env.write("docs/long.md", format!("# Guide\n\n{long}"));
    let docs = env.path("docs");
    let docs = docs.to_str().unwrap();
    let first = env.json(&["ingest", docs, "--json"]);
    let chunks = first["chunks_written"].as_u64().unwrap();
    assert!(chunks >= 12, "{first}");

    std::fs::write(
        &path,
        format!("# Guide\n\n{long}## Appendix\n\nA new closing section.\n"),
    )
    .unwrap();
    let second = env.json(&["ingest", docs, "--json"]);
    assert_eq!(second["modified"], 1);
    assert_eq!(second["chunks_embedded"], 1, "{second}");
    assert_eq!(second["chunks_reused"].as_u64().unwrap(), chunks);
}

#[test]
fn dry_run_reports_and_writes_nothing() {
    let env = Env::new();
    let docs = write_corpus(&env);
    let docs = docs.to_str().unwrap();
    let plan = env.json(&["ingest", docs, "--dry-run", "--json"]);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["added"], 5);
    assert_eq!(env.sql_count("SELECT count(*) FROM documents"), 0);

    env.ok(&["ingest", docs]);
    std::fs::write(
        env.path("docs/password.txt"),
        "Password reset\n\nChanged text.\n",
    )
    .unwrap();
    std::fs::remove_file(env.path("docs/billing.html")).unwrap();
    let plan = env.json(&["ingest", docs, "--dry-run", "--json"]);
    assert_eq!(
        (
            plan["added"].as_u64(),
            plan["modified"].as_u64(),
            plan["unchanged"].as_u64()
        ),
        (Some(0), Some(1), Some(3))
    );
    assert_eq!(plan["removed"].as_array().unwrap().len(), 1);
    assert_eq!(env.sql_count("SELECT count(*) FROM documents"), 5);
}

#[test]
fn removed_files_are_kept_until_prune() {
    let env = Env::new();
    let docs = write_corpus(&env);
    let docs = docs.to_str().unwrap();
    env.ok(&["ingest", docs]);
    std::fs::remove_file(env.path("docs/gpu-drain.md")).unwrap();
    let kept = env.ok(&["ingest", docs]);
    assert!(
        kept.contains("gone from disk, kept (use --prune to delete)"),
        "{kept}"
    );
    assert_eq!(env.sql_count("SELECT count(*) FROM documents"), 5);

    let pruned = env.ok(&["ingest", docs, "--prune"]);
    assert!(pruned.contains("gpu-drain.md: deleted"), "{pruned}");
    assert_eq!(env.sql_count("SELECT count(*) FROM documents"), 4);
    assert_eq!(
        env.sql_count("SELECT count(*) FROM chunks_fts"),
        env.sql_count("SELECT count(*) FROM chunks")
    );
}

#[test]
fn bad_input_is_reported_and_the_rest_is_ingested() {
    let env = Env::new();
    env.write(
        "in/good.md",
        "# Good\n\nA perfectly normal document about GPU quotas.\n",
    );
    env.write("in/binary.txt", b"\x00\x01\x02binary\x00".as_slice());
    env.write("in/latin1.txt", b"caf\xe9 au lait".as_slice());
    env.write("in/empty.md", "");
    env.write("in/blank.txt", "   \n\n  ");
    env.write("in/huge.txt", "word ".repeat(300_000));
    env.write("in/image.png", b"\x89PNG".as_slice());
    env.write(
        "in/records.jsonl",
        "{\"_id\": \"a\", \"text\": \"first record\"}\n{broken json\n{\"title\": \"no id\"}\n{\"_id\": \"b\", \"text\": \"second record\"}\n",
    );
    env.write(
        "in/copy.md",
        "# Good\n\nA perfectly normal document about GPU quotas.\n",
    );
    let out = env
        .cmd()
        .env("LMDECK_INGEST_MAX_FILE_MB", "1")
        .args(["ingest", env.path("in").to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reasons: Vec<String> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}: {}",
                s["path"].as_str().unwrap(),
                s["reason"].as_str().unwrap()
            )
        })
        .collect();
    let has = |needle: &str| reasons.iter().any(|r| r.contains(needle));
    assert!(has("binary.txt: binary file"), "{reasons:#?}");
    assert!(has("latin1.txt: invalid UTF-8 at byte 3"), "{reasons:#?}");
    assert!(has("empty.md: empty file"), "{reasons:#?}");
    assert!(has("blank.txt: empty document"), "{reasons:#?}");
    assert!(
        has("huge.txt: file is 1.4 MiB, over the 1 MiB limit"),
        "{reasons:#?}"
    );
    assert!(
        has("records.jsonl:2: line 2: not a JSON object"),
        "{reasons:#?}"
    );
    assert!(
        has("records.jsonl:3: line 3: missing `_id`"),
        "{reasons:#?}"
    );
    assert_eq!(report["unsupported"][".png"], 1);
    assert_eq!(report["duplicates"].as_array().unwrap().len(), 1);
    // good.md (or its copy) and the two valid records
    assert_eq!(report["added"], 3, "{report}");
}

#[test]
fn a_collection_built_with_another_model_is_refused() {
    let env = Env::new();
    let docs = write_corpus(&env);
    let docs = docs.to_str().unwrap();
    env.ok(&["ingest", docs, "-c", "kb"]);
    {
        let store = lmdeck::store::Store::open(&env.db()).unwrap();
        store
            .conn()
            .execute("UPDATE embed_models SET sha256 = 'other'", [])
            .unwrap();
    }
    let err = env.fails(&["ingest", docs, "-c", "kb"]);
    assert!(
        err.contains("vectors from two models cannot be mixed"),
        "{err}"
    );
    assert!(err.contains("lmdeck reembed --collection kb"), "{err}");
    let err = env.fails(&["search", "gpu", "-c", "kb"]);
    assert!(err.contains("lmdeck reembed --collection kb"), "{err}");

    // reembed switches the collection to the configured model and search works again
    let out = env.ok(&["reembed", "--collection", "kb"]);
    assert!(out.contains("re-embedded"), "{out}");
    let hits = env.json(&["search", "drain a GPU node", "-c", "kb", "--json"]);
    assert!(hits["hits"][0]["source_path"]
        .as_str()
        .unwrap()
        .ends_with("gpu-drain.md"));
}

#[test]
fn a_moved_file_keeps_its_document_tags_and_vectors() {
    let env = Env::new();
    let docs = write_corpus(&env);
    let docs = docs.to_str().unwrap();
    env.ok(&["ingest", docs]);
    let old = env.path("docs/gpu-drain.md").canonicalize().unwrap();
    env.ok(&["docs", "tag", old.to_str().unwrap(), "runbook"]);
    std::fs::create_dir_all(env.path("docs/runbooks")).unwrap();
    std::fs::rename(&old, env.path("docs/runbooks/drain.md")).unwrap();

    let report = env.json(&["ingest", docs, "--prune", "--json"]);
    assert_eq!(report["renamed"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(
        (
            report["added"].as_u64(),
            report["removed"].as_array().unwrap().len()
        ),
        (Some(0), 0)
    );
    assert_eq!(report["chunks_embedded"], 0);
    assert!(report["duplicates"].as_array().unwrap().is_empty());
    let new = env.path("docs/runbooks/drain.md").canonicalize().unwrap();
    let doc = env.json(&["docs", "show", new.to_str().unwrap(), "--json"]);
    assert_eq!(doc["tags"][0], "runbook", "{doc}");
}

#[test]
fn a_missing_root_never_prunes_its_documents() {
    let env = Env::new();
    let docs = write_corpus(&env);
    env.ok(&["ingest", docs.to_str().unwrap()]);
    let renamed = env.path("moved-away");
    std::fs::rename(&docs, &renamed).unwrap();
    let report = env.json(&["ingest", docs.to_str().unwrap(), "--prune", "--json"]);
    assert!(report["removed"].as_array().unwrap().is_empty(), "{report}");
    assert!(report["skipped"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("does not exist"));
    assert_eq!(env.sql_count("SELECT count(*) FROM documents"), 5);
}

#[test]
fn chunk_exclusions_survive_a_modified_document() {
    let env = Env::new();
    let body = "# Guide\n\n## Keep\n\nThis section stays exactly as it is.\n\n## Change\n\nThis section will be edited.\n";
    let path = env.write("docs/guide.md", body);
    let docs = env.path("docs");
    env.ok(&["ingest", docs.to_str().unwrap()]);
    let doc = env.json(&[
        "docs",
        "show",
        path.canonicalize().unwrap().to_str().unwrap(),
        "--json",
    ]);
    let keep = doc["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["heading_path"] == "Guide > Keep")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    env.ok(&["chunk", "exclude", &keep.to_string()]);

    std::fs::write(&path, body.replace("will be edited", "was edited")).unwrap();
    env.ok(&["ingest", docs.to_str().unwrap()]);
    let doc = env.json(&[
        "docs",
        "show",
        path.canonicalize().unwrap().to_str().unwrap(),
        "--json",
    ]);
    let chunks = doc["chunks"].as_array().unwrap();
    let keep = chunks
        .iter()
        .find(|c| c["heading_path"] == "Guide > Keep")
        .unwrap();
    let changed = chunks
        .iter()
        .find(|c| c["heading_path"] == "Guide > Change")
        .unwrap();
    assert_eq!(keep["excluded"], true);
    assert_eq!(changed["excluded"], false);
}

#[test]
fn new_chunker_settings_need_every_root_of_the_collection() {
    let env = Env::new();
    env.write("a/one.md", "# One\n\nFirst folder.\n");
    env.write("b/two.md", "# Two\n\nSecond folder.\n");
    let (a, b) = (env.path("a"), env.path("b"));
    env.ok(&["ingest", a.to_str().unwrap(), b.to_str().unwrap()]);
    let out = env
        .cmd()
        .env("LMDECK_CHUNK_TARGET_TOKENS", "120")
        .args(["ingest", a.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("must be re-chunked as a whole"), "{err}");
    let out = env
        .cmd()
        .env("LMDECK_CHUNK_TARGET_TOKENS", "120")
        .args(["ingest", a.to_str().unwrap(), b.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["rechunked"], true);
    assert_eq!(report["modified"], 2);
    let err = env
        .cmd()
        .env("LMDECK_CHUNK_TARGET_TOKENS", "250")
        .args(["ingest", a.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&err.stderr).contains("leaves no room for titles and headings"));
}
