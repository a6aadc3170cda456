//! Evaluation sets through the real binary: a SQuAD import with its corpus ingested by the
//! real embedder, the sample QA set, re-imports, a bad file, removal, and drafting with the
//! real default chat model.

mod common;
use common::Env;

fn fixture(rel: &str) -> String {
    format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs lmdeck with the SQuAD corpora written inside the test's temp dir.
fn run(env: &Env, args: &[&str]) -> std::process::Output {
    env.cmd()
        .env("LMDECK_EVAL_CORPORA_DIR", env.path("corpora"))
        .args(args)
        .output()
        .expect("run lmdeck")
}

fn ok(env: &Env, args: &[&str]) -> String {
    let out = run(env, args);
    assert!(
        out.status.success(),
        "lmdeck {args:?} failed\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn squad_and_jsonl_sets_import_show_and_go() {
    let env = Env::new();
    let squad = fixture("tests/fixtures/squad/mini-v2.json");
    let out: serde_json::Value =
        serde_json::from_str(&ok(&env, &["eval", "sets", "import", &squad, "--json"])).unwrap();
    assert_eq!(out["name"], "mini-v2");
    assert_eq!(out["collection"], "squad-mini-v2");
    assert_eq!(out["items"], 12);
    assert_eq!(out["unanswerable"], 3);
    assert!(env.path("corpora/mini-v2").is_dir());

    let shown = env.json(&["eval", "sets", "show", "mini-v2", "--json"]);
    let items = shown["items"].as_array().unwrap();
    assert_eq!(items.len(), 12);
    let store = lmdeck::store::Store::open(&env.db()).unwrap();
    for item in items {
        let answers = item["answers"].as_array().unwrap();
        let chunks = item["gold_chunks"].as_array().unwrap();
        if item["unanswerable"] == true {
            assert!(answers.is_empty() && chunks.is_empty(), "{item}");
            assert!(item["gold_docs"].as_object().unwrap().is_empty(), "{item}");
            continue;
        }
        assert!(
            !chunks.is_empty(),
            "answerable item without gold chunks: {item}"
        );
        let doc = item["gold_docs"]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone();
        assert!(doc.ends_with(".txt") && doc.contains('/'), "{doc}");
        for chunk in chunks {
            let text: String = store
                .conn()
                .query_row(
                    "SELECT text FROM chunks WHERE id = ?1",
                    [chunk.as_i64().unwrap()],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(
                answers.iter().any(|a| text.contains(a.as_str().unwrap())),
                "chunk {chunk} does not hold an answer of {item}"
            );
        }
    }

    // Sample set: 45 items; a second import of the same content is a no-op.
    let sample = fixture("sample-data/eval/qa.jsonl");
    let first = ok(&env, &["eval", "sets", "import", &sample]);
    assert!(first.contains("45 items"), "{first}");
    let again = ok(&env, &["eval", "sets", "import", &sample]);
    assert!(
        again.contains("already there") && again.contains("sha256"),
        "{again}"
    );

    // Other content under a taken name, and a bad file: errors that store nothing.
    let other = env.write(
        "other.jsonl",
        "{\"id\": 1, \"question\": \"q?\", \"answers\": [\"a\"]}\n",
    );
    let e = env.fails(&[
        "eval",
        "sets",
        "import",
        other.to_str().unwrap(),
        "--name",
        "qa",
    ]);
    assert!(e.contains("`qa` exists"), "{e}");
    let bad = env.write(
        "bad.jsonl",
        "{\"id\": 1, \"question\": \"q?\", \"answers\": [\"a\"]}\n{\"id\": 2, \"question\": \"r?\", \"answers\": [\"b\"], \"colour\": \"red\"}\n",
    );
    let e = env.fails(&["eval", "sets", "import", bad.to_str().unwrap()]);
    assert!(
        e.contains("bad.jsonl") && e.contains("line 2") && e.contains("`colour`"),
        "{e}"
    );
    let e = env.fails(&[
        "eval",
        "sets",
        "import",
        other.to_str().unwrap(),
        "--name",
        "a b",
    ]);
    assert!(e.contains("set name"), "{e}");
    let sets = env.json(&["eval", "sets", "list", "--json"]);
    let names: Vec<_> = sets
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["mini-v2", "qa"]);
    assert_eq!(env.sql_count("SELECT count(*) FROM eval_items"), 57);

    let listed = env.ok(&["eval", "sets", "list"]);
    assert!(
        listed.contains("squad-mini-v2") && listed.contains("sample"),
        "{listed}"
    );
    env.ok(&["eval", "sets", "rm", "qa"]);
    assert_eq!(env.sql_count("SELECT count(*) FROM eval_items"), 12);
    let e = env.fails(&["eval", "sets", "show", "qa"]);
    assert!(e.contains("no evaluation set `qa`"), "{e}");
}

#[test]
fn beir_folders_import_as_retrieval_sets() {
    let env = Env::new();
    env.write(
        "tiny/corpus.jsonl",
        "{\"_id\": \"d1\", \"text\": \"Alpha.\"}\n",
    );
    env.write(
        "tiny/queries.jsonl",
        "{\"_id\": \"q1\", \"text\": \"alpha?\"}\n",
    );
    env.write(
        "tiny/qrels/test.tsv",
        "query-id\tcorpus-id\tscore\nq1\td1\t2\n",
    );
    let dir = env.path("tiny");
    let out = env.ok(&["eval", "sets", "import", dir.to_str().unwrap()]);
    assert!(
        out.contains("collection beir-tiny") && out.contains("lmdeck ingest"),
        "{out}"
    );
    let shown = env.json(&["eval", "sets", "show", "tiny", "--json"]);
    assert_eq!(shown["set"]["meta"]["kind"], "retrieval");
    assert_eq!(shown["items"][0]["gold_docs"]["d1"], 2);
}

#[test]
fn drafts_are_stored_as_drafts_and_accepted() {
    let env = Env::new();
    let words = |topic: &str| -> String {
        format!(
            "The {topic} team meets every Tuesday at nine in the north building. Each meeting starts with a short review of open tickets, then the on-call engineer reports incidents from the past week. Decisions are written in the shared notes so that people who missed the meeting can catch up before Friday."
        )
    };
    env.write("kb/a.txt", words("storage"));
    env.write("kb/b.txt", words("network"));
    env.ok(&["ingest", env.path("kb").to_str().unwrap(), "-c", "kb"]);
    let out = env.json(&[
        "eval", "draft", "-c", "kb", "-n", "2", "--seed", "1", "--json",
    ]);
    let drafted = out["drafted"].as_u64().unwrap();
    let skipped = out["skipped"].as_u64().unwrap();
    assert_eq!(drafted + skipped, 2, "{out}");
    assert_eq!(out["name"], "draft-kb");
    let shown = env.json(&["eval", "sets", "show", "draft-kb", "--json"]);
    assert_eq!(shown["set"]["status"], "draft");
    assert_eq!(shown["set"]["meta"]["skipped"], skipped);
    let items = shown["items"].as_array().unwrap();
    assert_eq!(items.len() as u64, drafted);
    for item in items {
        assert_eq!(item["draft"], true);
        assert!(item["question"].as_str().unwrap().ends_with('?'), "{item}");
        assert_eq!(item["answers"].as_array().unwrap().len(), 1);
        assert_eq!(item["gold_chunks"].as_array().unwrap().len(), 1);
    }
    env.ok(&["eval", "sets", "accept", "draft-kb"]);
    let shown = env.json(&["eval", "sets", "show", "draft-kb", "--json"]);
    assert_eq!(shown["set"]["status"], "accepted");
    assert!(shown["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["draft"] == false));
    let e = env.fails(&["eval", "sets", "reject", "draft-kb", "nope"]);
    assert!(e.contains("no item `nope`"), "{e}");
}
