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
