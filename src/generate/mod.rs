//! Text generation: the `Generator` trait, a local ONNX decoder for models in the Optimum
//! "text-generation-with-past" layout (KV cache carried between steps), sampling, stop
//! conditions and chat templates.

pub mod attention;
pub mod endpoints;
pub mod http;
mod kv_shared;
pub mod manifest;
pub mod onnx;
pub mod sampler;
pub mod sse;
pub mod sse_reader;
pub mod stop;
pub mod template;
/// A deterministic generator for tests (no model files).
pub mod test_engine;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

pub use manifest::DecoderManifest;
pub use onnx::OnnxDecoder;
pub use sampler::SamplingParams;
pub use template::{ChatMessage, ChatTemplate};

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("model {dir}: {detail}")]
    Model { dir: String, detail: String },
    #[error(transparent)]
    Onnx(#[from] crate::onnx::OnnxError),
    #[error("inference failed: {0}")]
    Inference(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("chat template: {0}")]
    Template(String),
    #[error("the prompt has {prompt} tokens but the model's context is {context}; shorten it or lower the retrieved context")]
    PromptTooLong { prompt: usize, context: usize },
    #[error("the generation thread stopped")]
    WorkerGone,
    #[error("{0}")]
    Remote(String),
}

/// One generation request: the conversation so far and how to continue it.
#[derive(Debug, Clone)]
pub struct GenerateRequest {
    pub messages: Vec<ChatMessage>,
    pub sampling: SamplingParams,
    pub max_new_tokens: usize,
    /// Extra stop strings (the model's end-of-sequence tokens always stop).
    pub stop: Vec<String>,
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// An end-of-sequence token or a stop string.
    Stop,
    /// `max_new_tokens` or the context window.
    Length,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GenerateStats {
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub time_to_first_token_ms: f64,
    pub decode_tokens_per_s: f64,
    pub total_ms: f64,
    pub finish: FinishReason,
    /// Per-step decode time near the start and the end of the answer (local models), so a
    /// slowdown as the context grows shows.
    #[serde(default)]
    pub step_ms: StepTimes,
}

/// Mean milliseconds per decode step over the first and the last few steps (0 when unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepTimes {
    pub start: f64,
    pub end: f64,
}

impl StepTimes {
    /// Steps averaged at each end.
    pub const WINDOW: usize = 8;

    /// From each decode step's duration in milliseconds, in order.
    pub fn from_steps(steps: &[f64]) -> StepTimes {
        let mean = |s: &[f64]| {
            if s.is_empty() {
                0.0
            } else {
                s.iter().sum::<f64>() / s.len() as f64
            }
        };
        let n = steps.len().min(Self::WINDOW);
        StepTimes {
            start: mean(&steps[..n]),
            end: mean(&steps[steps.len() - n..]),
        }
    }
}

/// Streamed pieces of an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum GenerateEvent {
    Text(String),
    Done(GenerateStats),
}

/// A handle that stops a running generation at the next token.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Something that turns a prompt into streamed text.
pub trait Generator: Send + Sync {
    fn name(&self) -> &str;
    /// Where the model runs: the execution provider in use, or the endpoint's address.
    fn backend(&self) -> String;
    /// Tokens the model can attend to.
    fn context_length(&self) -> usize;
    fn count_tokens(&self, text: &str) -> Result<usize, GenerateError>;
    /// Tokens the conversation takes once rendered for the model.
    fn prompt_tokens(&self, messages: &[ChatMessage]) -> Result<usize, GenerateError>;
    /// Generates, calling `on_event` for each piece of text and once at the end.
    fn generate(
        &self,
        request: &GenerateRequest,
        cancel: &Cancel,
        on_event: &mut dyn FnMut(GenerateEvent),
    ) -> Result<GenerateStats, GenerateError>;
}
