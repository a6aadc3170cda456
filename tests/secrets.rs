//! Keys never leave lmdeck in what it prints or logs: an upstream that echoes the request's
//! headers (the Authorization header, Basic credentials from the URL) in its error bodies, and
//! an endpoint whose `base_url` carries `user:key@`, leave the key in neither the error, the
//! log file, nor `models list` / `models show`.

mod common;
#[path = "common/echo_server.rs"]
mod echo_server;

use common::Env;
use echo_server::EchoServer;
use lmdeck::generate::endpoints::Endpoint;
use lmdeck::generate::http::HttpGenerator;
use lmdeck::generate::{Cancel, ChatMessage, GenerateRequest, Generator, SamplingParams};

const KEY: &str = "sk-test-K3Y-0123456789abcdef";
const URL_SECRET: &str = "urlPa55word";

fn endpoint(url: String, key_env: Option<&str>) -> Endpoint {
    Endpoint {
        base_url: url,
        model: "m".into(),
        api_key_env: key_env.map(str::to_string),
        connect_timeout_s: 2,
        read_timeout_s: 2,
        context_tokens: 4096,
    }
}

fn error_of(generator: &HttpGenerator) -> String {
    let request = GenerateRequest {
        messages: vec![ChatMessage::new("user", "ping")],
        sampling: SamplingParams::default(),
        max_new_tokens: 8,
        stop: Vec::new(),
    };
    generator
        .generate(&request, &Cancel::default(), &mut |_| {})
        .expect_err("the echoing upstream always fails")
        .to_string()
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [KEY, URL_SECRET, "K3Y-0123456789"] {
        assert!(!text.contains(secret), "{what} shows a secret: {text}");
    }
}

#[test]
fn echoed_keys_and_url_credentials_are_masked_in_errors() {
    let server = EchoServer::start();
    // A variable only this test sets, so parallel tests cannot race on it.
    std::env::set_var("LMDECK_TEST_SECRETS_KEY", KEY);
    for mode in ["json", "raw", "stream"] {
        let url = server.url(mode, Some(&format!("alice:{URL_SECRET}")));
        let g = HttpGenerator::new(
            "echo",
            endpoint(url.clone(), Some("LMDECK_TEST_SECRETS_KEY")),
        )
        .unwrap();
        let err = error_of(&g);
        assert_no_secret(mode, &err);
        assert!(err.contains("***"), "{mode}: {err}");
        assert!(err.contains("127.0.0.1"), "the host stays visible: {err}");
        assert!(!err.contains('\n') && !err.contains('\r'), "{mode}: {err}");
        assert_no_secret("backend", &g.backend());
        // Basic credentials from the URL also go as a header the upstream echoes.
        let g = HttpGenerator::new("echo", endpoint(url, None)).unwrap();
        assert_no_secret(mode, &error_of(&g));
    }
}

#[test]
fn the_cli_keeps_keys_out_of_its_output_and_its_log() {
    let server = EchoServer::start();
    let env = Env::new();
    let conf = env.path("conf");
    let data = env.path("data");
    env.write(
        "conf/endpoints.toml",
        format!(
            "[echo]\nbase_url = \"{}\"\nmodel = \"m\"\napi_key_env = \"ECHO_KEY\"\nread_timeout_s = 5\n",
            server.url("json", Some(&format!("alice:{URL_SECRET}")))
        ),
    );
    let run = |args: &[&str]| {
        env.cmd()
            .env("LMDECK_CONFIG_DIR", &conf)
            .env("LMDECK_DATA_DIR", &data)
            .env("ECHO_KEY", KEY)
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["ask", "hello", "--no-rag", "--model", "echo"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert_no_secret("stderr", &stderr);
    assert_no_secret("stdout", &String::from_utf8_lossy(&out.stdout));
    let log = std::fs::read_to_string(data.join("logs/lmdeck.log")).unwrap_or_default();
    assert!(log.contains("HTTP 401"), "the failure is logged: {log}");
    assert_no_secret("lmdeck.log", &log);

    for args in [
        &["models", "list"][..],
        &["models", "list", "--json"],
        &["models", "show", "echo"],
    ] {
        let out = run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("http://***@127.0.0.1"),
            "{args:?}: {stdout}"
        );
        assert_no_secret("models output", &stdout);
    }
}
