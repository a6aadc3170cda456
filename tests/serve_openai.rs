//! `lmdeck serve` driven by the official `openai` Python client (installed by
//! scripts/test.sh into .venv-test), plus the server's own limits checked over plain HTTP.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::{ingest_kb, Env};

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(env: &Env, key: Option<&str>) -> Server {
    let mut cmd = env.cmd();
    cmd.args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(key) = key {
        cmd.env("LMDECK_TEST_SERVE_KEY", key)
            .args(["--api-key-env", "LMDECK_TEST_SERVE_KEY"]);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    Server { child, base }
}

fn python() -> String {
    std::env::var("LMDECK_TEST_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/.venv-test/bin/python").to_string()
    })
}

#[test]
fn the_official_openai_client_works_against_serve() {
    let env = Env::new();
    ingest_kb(&env);
    let server = serve(&env, Some("s3cret"));
    let python = python();
    assert!(
        std::path::Path::new(&python).is_file(),
        "{python} missing: scripts/test.sh creates .venv-test with the openai client"
    );
    let out = Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/openai_client.py"
        ))
        .args([&server.base, "s3cret", "kb"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let models: Vec<&str> = r["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    assert_eq!(
        models,
        vec![
            "smollm2-135m-instruct",
            "smollm2-135m-instruct@kb",
            "all-minilm-l6-v2-int8"
        ]
    );
    assert!(
        r["plain"]["text"].as_str().unwrap().contains("Paris"),
        "{r}"
    );
    assert_eq!(r["plain"]["finish"], "stop");
    assert!(r["stream"]["pieces"].as_u64().unwrap() > 3, "{r}");
    assert!(!r["stream"]["text"].as_str().unwrap().is_empty());
    assert!(["stop", "length"].contains(&r["stream"]["finish"].as_str().unwrap()));
    assert_eq!(r["embeddings"], serde_json::json!([384, 384]));
    assert_eq!(r["not_found"]["status"], 404);
    assert!(r["not_found"]["message"]
        .as_str()
        .unwrap()
        .contains("no-such-model"));
    assert_eq!(r["auth"]["status"], 401);
}

#[test]
fn limits_and_errors_use_one_json_format() {
    let env = Env::new();
    let server = serve(&env, None);
    let client = reqwest::blocking::Client::new();
    let url = format!("{}/chat/completions", server.base);
    let big = format!(
        "{{\"model\":\"x\",\"messages\":[{{\"role\":\"user\",\"content\":\"{}\"}}]}}",
        "a".repeat(2 << 20)
    );
    let cases = [
        (big, 413, "request_too_large"),
        ("{broken".to_string(), 400, "invalid_json"),
        (
            r#"{"model":"smollm2-135m-instruct","messages":[{"role":"assistant","content":"hi"}]}"#
                .to_string(),
            400,
            "invalid_request",
        ),
        (
            r#"{"model":"smollm2-135m-instruct@nope","messages":[{"role":"user","content":"hi"}]}"#
                .to_string(),
            404,
            "model_not_found",
        ),
    ];
    for (body, status, code) in cases {
        let r = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{code}");
        let v: serde_json::Value = r.json().unwrap();
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    let r = client
        .get(format!("{}/nowhere", server.base))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

/// lmdeck's own remote backend (an `endpoints.toml` entry, SSE through reqwest) against
/// `lmdeck serve`: a plain answer, then a RAG answer whose sources come from the client's
/// collection while the server only generates.
#[test]
fn lmdecks_http_backend_works_against_serve() {
    let env = Env::new();
    ingest_kb(&env);
    let server = serve(&env, Some("s3cret"));
    let config_dir = env.path("conf");
    env.write(
        "conf/endpoints.toml",
        format!(
            "[local]\nbase_url = \"{}\"\nmodel = \"smollm2-135m-instruct\"\napi_key_env = \"LMDECK_TEST_ENDPOINT_KEY\"\nread_timeout_s = 60\n",
            server.base
        ),
    );
    let ask = |args: &[&str], key: &str| {
        env.cmd()
            .env("LMDECK_CONFIG_DIR", &config_dir)
            .env("LMDECK_TEST_ENDPOINT_KEY", key)
            .arg("ask")
            .args(args)
            .output()
            .unwrap()
    };
    let ask_json = |args: &[&str]| {
        let out = ask(args, "s3cret");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let answer = ask_json(&[
        "What is the capital of France?",
        "--no-rag",
        "--model",
        "local",
        "--json",
    ]);
    assert!(
        answer["text"].as_str().unwrap_or("").contains("Paris"),
        "{answer}"
    );
    assert!(
        answer["backend"]
            .as_str()
            .unwrap_or("")
            .starts_with(&format!("endpoint {}", server.base)),
        "{answer}"
    );

    let answer = ask_json(&[
        "How long is the drain grace period?",
        "-c",
        "kb",
        "--model",
        "local",
        "--json",
    ]);
    let sources = answer["sources"].as_array().unwrap();
    assert!(
        sources.iter().any(|s| s["source_path"]
            .as_str()
            .unwrap_or("")
            .ends_with("gpu-drain.md")),
        "{answer}"
    );
    assert!(
        !answer["text"].as_str().unwrap_or("").is_empty(),
        "{answer}"
    );

    // A wrong key: the server's 401 comes back as a clear error naming the endpoint.
    let out = ask(&["hi", "--no-rag", "--model", "local"], "wrong");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("local") && err.contains("401"),
        "{err}"
    );
}
