//! Reads a server-sent-events stream as the spec defines it: lines end in CRLF, LF or a lone
//! CR; an event's `data:` lines are joined with a newline and the event ends at a blank line.
//! Servers that send one `data:` line per event without blank lines between them are read
//! too: a pending event is dispatched when the next `data:` line starts and what is pending
//! is already complete (`[DONE]` or whole JSON).

use std::io::BufRead;

use super::sse::{parse_line, SseEvent};

/// A line longer than this is cut (a stream that never ends a line must not grow memory).
const MAX_LINE: usize = 4 << 20;

pub struct SseReader<R> {
    reader: R,
    /// A CR ended the last line: a LF right after it belongs to the same line end.
    after_cr: bool,
    /// `data:` values of the event being read.
    pending: Vec<String>,
    ended: bool,
}

impl<R: BufRead> SseReader<R> {
    pub fn new(reader: R) -> SseReader<R> {
        SseReader {
            reader,
            after_cr: false,
            pending: Vec::new(),
            ended: false,
        }
    }

    /// The next event that carries something (`Skip`s are passed over), `Ok(None)` at the end
    /// of the stream; an `Err` inside is a malformed or error event.
    pub fn next_event(&mut self) -> std::io::Result<Option<Result<SseEvent, String>>> {
        loop {
            if self.ended {
                return Ok(match self.take_pending() {
                    Some(Ok(SseEvent::Skip)) | None => None,
                    other => other,
                });
            }
            let Some(line) = self.read_line()? else {
                self.ended = true;
                continue;
            };
            if line.is_empty() {
                match self.take_pending() {
                    Some(Ok(SseEvent::Skip)) | None => continue,
                    event => return Ok(event),
                }
            }
            let Some(value) = line.strip_prefix("data:") else {
                continue; // comments, `event:`, `id:`, `retry:`
            };
            let value = value.strip_prefix(' ').unwrap_or(value).to_string();
            if self.pending_is_complete() {
                let event = self.take_pending();
                self.pending.push(value);
                match event {
                    Some(Ok(SseEvent::Skip)) | None => continue,
                    event => return Ok(event),
                }
            }
            self.pending.push(value);
        }
    }

    fn pending_is_complete(&self) -> bool {
        let data = self.pending.join("\n");
        let data = data.trim();
        !self.pending.is_empty()
            && (data == "[DONE]" || serde_json::from_str::<serde_json::Value>(data).is_ok())
    }

    fn take_pending(&mut self) -> Option<Result<SseEvent, String>> {
        if self.pending.is_empty() {
            return None;
        }
        let data = std::mem::take(&mut self.pending).join("\n");
        Some(parse_line(&format!("data: {data}")))
    }

    /// One line without its terminator; `None` at the end of the stream.
    fn read_line(&mut self) -> std::io::Result<Option<String>> {
        let mut line = Vec::new();
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok((!line.is_empty()).then(|| String::from_utf8_lossy(&line).into()));
            }
            if self.after_cr && buf[0] == b'\n' {
                self.reader.consume(1);
                self.after_cr = false;
                continue;
            }
            self.after_cr = false;
            match buf.iter().position(|b| *b == b'\n' || *b == b'\r') {
                Some(pos) => {
                    if line.len() < MAX_LINE {
                        line.extend_from_slice(&buf[..pos.min(MAX_LINE - line.len())]);
                    }
                    self.after_cr = buf[pos] == b'\r';
                    self.reader.consume(pos + 1);
                    return Ok(Some(String::from_utf8_lossy(&line).into()));
                }
                None => {
                    let n = buf.len();
                    if line.len() < MAX_LINE {
                        line.extend_from_slice(&buf[..n.min(MAX_LINE - line.len())]);
                    }
                    self.reader.consume(n);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(stream: &str, capacity: usize) -> Vec<Result<SseEvent, String>> {
        let reader = std::io::BufReader::with_capacity(capacity, stream.as_bytes());
        let mut sse = SseReader::new(reader);
        let mut out = Vec::new();
        while let Some(e) = sse.next_event().unwrap() {
            out.push(e);
        }
        out
    }

    const HI: &str = r#"{"choices":[{"delta":{"content":"hi"},"finish_reason":null}]}"#;

    #[test]
    fn reads_lf_crlf_and_cr_line_ends_and_events_without_blank_lines() {
        for stream in [
            format!("data: {HI}\n\ndata: [DONE]\n\n"),
            format!("data: {HI}\r\n\r\ndata: [DONE]\r\n\r\n"),
            format!("data: {HI}\r\rdata: [DONE]\r\r"),
            format!("data: {HI}\ndata: {HI}\ndata: [DONE]\n"),
            format!(": keep-alive\n\nevent: message\ndata: {HI}\n\ndata: [DONE]"),
        ] {
            for capacity in [1, 3, 16, 1024] {
                let got = events(&stream, capacity);
                assert!(got.len() >= 2, "{stream:?}: {got:?}");
                assert_eq!(got.last(), Some(&Ok(SseEvent::Done)), "{stream:?}");
                assert!(got[..got.len() - 1]
                    .iter()
                    .all(|e| matches!(e, Ok(SseEvent::Delta { text, .. }) if text == "hi")));
            }
        }
    }

    #[test]
    fn joins_an_events_data_lines() {
        let stream =
            "data: {\"choices\":[{\"delta\":\ndata: {\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n";
        let got = events(stream, 7);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(matches!(&got[0], Ok(SseEvent::Delta { text, .. }) if text == "hi"));
    }

    #[test]
    fn a_malformed_event_is_an_error() {
        let got = events("data: {not json\n\n", 8);
        assert!(matches!(&got[..], [Err(e)] if e.starts_with("malformed stream event")));
    }
}
