//! The one RAG prompt builder: `ask`, the console, `serve` (and evaluation) all turn a
//! question, the conversation so far and the candidate sources into chat messages here.
//!
//! Nothing is guessed: every size is the generator's own count of the rendered messages
//! (`prompt_tokens`), so the chat template's tokens are measured, not assumed.
//!
//! What goes in, in order of priority, within the context less the answer's tokens:
//! 1. the instructions and the question (always);
//! 2. sources: pinned chunks first, then the retrieved hits in rank order; a chunk that does
//!    not fit is left out and smaller later ones may still fit. Sources come before history
//!    because an answer must be grounded; a follow-up gets older turns when sources leave room;
//! 3. history, newest turns first, whole turns only (the kept part starts at a user message,
//!    as templates that insist on alternating roles need); the oldest go first.

use serde::Serialize;

use super::context::Source;
use crate::generate::{ChatMessage, GenerateError, Generator};
use crate::retrieve::Hit;

pub const INSTRUCTIONS: &str = "You answer questions using only the numbered sources given with the question. \
Cite the sources you use with their numbers in brackets, like [1]. If the sources do not contain the answer, \
say that you do not know.";

#[derive(Debug, Clone, Copy)]
pub struct PromptInput<'a> {
    pub question: &'a str,
    /// Earlier turns, oldest first. Only `user` and `assistant` messages are used: with
    /// sources, lmdeck's instructions are the system message.
    pub history: &'a [ChatMessage],
    /// Chunks offered before any retrieved one (already checked to be usable).
    pub pinned: &'a [Hit],
    /// Retrieved chunks in rank order (a pinned one among them is offered once).
    pub hits: &'a [Hit],
    /// Prompt + answer tokens at most; the model's own context caps it too.
    pub context_tokens: usize,
    /// Answer tokens wanted; kept free when choosing sources and history.
    pub max_new_tokens: usize,
    /// Instructions replacing [`INSTRUCTIONS`] (an evaluation's prompt variant).
    pub instructions: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PromptTokens {
    /// The window used: `context_tokens` capped by the model's context.
    pub context: usize,
    /// The rendered prompt, as the generator counts it.
    pub prompt: usize,
    /// The instructions-free question alone, rendered: the floor of any prompt.
    pub question_only: usize,
    /// Answer tokens: `max_new_tokens` capped by what the prompt leaves (at least 1).
    pub max_new_tokens: usize,
}

/// What did not fit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dropped {
    /// Earlier messages left out: the first `history` usable ones (the oldest).
    pub history: usize,
    /// Chunks offered as sources that did not fit, in the order offered.
    pub chunks: Vec<i64>,
}

impl Dropped {
    pub fn is_empty(&self) -> bool {
        self.history == 0 && self.chunks.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub messages: Vec<ChatMessage>,
    /// The numbered sources in the prompt, `[1]` first.
    pub sources: Vec<Source>,
    pub tokens: PromptTokens,
    pub dropped: Dropped,
}

/// The chat messages: with sources, the instructions, the history, then the numbered sources
/// and the question in one user message; without, the history and the bare question.
pub fn messages(question: &str, history: &[ChatMessage], sources: &[Source]) -> Vec<ChatMessage> {
    messages_with(INSTRUCTIONS, question, history, sources)
}

/// [`messages`] with other instructions.
pub fn messages_with(
    instructions: &str,
    question: &str,
    history: &[ChatMessage],
    sources: &[Source],
) -> Vec<ChatMessage> {
    let mut out = Vec::with_capacity(history.len() + 2);
    if !sources.is_empty() {
        out.push(ChatMessage::new("system", instructions));
    }
    out.extend(history.iter().cloned());
    if sources.is_empty() {
        out.push(ChatMessage::new("user", question));
    } else {
        let blocks: Vec<String> = sources.iter().map(Source::block).collect();
        out.push(ChatMessage::new(
            "user",
            format!(
                "Sources:\n\n{}\n\nQuestion: {question}",
                blocks.join("\n\n")
            ),
        ));
    }
    out
}

/// Builds the prompt for `input`, measuring with `generator`.
pub fn build(generator: &dyn Generator, input: &PromptInput) -> Result<Prompt, GenerateError> {
    let context = input.context_tokens.min(generator.context_length());
    let budget = context.saturating_sub(input.max_new_tokens);
    let instructions = input.instructions.unwrap_or(INSTRUCTIONS);
    let messages = |question: &str, history: &[ChatMessage], sources: &[Source]| {
        messages_with(instructions, question, history, sources)
    };
    let fits = |history: &[ChatMessage], sources: &[Source]| -> Result<bool, GenerateError> {
        Ok(generator.prompt_tokens(&messages(input.question, history, sources))? <= budget)
    };
    let question_only = generator.prompt_tokens(&messages(input.question, &[], &[]))?;

    let mut dropped = Dropped::default();
    let mut sources: Vec<Source> = Vec::new();
    for hit in offered(input.pinned, input.hits) {
        sources.push(Source::from_hit(sources.len() + 1, hit));
        if !fits(&[], &sources)? {
            sources.pop();
            dropped.chunks.push(hit.chunk_id);
        }
    }

    let history: Vec<ChatMessage> = input
        .history
        .iter()
        .filter(|m| m.role == "user" || m.role == "assistant")
        .cloned()
        .collect();
    // Where the kept history may start (a user message), oldest first. More history never
    // takes fewer tokens, so a binary search finds the oldest start that fits.
    let starts: Vec<usize> = (0..history.len())
        .filter(|&i| history[i].role == "user")
        .collect();
    let (mut lo, mut hi) = (0, starts.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fits(&history[starts[mid]..], &sources)? {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let from = starts.get(lo).copied().unwrap_or(history.len());
    dropped.history = from;

    let messages = messages(input.question, &history[from..], &sources);
    let prompt = generator.prompt_tokens(&messages)?;
    Ok(Prompt {
        messages,
        sources,
        tokens: PromptTokens {
            context,
            prompt,
            question_only,
            max_new_tokens: input
                .max_new_tokens
                .min(context.saturating_sub(prompt))
                .max(1),
        },
        dropped,
    })
}

/// Pinned chunks, then the hits that are not pinned, each chunk once.
fn offered<'a>(pinned: &'a [Hit], hits: &'a [Hit]) -> Vec<&'a Hit> {
    let mut out: Vec<&Hit> = Vec::with_capacity(pinned.len() + hits.len());
    for h in pinned.iter().chain(hits) {
        if !out.iter().any(|o| o.chunk_id == h.chunk_id) {
            out.push(h);
        }
    }
    out
}

#[cfg(test)]
mod tests;
