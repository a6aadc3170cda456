//! `lmdeck serve` against hostile or careless clients: prompts over the context, `n > 1`,
//! abandoned embedding work and the queue, slow and idle sockets, empty keys and the
//! bearer scheme's case. Plain HTTP from Rust over 127.0.0.1; every loop bounded.

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::Env;

struct Server {
    child: Child,
    base: String,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(env: &Env, args: &[&str], key: Option<&str>) -> Server {
    let mut cmd = env.cmd();
    cmd.args(["serve", "--port", "0"])
        .args(args)
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
    let addr = base
        .trim_start_matches("http://")
        .trim_end_matches("/v1")
        .to_string();
    Server { child, base, addr }
}

fn post(server: &Server, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let r = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
        .post(format!("{}{path}", server.base))
        .json(body)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(serde_json::Value::Null))
}

#[test]
fn a_prompt_over_the_context_is_a_400_whole_or_streamed() {
    let env = Env::new();
    let server = serve(&env, &[], None);
    let long = "word ".repeat(30_000);
    for stream in [false, true] {
        let (status, v) = post(
            &server,
            "/chat/completions",
            &serde_json::json!({"model": "smollm2-135m-instruct", "stream": stream,
                "messages": [{"role": "user", "content": long}]}),
        );
        assert_eq!(status, 400, "stream={stream}: {v}");
        assert_eq!(v["error"]["code"], "context_length_exceeded", "{v}");
        assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
        assert_eq!(v["error"]["param"], "messages", "{v}");
    }
    // n > 1 is refused rather than silently answered once.
    let (status, v) = post(
        &server,
        "/chat/completions",
        &serde_json::json!({"model": "smollm2-135m-instruct", "n": 2,
            "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("n=1"),
        "{v}"
    );
    assert_eq!(v["error"]["param"], "n", "{v}");
}

/// A 2,048-input request takes the only queue place (a second request gets 503); once its
/// client leaves, the work stops and the next request is answered promptly.
#[test]
fn embeddings_share_the_queue_and_stop_when_the_client_leaves() {
    let env = Env::new();
    let server = serve(&env, &["--max-queue", "1"], None);
    let text = "the quick brown fox jumps over the lazy dog ".repeat(8);
    let big = serde_json::json!({"model": "default", "input": vec![text; 2048]}).to_string();
    let mut client = TcpStream::connect(&server.addr).unwrap();
    write!(
        client,
        "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{big}",
        big.len()
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let small = serde_json::json!({"model": "default", "input": "hello"});
    let (status, v) = post(&server, "/embeddings", &small);
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["error"]["code"], "server_busy", "{v}");
    drop(client);
    let left = Instant::now();
    let mut answered = None;
    while left.elapsed() < Duration::from_secs(30) {
        let (status, _) = post(&server, "/embeddings", &small);
        if status == 200 {
            answered = Some(left.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    // Without cancellation the abandoned request holds the queue for about a minute.
    let answered = answered.expect("the abandoned embedding work kept the queue for 30 s");
    assert!(answered < Duration::from_secs(30), "{answered:?}");
}

/// Reads until the server closes the connection; returns what it sent and when it closed.
fn until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let start = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into(), Some(start.elapsed())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return (String::from_utf8_lossy(&got).into(), Some(start.elapsed())),
        }
    }
    (String::from_utf8_lossy(&got).into(), None)
}

#[test]
fn slow_and_idle_connections_are_closed() {
    let env = Env::new();
    let server = serve(
        &env,
        &["--header-timeout-s", "1", "--idle-timeout-s", "2"],
        None,
    );
    let limit = Duration::from_secs(10);

    // A socket that never says anything.
    let mut silent = TcpStream::connect(&server.addr).unwrap();
    let (_, closed) = until_closed(&mut silent, limit);
    assert!(closed.is_some(), "a silent connection stayed open");

    // Headers a byte at a time (slowloris): the header deadline does not move.
    let mut slow = TcpStream::connect(&server.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let start = Instant::now();
    let header = b"GET /v1/models HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut closed = false;
    for &b in header.iter().cycle().take(200) {
        if start.elapsed() > limit || slow.write_all(&[b]).is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 256];
        match slow.read(&mut buf) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            _ => {
                closed = true;
                break;
            }
        }
    }
    assert!(closed, "a slowloris client kept its connection");
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "{:?}",
        start.elapsed()
    );

    // A body that stalls halfway.
    let mut stalled = TcpStream::connect(&server.addr).unwrap();
    stalled
        .write_all(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"model\":")
        .unwrap();
    let (reply, closed) = until_closed(&mut stalled, limit);
    assert!(closed.is_some(), "a stalled upload stayed open: {reply}");
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 408"),
        "{reply}"
    );

    // A keep-alive connection is answered, then closed once idle.
    let mut idle = TcpStream::connect(&server.addr).unwrap();
    idle.write_all(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (reply, closed) = until_closed(&mut idle, limit);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(
        closed.is_some(),
        "an idle keep-alive connection stayed open"
    );

    // Answers still stream whole under a short idle timeout.
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/chat/completions", server.base))
        .json(
            &serde_json::json!({"model": "smollm2-135m-instruct", "stream": true, "max_tokens": 24,
            "messages": [{"role": "user", "content": "Count from one to twenty."}]}),
        )
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().unwrap();
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
}

#[test]
fn an_empty_key_variable_refuses_to_start_and_bearer_is_case_insensitive() {
    let env = Env::new();
    let mut child = env
        .cmd()
        .args([
            "serve",
            "--port",
            "0",
            "--api-key-env",
            "LMDECK_TEST_EMPTY_KEY",
        ])
        .env("LMDECK_TEST_EMPTY_KEY", "")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let status = status.expect("serve started with an empty key");
    assert!(!status.success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("LMDECK_TEST_EMPTY_KEY"), "{stderr}");
    assert!(stderr.contains("empty"), "{stderr}");

    let server = serve(&env, &[], Some("s3cret"));
    let client = reqwest::blocking::Client::new();
    for (header, status) in [
        ("bearer s3cret", 200),
        ("BEARER s3cret", 200),
        ("Bearer s3cret", 200),
        ("Bearer wrong", 401),
        ("Basic s3cret", 401),
    ] {
        let r = client
            .get(format!("{}/models", server.base))
            .header("authorization", header)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{header}");
    }
}
