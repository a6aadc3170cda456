//! Server-sent events of an OpenAI-compatible `/v1/chat/completions` stream: `data: {json}`
//! lines, `data: [DONE]` at the end, comments and other fields ignored. vLLM, llama.cpp's
//! server, Ollama and TGI all speak this; some omit the space after `data:`.

use serde::Deserialize;

/// One parsed line of the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum SseEvent {
    /// New answer text (may be empty); the last one may carry the server's token counts
    /// (llama.cpp sends them there).
    Delta {
        text: String,
        finish: Option<String>,
        usage: Option<Usage>,
    },
    /// The server's token counts in a chunk of their own (vLLM, OpenAI), asked for with
    /// `stream_options.include_usage`.
    Usage(Usage),
    Done,
    /// A line that carries nothing for us (comments, `event:`, keep-alives).
    Skip,
}

/// Token counts as the server counted them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: Option<usize>,
    #[serde(default)]
    pub completion_tokens: Option<usize>,
}

#[derive(Debug, Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

/// Parses one line; errors name what was wrong.
pub fn parse_line(line: &str) -> Result<SseEvent, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    let Some(data) = line.strip_prefix("data:") else {
        return Ok(SseEvent::Skip);
    };
    let data = data.trim_start();
    if data == "[DONE]" {
        return Ok(SseEvent::Done);
    }
    if data.is_empty() {
        return Ok(SseEvent::Skip);
    }
    let chunk: Chunk = serde_json::from_str(data).map_err(|e| {
        let shown: String = data.chars().take(120).collect();
        format!("malformed stream event ({e}): {shown}")
    })?;
    if let Some(error) = chunk.error {
        let message = error
            .get("message")
            .and_then(|m| m.as_str())
            .map_or_else(|| error.to_string(), str::to_string);
        return Err(format!(
            "the server reported an error mid-stream: {message}"
        ));
    }
    // `"usage": {}` or `null` counts nothing.
    let usage = chunk
        .usage
        .filter(|u| u.prompt_tokens.is_some() || u.completion_tokens.is_some());
    let Some(choice) = chunk.choices.into_iter().next() else {
        return Ok(usage.map_or(SseEvent::Skip, SseEvent::Usage));
    };
    Ok(SseEvent::Delta {
        text: choice.delta.and_then(|d| d.content).unwrap_or_default(),
        finish: choice.finish_reason,
        usage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_deltas_done_and_noise() {
        assert_eq!(
            parse_line(
                "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}"
            )
            .unwrap(),
            SseEvent::Delta {
                text: "Hi".into(),
                finish: None,
                usage: None
            }
        );
        assert_eq!(
            parse_line("data:{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}").unwrap(),
            SseEvent::Delta {
                text: String::new(),
                finish: Some("stop".into()),
                usage: None
            }
        );
        assert_eq!(parse_line("data: [DONE]").unwrap(), SseEvent::Done);
        assert_eq!(parse_line(": keep-alive").unwrap(), SseEvent::Skip);
        assert_eq!(parse_line("event: message").unwrap(), SseEvent::Skip);
        assert_eq!(
            parse_line("data: {\"choices\":[],\"usage\":{}}").unwrap(),
            SseEvent::Skip
        );
    }

    #[test]
    fn usage_comes_alone_or_with_the_last_delta() {
        let counts = Usage {
            prompt_tokens: Some(42),
            completion_tokens: Some(7),
        };
        assert_eq!(
            parse_line("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":7,\"total_tokens\":49}}").unwrap(),
            SseEvent::Usage(counts)
        );
        assert_eq!(
            parse_line("data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":7}}").unwrap(),
            SseEvent::Delta {
                text: String::new(),
                finish: Some("length".into()),
                usage: Some(counts)
            }
        );
        assert_eq!(
            parse_line("data: {\"choices\":[],\"usage\":null}").unwrap(),
            SseEvent::Skip
        );
    }

    #[test]
    fn malformed_and_error_events_are_errors() {
        let err = parse_line("data: {not json").unwrap_err();
        assert!(err.starts_with("malformed stream event"), "{err}");
        let err = parse_line("data: {\"error\":{\"message\":\"model overloaded\"}}").unwrap_err();
        assert!(err.contains("model overloaded"), "{err}");
    }
}
