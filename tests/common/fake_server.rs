//! A small OpenAI-compatible server that misbehaves on request: the first path segment picks
//! the behaviour (`/ok/v1/chat/completions`, `/unauthorized/...`, `/silent/...`, `/drop/...`,
//! `/malformed/...`, `/slow/...`, `/judge/...`, `/usage/...` which sends token counts when asked
//! as vLLM does, `/strict/...` which refuses `stream_options` with a 400 as an older server
//! would). Real sockets, real HTTP/1.1, real SSE framing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

pub struct FakeServer {
    pub port: u16,
}

impl FakeServer {
    pub fn start() -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let _ = handle(stream);
                });
            }
        });
        FakeServer { port }
    }

    pub fn url(&self, mode: &str) -> String {
        format!("http://127.0.0.1:{}/{mode}/v1", self.port)
    }
}

fn delta(text: &str) -> String {
    format!(
        "data: {}\n\n",
        serde_json::json!({"choices": [{"delta": {"content": text}, "finish_reason": null}]})
    )
}

/// A grader that follows lmdeck's judge prompt: correct (score 5) when the graded answer
/// contains the first reference answer, ignoring case; prose that does not parse when the
/// answer says "garble"; otherwise incorrect with a score of 1 or 2 by the request's seed
/// (so repeated gradings spread).
fn grade(prompt: &str, seed: u64) -> String {
    let reference = prompt
        .split("Reference answer:\n")
        .nth(1)
        .and_then(|r| r.lines().next())
        .unwrap_or("")
        .trim_start_matches("- ")
        .to_lowercase();
    let answer = prompt
        .split("Answer to grade:\n")
        .nth(1)
        .and_then(|a| a.split("\n\nGrade it.").next())
        .unwrap_or("")
        .to_lowercase();
    if answer.contains("garble") {
        "I would rather not say.".into()
    } else if !reference.is_empty() && answer.contains(&reference) {
        "VERDICT: correct\nSCORE: 5".into()
    } else {
        format!("VERDICT: incorrect\nSCORE: {}", 1 + seed % 2)
    }
}

fn handle(mut stream: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        if header.trim().is_empty() {
            break;
        }
        if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mode = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("")
        .to_string();
    let sse_head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if mode == "strict" && request.get("stream_options").is_some() {
        let body =
            r#"{"error":{"message":"unknown field `stream_options`","type":"invalid_request"}}"#;
        return write!(stream, "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    }
    match mode.as_str() {
        "ok" | "slow" | "usage" | "strict" => {
            stream.write_all(sse_head.as_bytes())?;
            stream.write_all(b": keep-alive\n\n")?;
            let question = request["messages"]
                .as_array()
                .and_then(|m| m.last())
                .and_then(|m| m["content"].as_str())
                .unwrap_or("")
                .to_string();
            for piece in ["Echo", ": ", question.as_str()] {
                if mode == "slow" {
                    std::thread::sleep(Duration::from_millis(300));
                }
                stream.write_all(delta(piece).as_bytes())?;
                stream.flush()?;
            }
            stream.write_all(
                b"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            )?;
            if mode == "usage" && request["stream_options"]["include_usage"] == true {
                stream.write_all(b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":7,\"total_tokens\":49}}\n\n")?;
            }
            stream.write_all(b"data: [DONE]\n\n")?;
        }
        "judge" => {
            let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let prompt = request["messages"]
                .as_array()
                .and_then(|m| m.last())
                .and_then(|m| m["content"].as_str())
                .unwrap_or("")
                .to_string();
            let seed = request["seed"].as_u64().unwrap_or(0);
            stream.write_all(sse_head.as_bytes())?;
            stream.write_all(delta(&grade(&prompt, seed)).as_bytes())?;
            stream.write_all(b"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")?;
        }
        "unauthorized" => {
            let body = r#"{"error":{"message":"invalid api key","type":"auth"}}"#;
            write!(stream, "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())?;
        }
        "silent" => {
            stream.write_all(sse_head.as_bytes())?;
            stream.write_all(delta("Hel").as_bytes())?;
            stream.flush()?;
            std::thread::sleep(Duration::from_secs(5));
        }
        "drop" => {
            stream.write_all(sse_head.as_bytes())?;
            stream.write_all(delta("Partial").as_bytes())?;
            stream.flush()?;
            // Closed without [DONE] or a finish reason.
        }
        "malformed" => {
            stream.write_all(sse_head.as_bytes())?;
            stream.write_all(b"data: {\"choices\": [oops\n\n")?;
        }
        _ => {
            write!(
                stream,
                "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found"
            )?;
        }
    }
    stream.flush()
}
