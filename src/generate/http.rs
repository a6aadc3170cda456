//! A remote OpenAI-compatible chat endpoint as a `Generator`: `/chat/completions` with SSE
//! streaming. Connection errors, HTTP errors, silence past the read timeout and malformed or
//! truncated streams each end in a clear error, never a hang.

use std::io::{BufReader, Read};
use std::time::{Duration, Instant};

use super::endpoints::Endpoint;
use super::sse::{SseEvent, Usage};
use super::sse_reader::SseReader;
use super::{
    Cancel, ChatMessage, FinishReason, GenerateError, GenerateEvent, GenerateRequest,
    GenerateStats, Generator,
};

/// How much of an upstream error body is read, and how much of a message is kept: enough to
/// say what went wrong, not a whole page in every log line.
const ERROR_BODY_BYTES: u64 = 64 * 1024;
const ERROR_CHARS: usize = 1000;

pub struct HttpGenerator {
    name: String,
    endpoint: Endpoint,
    api_key: Option<String>,
    client: reqwest::blocking::Client,
    /// Set when the server refused `stream_options` (an older or stricter server): later
    /// requests go without it, and token counts are estimated.
    no_usage: std::sync::atomic::AtomicBool,
}

impl HttpGenerator {
    pub fn new(name: &str, endpoint: Endpoint) -> Result<HttpGenerator, GenerateError> {
        let api_key = match &endpoint.api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| GenerateError::Remote(format!("endpoint `{name}` takes its API key from the environment variable {var}, which is not set")))?),
            None => None,
        };
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(endpoint.connect_timeout_s))
            // For the blocking client this bounds each wait: for the headers and for every
            // read of the body, so it is the longest silence allowed.
            .timeout(Duration::from_secs(endpoint.read_timeout_s))
            .build()
            .map_err(|e| GenerateError::Remote(crate::util::redact::redact(&e.to_string(), &[])))?;
        Ok(HttpGenerator {
            name: name.to_string(),
            endpoint,
            api_key,
            client,
            no_usage: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn url(&self) -> String {
        format!(
            "{}/chat/completions",
            self.endpoint.base_url.trim_end_matches('/')
        )
    }

    /// Every error goes through here: upstream bodies and transport errors may echo the key
    /// or the URL's credentials, and the message ends up on screen and in the log.
    fn fail(&self, what: impl std::fmt::Display) -> GenerateError {
        // Redacted while whole (a cut could leave half a key unrecognised), then bounded and
        // made one line with control characters escaped: an upstream body may carry anything.
        let message = self.redact(&format!(
            "endpoint `{}` ({}): {what}",
            self.name, self.endpoint.base_url
        ));
        let message = crate::util::truncate_chars(&message, ERROR_CHARS);
        GenerateError::Remote(crate::util::safe::one_line(&message).into_owned())
    }

    fn redact(&self, text: &str) -> String {
        let secrets: Vec<&str> = self
            .api_key
            .as_deref()
            .into_iter()
            .chain(self.endpoint.url_secret())
            .collect();
        crate::util::redact::redact(text, &secrets)
    }
}

/// About four characters per token: used only to budget retrieved context, since a remote
/// server's tokenizer is not at hand.
fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

impl HttpGenerator {
    fn send(&self, body: &serde_json::Value) -> Result<reqwest::blocking::Response, GenerateError> {
        let mut call = self
            .client
            .post(self.url())
            .json(body)
            .header("Accept", "text/event-stream");
        if let Some(key) = &self.api_key {
            call = call.bearer_auth(key);
        }
        call.send().map_err(|e| {
            if e.is_timeout() {
                self.fail(format!(
                    "no response within {} s",
                    self.endpoint.read_timeout_s
                ))
            } else if e.is_connect() {
                self.fail(format!("cannot connect: {}", root_cause(&e)))
            } else {
                self.fail(root_cause(&e))
            }
        })
    }
}

impl Generator for HttpGenerator {
    fn name(&self) -> &str {
        &self.name
    }

    fn backend(&self) -> String {
        format!(
            "endpoint {} (model {})",
            self.endpoint.shown_url(),
            self.endpoint.model
        )
    }

    fn context_length(&self) -> usize {
        self.endpoint.context_tokens
    }

    fn count_tokens(&self, text: &str) -> Result<usize, GenerateError> {
        Ok(estimate_tokens(text))
    }

    fn prompt_tokens(&self, messages: &[ChatMessage]) -> Result<usize, GenerateError> {
        Ok(messages
            .iter()
            .map(|m| estimate_tokens(&m.content) + 4)
            .sum())
    }

    fn generate(
        &self,
        request: &GenerateRequest,
        cancel: &Cancel,
        on_event: &mut dyn FnMut(GenerateEvent),
    ) -> Result<GenerateStats, GenerateError> {
        let started = Instant::now();
        let s = &request.sampling;
        let mut body = serde_json::json!({
            "model": self.endpoint.model,
            "messages": request.messages,
            "stream": true,
            "max_tokens": request.max_new_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "seed": s.seed,
        });
        if !request.stop.is_empty() {
            body["stop"] = serde_json::json!(request.stop);
        }
        use std::sync::atomic::Ordering;
        let response = loop {
            // The server's own token counts, where it gives them (OpenAI, vLLM, llama.cpp and
            // Ollama do): a remote tokenizer is not at hand to count them here.
            let ask_usage = !self.no_usage.load(Ordering::Relaxed);
            if ask_usage {
                body["stream_options"] = serde_json::json!({"include_usage": true});
            } else if let Some(fields) = body.as_object_mut() {
                fields.remove("stream_options");
            }
            let response = self.send(&body)?;
            let status = response.status();
            if status.is_success() {
                break response;
            }
            // Bounded: an error body is quoted in the message, never streamed whole.
            let mut bytes = Vec::new();
            let _ = response.take(ERROR_BODY_BYTES).read_to_end(&mut bytes);
            let text = String::from_utf8_lossy(&bytes);
            if ask_usage && status.is_client_error() && text.contains("stream_options") {
                self.no_usage.store(true, Ordering::Relaxed);
                continue;
            }
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| {
                    v["error"]["message"]
                        .as_str()
                        .or(v["message"].as_str())
                        .or(v["error"].as_str())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| text.chars().take(300).collect());
            return Err(self.fail(format!("HTTP {status}: {message}")));
        };
        let mut reader = SseReader::new(BufReader::new(response));
        let mut first_ms = None;
        let mut first_at = None;
        let mut pieces = 0usize;
        let mut finish = None;
        let mut usage = Usage::default();
        loop {
            if cancel.is_cancelled() {
                finish = Some(FinishReason::Cancelled);
                break; // dropping the response closes the connection
            }
            let next = reader.next_event().map_err(|e| {
                if is_timeout(&e) {
                    self.fail(format!(
                        "the stream went silent for {} s",
                        self.endpoint.read_timeout_s
                    ))
                } else {
                    self.fail(format!("the stream broke: {e}"))
                }
            })?;
            let Some(event) = next else {
                if finish.is_none() {
                    return Err(self.fail("the stream ended before the answer was complete (no [DONE] and no finish reason)"));
                }
                break;
            };
            match event.map_err(|e| self.fail(e))? {
                SseEvent::Skip => {}
                SseEvent::Usage(counts) => usage = counts,
                SseEvent::Done => {
                    finish.get_or_insert(FinishReason::Stop);
                    break;
                }
                SseEvent::Delta {
                    text,
                    finish: reason,
                    usage: counts,
                } => {
                    if let Some(counts) = counts {
                        usage = counts;
                    }
                    if !text.is_empty() {
                        if first_ms.is_none() {
                            first_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
                            first_at = Some(Instant::now());
                        }
                        pieces += 1;
                        on_event(GenerateEvent::Text(text));
                    }
                    if let Some(r) = reason {
                        finish = Some(if r == "length" {
                            FinishReason::Length
                        } else {
                            FinishReason::Stop
                        });
                    }
                }
            }
        }
        let decode_s = first_at.map_or(0.0, |t| t.elapsed().as_secs_f64());
        let prompt_tokens = match usage.prompt_tokens {
            Some(n) => n,
            None => self.prompt_tokens(&request.messages)?,
        };
        // Without the server's count, stream pieces: servers send about one token per event.
        let completion_tokens = usage.completion_tokens.unwrap_or(pieces);
        let stats = GenerateStats {
            prompt_tokens,
            completion_tokens,
            time_to_first_token_ms: first_ms.unwrap_or(0.0),
            decode_tokens_per_s: if completion_tokens > 1 && decode_s > 0.0 {
                (completion_tokens - 1) as f64 / decode_s
            } else {
                0.0
            },
            total_ms: started.elapsed().as_secs_f64() * 1000.0,
            finish: finish.unwrap_or(FinishReason::Stop),
            step_ms: Default::default(),
        };
        on_event(GenerateEvent::Done(stats.clone()));
        Ok(stats)
    }
}

/// A read that gave up waiting: reqwest wraps its timeout in a decode error.
fn is_timeout(e: &std::io::Error) -> bool {
    if e.kind() == std::io::ErrorKind::TimedOut {
        return true;
    }
    let Some(inner) = e.get_ref() else {
        return false;
    };
    if inner
        .downcast_ref::<reqwest::Error>()
        .is_some_and(reqwest::Error::is_timeout)
    {
        return true;
    }
    let mut cause: &dyn std::error::Error = inner;
    loop {
        if cause.to_string().contains("timed out") {
            return true;
        }
        match cause.source() {
            Some(next) => cause = next,
            None => return false,
        }
    }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
