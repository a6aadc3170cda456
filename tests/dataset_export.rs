//! `lmdeck dataset export`: eval sets and a collection as chat-format JSONL, plain and RAG.

mod common;

use common::{ingest_kb, Env};
use serde_json::Value;

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn eval_set(env: &Env) -> std::path::PathBuf {
    env.write(
        "eval.jsonl",
        "{\"id\": \"a\", \"question\": \"How do I drain a GPU node before maintenance?\", \"answer\": \"Run nodectl drain --grace 300.\", \"doc_paths\": [\"gpu-drain.md\"]}\n\
         {\"id\": \"b\", \"question\": \"When are invoices issued?\", \"answer\": \"On the first business day of each month.\", \"doc_paths\": [\"billing.html\"]}\n",
    )
}

#[test]
fn eval_items_export_as_chats_and_as_rag_prompts_citing_their_sources() {
    let env = Env::new();
    ingest_kb(&env);
    let eval = eval_set(&env);
    let out = env.path("chat.jsonl");
    let r = env.json(&[
        "dataset",
        "export",
        "--from",
        "eval",
        "--format",
        "chat",
        "--holdout",
        "0",
        "--eval",
        eval.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(r["examples"], 2);
    let chats = lines(&out);
    assert_eq!(chats[0]["messages"][0]["role"], "user");
    assert_eq!(
        chats[0]["messages"][1]["content"],
        "Run nodectl drain --grace 300."
    );

    let rag = env.path("rag.jsonl");
    env.ok(&[
        "dataset",
        "export",
        "--from",
        "eval",
        "--format",
        "rag",
        "-c",
        "kb",
        "--sources",
        "3",
        "--holdout",
        "0",
        "--eval",
        eval.to_str().unwrap(),
        "--out",
        rag.to_str().unwrap(),
    ]);
    let items = lines(&rag);
    assert_eq!(items.len(), 2);
    for item in &items {
        let msgs = item["messages"].as_array().unwrap();
        assert_eq!(msgs[0]["role"], "system");
        assert_eq!(msgs[0]["content"], lmdeck::rag::prompt::INSTRUCTIONS);
        let prompt = msgs[1]["content"].as_str().unwrap();
        assert!(prompt.starts_with("Sources:\n\n[1] "), "{prompt}");
        let answer = msgs[2]["content"].as_str().unwrap();
        // Every cited number is a chunk of the gold document in this very prompt.
        let expected = if answer.starts_with("Run") {
            "Draining GPU nodes"
        } else {
            "Invoices"
        };
        let cited: Vec<&str> = answer
            .split('[')
            .skip(1)
            .map(|c| c.trim_end_matches(['.', ']']))
            .collect();
        assert!(!cited.is_empty(), "{answer}");
        for n in cited {
            let block = prompt.split(&format!("[{n}] ")).nth(1).unwrap();
            assert!(
                block.starts_with(expected),
                "[{n}] is not the gold source: {block}"
            );
        }
    }
}

#[test]
fn corpus_exports_leave_the_eval_documents_out_unless_asked() {
    let env = Env::new();
    ingest_kb(&env);
    let eval = eval_set(&env);
    let out = env.path("corpus.jsonl");
    let err = env.fails(&[
        "dataset",
        "export",
        "--from",
        "corpus",
        "-c",
        "kb",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(err.contains("--include-eval"), "{err}");
    assert!(!out.exists());

    env.ok(&[
        "dataset",
        "export",
        "--from",
        "corpus",
        "-c",
        "kb",
        "--eval",
        eval.to_str().unwrap(),
        "--holdout",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        !text.contains("nodectl drain") && !text.contains("Invoices are issued"),
        "{text}"
    );
    assert!(text.contains("self-service portal"), "{text}");

    env.ok(&[
        "dataset",
        "export",
        "--from",
        "corpus",
        "--format",
        "rag",
        "--sources",
        "2",
        "-c",
        "kb",
        "--include-eval",
        "--out",
        out.to_str().unwrap(),
    ]);
    let items = lines(&out);
    assert!(items
        .iter()
        .any(|i| i.to_string().contains("nodectl drain")));
    for item in &items {
        let answer = item["messages"][2]["content"].as_str().unwrap();
        assert!(
            answer.trim_end_matches('.').ends_with("[1]")
                || answer.trim_end_matches('.').ends_with("[2]"),
            "{answer}"
        );
    }
}

/// Stores a chat session the way the console and `ask` do: question, answer, sources.
/// Returns the ids of the answers, in order.
fn store_chat(env: &Env, turns: &[(&str, &str, Option<i64>)]) -> Vec<i64> {
    use lmdeck::store::chat::{self, NewMessage, StoredSource};
    let mut store = lmdeck::store::Store::open(&env.db()).unwrap();
    let tx = store.conn_mut().transaction().unwrap();
    let session = chat::create_session(&tx, "rated", Some("kb")).unwrap();
    let mut ids = Vec::new();
    for (question, answer, chunk_id) in turns {
        let sources: Vec<StoredSource> = chunk_id
            .iter()
            .map(|&chunk_id| StoredSource {
                n: 1,
                chunk_id,
                source_path: "gpu-drain.md".into(),
                heading_path: "Draining GPU nodes".into(),
                cited: true,
            })
            .collect();
        let msg = |role, content, sources| NewMessage {
            role,
            content,
            model: Some("m"),
            rag: true,
            stats: None,
            trace: None,
            sources,
        };
        chat::add_message(&tx, session, &msg("user", question, &[])).unwrap();
        ids.push(chat::add_message(&tx, session, &msg("assistant", answer, &sources)).unwrap());
    }
    tx.commit().unwrap();
    ids
}

#[test]
fn chat_answers_rated_good_export_with_their_sources_and_without_eval_questions() {
    let env = Env::new();
    ingest_kb(&env);
    let eval = eval_set(&env);
    let drain_chunk = env.sql_count(
        "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id \
         WHERE d.source_path LIKE '%gpu-drain.md' ORDER BY c.ordinal LIMIT 1",
    );
    let ids = store_chat(
        &env,
        &[
            (
                "How do I drain a node?",
                "Use nodectl drain [1].",
                Some(drain_chunk),
            ),
            ("  when ARE invoices   issued? ", "Monthly.", None),
            (
                "Where is the old page?",
                "It said so [1].",
                Some(drain_chunk + 10_000),
            ),
            ("Is this right?", "A bad answer.", None),
        ],
    );
    for (id, rating) in ids.iter().zip(["good", "good", "good", "bad"]) {
        env.ok(&["chats", "rate", &id.to_string(), rating]);
    }
    // Questions carry no rating, and the message must exist.
    let err = env.fails(&["chats", "rate", &(ids[0] - 1).to_string(), "good"]);
    assert!(err.contains("no answer"), "{err}");
    let shown = env.ok(&["chats", "show", "1"]);
    assert!(
        shown.contains(&format!("#{} assistant (m) [good]", ids[0])),
        "{shown}"
    );
    assert!(shown.contains("[bad]"), "{shown}");
    let json = env.json(&["chats", "show", "1", "--json"]);
    assert_eq!(json["messages"][7]["rating"], -1);

    let export = |format: &str, extra: &[&str]| {
        let out = env.path(&format!("chats-{format}.jsonl"));
        let mut args = vec![
            "dataset",
            "export",
            "--from",
            "chats",
            "--format",
            format,
            "--eval",
            eval.to_str().unwrap(),
            "--holdout",
            "1",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ];
        args.extend_from_slice(extra);
        (env.json(&args), lines(&out))
    };
    let (report, rows) = export("chat", &[]);
    assert_eq!(report["examples"], 2, "{report}");
    assert_eq!(report["skipped"]["eval_questions"], 1, "{report}");
    assert_eq!(rows[0]["messages"][0]["content"], "How do I drain a node?");
    assert_eq!(rows[0]["messages"][1]["content"], "Use nodectl drain [1].");
    assert_eq!(rows[1]["messages"][1]["content"], "It said so [1].");

    let (report, rows) = export("rag", &[]);
    assert_eq!(report["examples"], 1, "{report}");
    assert_eq!(report["skipped"]["sources_gone"], 1, "{report}");
    let m = rows[0]["messages"].as_array().unwrap();
    assert_eq!(m[0]["role"], "system");
    let prompt = m[1]["content"].as_str().unwrap();
    assert!(prompt.contains("[1] Draining GPU nodes"), "{prompt}");
    assert!(prompt.contains("nodectl drain --grace 300"), "{prompt}");
    assert!(prompt.contains("How do I drain a node?"), "{prompt}");
    assert_eq!(m[2]["content"], "Use nodectl drain [1].");

    let (report, _) = export("chat", &["--include-eval"]);
    assert_eq!(report["examples"], 3, "{report}");

    // Clearing a rating takes the answer out again.
    env.ok(&["chats", "rate", &ids[0].to_string(), "none"]);
    let (report, _) = export("chat", &["--include-eval"]);
    assert_eq!(report["examples"], 2, "{report}");
}
