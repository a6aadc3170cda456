//! A test engine: a deterministic generator that needs no model files, for RAG, serve and
//! console tests. Not for real use.
//!
//! Tokens are whitespace-separated words. Prompts are rendered with ChatML, so the template's
//! own tokens count as they would for a real model. The answer is scripted (or echoes the
//! last user message) and streams one word at a time, honouring cancel, `max_new_tokens`,
//! stop strings and an optional per-token delay (for cancel tests). Every request is kept
//! for assertions.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{
    Cancel, ChatMessage, ChatTemplate, FinishReason, GenerateError, GenerateEvent, GenerateRequest,
    GenerateStats, Generator,
};

/// What the generator answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Script {
    /// The content of the last user message.
    Echo,
    /// This text, whatever the prompt.
    Text(String),
}

#[derive(Debug)]
pub struct ScriptedGenerator {
    name: String,
    script: Script,
    context: usize,
    delay: Duration,
    template: ChatTemplate,
    requests: Mutex<Vec<GenerateRequest>>,
}

impl ScriptedGenerator {
    /// Answers with `text`.
    pub fn new(text: &str) -> ScriptedGenerator {
        ScriptedGenerator {
            name: "test-scripted".into(),
            script: Script::Text(text.into()),
            context: 4096,
            delay: Duration::ZERO,
            template: ChatTemplate::chatml(),
            requests: Mutex::new(Vec::new()),
        }
    }

    /// Answers with the last user message.
    pub fn echo() -> ScriptedGenerator {
        ScriptedGenerator {
            name: "test-echo".into(),
            script: Script::Echo,
            ..ScriptedGenerator::new("")
        }
    }

    /// A context window of `tokens` (4096 by default).
    pub fn with_context(mut self, tokens: usize) -> Self {
        self.context = tokens;
        self
    }

    /// Sleeps this long before each token, so a test can cancel mid-answer.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Every request generated so far, oldest first.
    pub fn requests(&self) -> Vec<GenerateRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The messages of the latest request.
    pub fn last_messages(&self) -> Option<Vec<ChatMessage>> {
        self.requests().pop().map(|r| r.messages)
    }

    fn answer(&self, messages: &[ChatMessage]) -> String {
        match &self.script {
            Script::Text(t) => t.clone(),
            Script::Echo => messages
                .iter()
                .rev()
                .find(|m| m.role == "user")
                .map(|m| m.content.clone())
                .unwrap_or_default(),
        }
    }
}

/// Word tokens with their leading whitespace, so the pieces concatenate back to the text.
pub fn pieces(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() && in_word {
            out.push(&text[start..i]);
            start = i;
        }
        in_word = !c.is_whitespace();
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

impl Generator for ScriptedGenerator {
    fn name(&self) -> &str {
        &self.name
    }

    fn backend(&self) -> String {
        "test".into()
    }

    fn context_length(&self) -> usize {
        self.context
    }

    fn count_tokens(&self, text: &str) -> Result<usize, GenerateError> {
        Ok(text.split_whitespace().count())
    }

    fn prompt_tokens(&self, messages: &[ChatMessage]) -> Result<usize, GenerateError> {
        self.count_tokens(&self.template.render(messages, true)?)
    }

    fn generate(
        &self,
        request: &GenerateRequest,
        cancel: &Cancel,
        on_event: &mut dyn FnMut(GenerateEvent),
    ) -> Result<GenerateStats, GenerateError> {
        let started = Instant::now();
        if let Ok(mut r) = self.requests.lock() {
            r.push(request.clone());
        }
        let prompt = self.prompt_tokens(&request.messages)?;
        if prompt >= self.context {
            return Err(GenerateError::PromptTooLong {
                prompt,
                context: self.context,
            });
        }
        let answer = self.answer(&request.messages);
        let limit = request.max_new_tokens.min(self.context - prompt);
        let (mut text, mut completion, mut first) = (String::new(), 0, None);
        let mut finish = FinishReason::Stop;
        for piece in pieces(&answer) {
            if cancel.is_cancelled() {
                finish = FinishReason::Cancelled;
                break;
            }
            if completion == limit {
                finish = FinishReason::Length;
                break;
            }
            std::thread::sleep(self.delay);
            completion += 1;
            first.get_or_insert_with(|| started.elapsed());
            let before = text.len();
            text.push_str(piece);
            // A stop string ends the answer before it, as with the real decoders.
            if let Some(at) = request
                .stop
                .iter()
                .filter_map(|s| text.find(s.as_str()))
                .min()
            {
                if at > before {
                    on_event(GenerateEvent::Text(text[before..at].to_string()));
                }
                break;
            }
            on_event(GenerateEvent::Text(piece.to_string()));
        }
        let total = started.elapsed();
        let decode = total
            .saturating_sub(first.unwrap_or_default())
            .as_secs_f64();
        let stats = GenerateStats {
            prompt_tokens: prompt,
            completion_tokens: completion,
            time_to_first_token_ms: first.unwrap_or_default().as_secs_f64() * 1000.0,
            decode_tokens_per_s: if decode > 0.0 {
                completion.saturating_sub(1) as f64 / decode
            } else {
                0.0
            },
            total_ms: total.as_secs_f64() * 1000.0,
            finish,
            step_ms: Default::default(),
        };
        on_event(GenerateEvent::Done(stats.clone()));
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::SamplingParams;

    fn request(question: &str, max_new_tokens: usize, stop: &[&str]) -> GenerateRequest {
        GenerateRequest {
            messages: vec![ChatMessage::new("user", question)],
            sampling: SamplingParams::default(),
            max_new_tokens,
            stop: stop.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn run(
        g: &ScriptedGenerator,
        r: &GenerateRequest,
        cancel: &Cancel,
    ) -> (Vec<String>, GenerateStats) {
        let mut pieces = Vec::new();
        let stats = g
            .generate(r, cancel, &mut |e| {
                if let GenerateEvent::Text(t) = e {
                    pieces.push(t)
                }
            })
            .unwrap();
        (pieces, stats)
    }

    #[test]
    fn streams_word_by_word_and_counts_the_template() {
        let g = ScriptedGenerator::echo();
        let (pieces, stats) = run(&g, &request("Drain  the node", 10, &[]), &Cancel::default());
        assert_eq!(pieces, ["Drain", "  the", " node"]);
        assert_eq!(
            (stats.completion_tokens, stats.finish),
            (3, FinishReason::Stop)
        );
        // "<|im_start|>user\nDrain the node<|im_end|>\n<|im_start|>assistant\n"
        assert_eq!(stats.prompt_tokens, 5);
        assert_eq!(g.last_messages().unwrap()[0].content, "Drain  the node");
    }

    #[test]
    fn honours_max_tokens_stop_strings_and_cancel() {
        let g = ScriptedGenerator::new("one two three four");
        let (p, s) = run(&g, &request("q", 2, &[]), &Cancel::default());
        assert_eq!(
            (p.concat(), s.finish),
            ("one two".into(), FinishReason::Length)
        );
        let (p, s) = run(&g, &request("q", 9, &["thr"]), &Cancel::default());
        assert_eq!(
            (p.concat(), s.finish),
            ("one two ".into(), FinishReason::Stop)
        );
        let cancel = Cancel::default();
        cancel.cancel();
        let (p, s) = run(&g, &request("q", 9, &[]), &cancel);
        assert_eq!((p.len(), s.finish), (0, FinishReason::Cancelled));
        let small = ScriptedGenerator::echo().with_context(3);
        let err = small.generate(&request("a b c", 9, &[]), &cancel, &mut |_| {});
        assert!(matches!(err, Err(GenerateError::PromptTooLong { .. })));
    }
}
