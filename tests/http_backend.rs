//! The remote backend against a local server that misbehaves: every failure is a clear error
//! within the read timeout, never a hang; and `lmdeck ask` through a named endpoint.

mod common;
#[path = "common/fake_server.rs"]
mod fake_server;

use std::time::{Duration, Instant};

use common::Env;
use fake_server::FakeServer;
use lmdeck::generate::endpoints::Endpoint;
use lmdeck::generate::http::HttpGenerator;
use lmdeck::generate::{
    Cancel, ChatMessage, FinishReason, GenerateEvent, GenerateRequest, Generator, SamplingParams,
};

fn endpoint(url: String) -> Endpoint {
    Endpoint {
        base_url: url,
        model: "fake".into(),
        api_key_env: None,
        connect_timeout_s: 2,
        read_timeout_s: 1,
        context_tokens: 4096,
    }
}

fn ask(
    generator: &HttpGenerator,
) -> (
    Result<lmdeck::generate::GenerateStats, String>,
    String,
    Duration,
) {
    let request = GenerateRequest {
        messages: vec![ChatMessage::new("user", "ping")],
        sampling: SamplingParams::default(),
        max_new_tokens: 16,
        stop: Vec::new(),
    };
    let mut text = String::new();
    let started = Instant::now();
    let result = generator
        .generate(&request, &Cancel::default(), &mut |e| {
            if let GenerateEvent::Text(t) = e {
                text.push_str(&t);
            }
        })
        .map_err(|e| e.to_string());
    (result, text, started.elapsed())
}

#[test]
fn streams_a_well_behaved_answer() {
    let server = FakeServer::start();
    let g = HttpGenerator::new("fake", endpoint(server.url("ok"))).unwrap();
    let (result, text, _) = ask(&g);
    let stats = result.unwrap();
    assert_eq!(text, "Echo: ping");
    assert_eq!(stats.finish, FinishReason::Stop);
    assert_eq!(stats.completion_tokens, 3);
}

#[test]
fn token_counts_come_from_the_server_when_it_gives_them() {
    let server = FakeServer::start();
    let g = HttpGenerator::new("fake", endpoint(server.url("usage"))).unwrap();
    let (result, text, _) = ask(&g);
    let stats = result.unwrap();
    assert_eq!(text, "Echo: ping");
    assert_eq!((stats.prompt_tokens, stats.completion_tokens), (42, 7));

    // A server that refuses `stream_options` is asked again without it, and from then on;
    // the counts are then estimated.
    let g = HttpGenerator::new("fake", endpoint(server.url("strict"))).unwrap();
    for _ in 0..2 {
        let (result, text, _) = ask(&g);
        let stats = result.unwrap();
        assert_eq!(text, "Echo: ping");
        assert_eq!(stats.completion_tokens, 3);
        assert!(stats.prompt_tokens > 0 && stats.prompt_tokens != 42);
    }
}

#[test]
fn misbehaving_servers_give_clear_errors_not_hangs() {
    let server = FakeServer::start();
    let cases = [
        ("unauthorized", "HTTP 401 Unauthorized: invalid api key"),
        ("silent", "went silent for 1 s"),
        ("drop", "ended before the answer was complete"),
        ("malformed", "malformed stream event"),
        ("missing", "HTTP 404"),
    ];
    for (mode, expected) in cases {
        let g = HttpGenerator::new(mode, endpoint(server.url(mode))).unwrap();
        let (result, _, took) = ask(&g);
        let err = result.expect_err(mode);
        assert!(err.contains(expected), "{mode}: {err}");
        assert!(
            err.contains(&format!("endpoint `{mode}`")),
            "{mode}: errors name the endpoint: {err}"
        );
        assert!(took < Duration::from_secs(4), "{mode} took {took:?}");
    }
    // Nothing listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let g = HttpGenerator::new("down", endpoint(format!("http://127.0.0.1:{port}/v1"))).unwrap();
    let err = ask(&g).0.unwrap_err();
    assert!(err.contains("cannot connect"), "{err}");
}

#[test]
fn a_missing_api_key_variable_is_named() {
    let mut e = endpoint("http://127.0.0.1:9/v1".into());
    e.api_key_env = Some("LMDECK_TEST_SURELY_UNSET_KEY".into());
    let err = HttpGenerator::new("keyed", e).err().unwrap().to_string();
    assert!(err.contains("LMDECK_TEST_SURELY_UNSET_KEY"), "{err}");
}

#[test]
fn cancellation_closes_a_slow_stream() {
    let server = FakeServer::start();
    let g = HttpGenerator::new("slow", endpoint(server.url("slow"))).unwrap();
    let cancel = Cancel::default();
    let request = GenerateRequest {
        messages: vec![ChatMessage::new("user", "ping")],
        sampling: SamplingParams::default(),
        max_new_tokens: 16,
        stop: Vec::new(),
    };
    let stats = g
        .generate(&request, &cancel, &mut |e| {
            if let GenerateEvent::Text(_) = e {
                cancel.cancel();
            }
        })
        .unwrap();
    assert_eq!(stats.finish, FinishReason::Cancelled);
    assert_eq!(stats.completion_tokens, 1);
}

#[test]
fn ask_uses_a_named_endpoint_from_endpoints_toml() {
    let server = FakeServer::start();
    let env = Env::new();
    let config_dir = env.path("conf");
    env.write(
        "conf/endpoints.toml",
        format!(
            "[fake]\nbase_url = \"{}\"\nmodel = \"m\"\nread_timeout_s = 5\n",
            server.url("ok")
        ),
    );
    let out = env
        .cmd()
        .env("LMDECK_CONFIG_DIR", &config_dir)
        .args(["ask", "hello there", "--no-rag", "--model", "fake"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Echo: hello there"));
    let list = env
        .cmd()
        .env("LMDECK_CONFIG_DIR", &config_dir)
        .args(["models", "list", "--json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["name"] == "fake" && m["origin"] == "endpoint"));
    env.write(
        "conf/endpoints.toml",
        "[fake]\nbase_url = \"http://x\"\nmodel = \"m\"\nretries = 3\n",
    );
    let out = env
        .cmd()
        .env("LMDECK_CONFIG_DIR", &config_dir)
        .args(["ask", "hi", "--no-rag", "--model", "fake"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("endpoints.toml") && err.contains("line 4"),
        "{err}"
    );
}
