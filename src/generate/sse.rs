//! Server-sent events of an OpenAI-compatible `/v1/chat/completions` stream: `data: {json}`
//! lines, `data: [DONE]` at the end, comments and other fields ignored. vLLM, llama.cpp's
//! server, Ollama and TGI all speak this; some omit the space after `data:`.

use serde::Deserialize;

/// One parsed line of the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum SseEvent {
    /// New answer text (may be empty).
    Delta {
        text: String,
        finish: Option<String>,
    },
    Done,
    /// A line that carries nothing for us (comments, `event:`, keep-alives).
    Skip,
}

#[derive(Debug, Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    error: Option<serde_json::Value>,
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
    let Some(choice) = chunk.choices.into_iter().next() else {
        return Ok(SseEvent::Skip); // usage-only chunks
    };
    Ok(SseEvent::Delta {
        text: choice.delta.and_then(|d| d.content).unwrap_or_default(),
        finish: choice.finish_reason,
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
                finish: None
            }
        );
        assert_eq!(
            parse_line("data:{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}").unwrap(),
            SseEvent::Delta {
                text: String::new(),
                finish: Some("stop".into())
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
    fn malformed_and_error_events_are_errors() {
        let err = parse_line("data: {not json").unwrap_err();
        assert!(err.starts_with("malformed stream event"), "{err}");
        let err = parse_line("data: {\"error\":{\"message\":\"model overloaded\"}}").unwrap_err();
        assert!(err.contains("model overloaded"), "{err}");
    }
}
