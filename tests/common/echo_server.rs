//! An upstream that echoes the request's headers back in its errors, as some proxies and
//! misconfigured servers do: the first path segment picks how (`/json/...`: a 401 whose JSON
//! message quotes them, `/raw/...`: a 500 with them as a plain-text body, `/stream/...`: an
//! SSE error event mid-stream).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

pub struct EchoServer {
    pub port: u16,
}

impl EchoServer {
    pub fn start() -> EchoServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let _ = handle(stream);
                });
            }
        });
        EchoServer { port }
    }

    /// The base URL for a mode, with `userinfo` (`user:pass`) in it when given.
    pub fn url(&self, mode: &str, userinfo: Option<&str>) -> String {
        let auth = userinfo.map_or(String::new(), |u| format!("{u}@"));
        format!("http://{auth}127.0.0.1:{}/{mode}/v1", self.port)
    }
}

fn handle(mut stream: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end().to_string();
        if header.is_empty() {
            break;
        }
        if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        headers.push(header);
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
    let echoed = headers.join("\r\n");
    match mode.as_str() {
        "json" => {
            let body = serde_json::json!({"error": {
                "message": format!("invalid credentials; you sent:\n{echoed}"),
                "headers": headers,
            }})
            .to_string();
            write!(stream, "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())?;
        }
        "raw" => {
            let body = format!("upstream proxy error\r\n{echoed}\r\n");
            write!(stream, "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())?;
        }
        _ => {
            let event = serde_json::json!({"error": {"message": format!("overloaded; request was {echoed}")}});
            write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\ndata: {event}\n\n")?;
        }
    }
    stream.flush()
}
