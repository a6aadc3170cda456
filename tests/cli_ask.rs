//! `lmdeck ask`, `lmdeck models` and `lmdeck chats` with the real default chat model.

mod common;

use common::{ingest_kb, Env};

#[test]
fn ask_grounds_the_answer_in_retrieved_sources_and_stores_it() {
    let env = Env::new();
    ingest_kb(&env);
    let answer = env.json(&[
        "ask",
        "How do I drain a GPU node before maintenance?",
        "-c",
        "kb",
        "--max-tokens",
        "48",
        "--json",
    ]);
    let sources = answer["sources"].as_array().unwrap();
    assert!(!sources.is_empty(), "{answer}");
    assert!(
        sources[0]["source_path"]
            .as_str()
            .unwrap()
            .ends_with("gpu-drain.md"),
        "{answer}"
    );
    assert_eq!(sources[0]["n"], 1);
    assert!(!answer["text"].as_str().unwrap().trim().is_empty());
    assert!(answer["stats"]["completion_tokens"].as_u64().unwrap() > 0);
    assert_eq!(answer["rag"], true);
    // Attribution: every judged sentence names a listed source or none.
    let attribution = &answer["attribution"];
    assert!(attribution["threshold"].as_f64().unwrap() > 0.0, "{answer}");
    let share = attribution["grounded_share"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&share), "{answer}");
    for s in attribution["sentences"].as_array().unwrap() {
        if let Some(n) = s["source"].as_u64() {
            assert!(n >= 1 && n as usize <= sources.len(), "{answer}");
        }
    }
    let session = answer["session"].as_i64().unwrap();

    let stored = env.json(&["chats", "show", &session.to_string(), "--json"]);
    let messages = stored["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["content"], answer["text"]);
    assert_eq!(
        messages[1]["sources"].as_array().unwrap().len(),
        sources.len()
    );
    assert_eq!(
        env.sql_count("SELECT count(*) FROM chat_messages WHERE trace IS NOT NULL"),
        1
    );

    // The same question without retrieval, added to the same session, for comparison.
    let plain = env.json(&[
        "ask",
        "How do I drain a GPU node before maintenance?",
        "--no-rag",
        "--max-tokens",
        "24",
        "--session",
        &session.to_string(),
        "--json",
    ]);
    assert_eq!(plain["rag"], false);
    assert!(plain["sources"].as_array().unwrap().is_empty());
    assert_eq!(env.sql_count("SELECT count(*) FROM chat_messages"), 4);
}

#[test]
fn ask_streams_text_then_lists_the_sources() {
    let env = Env::new();
    ingest_kb(&env);
    let out = env.run(&[
        "ask",
        "When are invoices issued?",
        "-c",
        "kb",
        "--max-tokens",
        "32",
        "--no-save",
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\nSources:\n"), "{stdout}");
    assert!(stdout.contains("billing.html"), "{stdout}");
    assert!(
        stdout.contains("(* cited in the answer, ~ attributed by similarity but not cited)"),
        "{stdout}"
    );
    assert!(stdout.contains("\ngrounded: "), "{stdout}");
    assert!(
        stdout.contains("sentences supported (attributed by similarity, threshold 0.55)"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tokens/s"), "{stderr}");
    assert_eq!(
        env.sql_count("SELECT count(*) FROM chat_messages"),
        0,
        "--no-save stores nothing"
    );
}

#[test]
fn ask_reports_bad_input_clearly() {
    let env = Env::new();
    let err = env.fails(&["ask", "hello", "-c", "missing"]);
    assert!(err.contains("no collection named `missing`"), "{err}");
    let err = env.fails(&["ask", "hello", "--no-rag", "--model", "no-such-model"]);
    assert!(
        err.contains("no chat model `no-such-model`") && err.contains("smollm2-135m-instruct"),
        "{err}"
    );
}

#[test]
fn models_registry_with_lineage() {
    let env = Env::new();
    let list = env.json(&["models", "list", "--json"]);
    let installed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "smollm2-135m-instruct")
        .expect("run `lmdeck setup`")
        .clone();
    let dir = installed["path"].as_str().unwrap().to_string();
    env.ok(&[
        "models",
        "add",
        &dir,
        "--name",
        "smol-ft",
        "--base",
        "smollm2-135m-instruct",
    ]);
    let list = env.json(&["models", "list", "--json"]);
    let ft = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "smol-ft")
        .unwrap()
        .clone();
    assert_eq!(ft["origin"], "registered");
    assert_eq!(ft["base_model"], "smollm2-135m-instruct");
    let show = env.json(&["models", "show", "smol-ft", "--json"]);
    assert!(show["chat_template"]
        .as_str()
        .unwrap()
        .contains("<|im_start|>"));
    assert_eq!(show["eos_tokens"][0], "<|im_end|>");
    env.ok(&["models", "remove", "smol-ft"]);
    let err = env.fails(&["models", "remove", "smol-ft"]);
    assert!(err.contains("no registered model `smol-ft`"), "{err}");
    let err = env.fails(&["models", "add", env.dir.path().to_str().unwrap()]);
    assert!(err.contains("model.onnx is missing"), "{err}");
}

#[test]
fn import_gguf_rejects_a_file_that_is_not_gguf() {
    let env = Env::new();
    let bogus = env.write("fake.gguf", "this is not a GGUF file");
    let err = env.fails(&[
        "models",
        "import-gguf",
        bogus.to_str().unwrap(),
        "--name",
        "fake",
    ]);
    assert!(err.contains("fake.gguf"), "{err}");
    assert_eq!(
        env.sql_count("SELECT count(*) FROM models"),
        0,
        "nothing registered"
    );
}

#[test]
fn pinned_chunks_come_first_and_stay_with_the_session() {
    let env = Env::new();
    ingest_kb(&env);
    let billing = env.sql_count("SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.source_path LIKE '%billing.html' LIMIT 1");
    let pin = billing.to_string();
    let answer = env.json(&[
        "ask",
        "How do I drain a GPU node?",
        "-c",
        "kb",
        "--pin",
        &pin,
        "--pin",
        &pin,
        "--max-tokens",
        "8",
        "--json",
    ]);
    assert_eq!(
        answer["sources"][0]["chunk_id"].as_i64(),
        Some(billing),
        "{answer}"
    );
    let offered = answer["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["chunk_id"].as_i64() == Some(billing))
        .count();
    assert_eq!(offered, 1, "a chunk pinned twice is offered once");
    let session = answer["session"].as_i64().unwrap().to_string();
    assert_eq!(env.sql_count("SELECT count(*) FROM session_pins"), 1);
    // The next question in the session keeps the pin without repeating it.
    let next = env.json(&[
        "ask",
        "And the password?",
        "-c",
        "kb",
        "--session",
        &session,
        "--max-tokens",
        "8",
        "--json",
    ]);
    assert_eq!(next["sources"][0]["chunk_id"].as_i64(), Some(billing));
    // An excluded chunk is never offered, pinned or not.
    env.ok(&["chunk", "exclude", &pin]);
    let after = env.json(&[
        "ask",
        "Invoices?",
        "-c",
        "kb",
        "--session",
        &session,
        "--max-tokens",
        "8",
        "--json",
        "--no-save",
    ]);
    assert!(
        after["sources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["chunk_id"].as_i64() != Some(billing)),
        "{after}"
    );
}
