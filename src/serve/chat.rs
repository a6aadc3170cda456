//! `/v1/chat/completions`: plain or grounded in a collection (`MODEL@COLLECTION`), streamed as
//! server-sent events or returned whole. A client that disconnects cancels its generation.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;

use super::{admit, ApiError, AppState, CancelOnDrop, Slot};
use crate::embed::Embedder;
use crate::generate::{
    Cancel, ChatMessage, FinishReason, GenerateError, GenerateEvent, GenerateRequest,
    GenerateStats, Generator,
};
use crate::rag::prompt::{self, Prompt, PromptInput};
use crate::rag::{citations, Source};
use crate::retrieve::{self, Hit};

#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    model: String,
    messages: Vec<ChatMessage>,
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    max_tokens: Option<usize>,
    #[serde(default)]
    max_completion_tokens: Option<usize>,
    #[serde(default)]
    temperature: Option<f32>,
    #[serde(default)]
    top_p: Option<f32>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    stop: Option<Stop>,
    #[serde(default)]
    n: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Stop {
    One(String),
    Many(Vec<String>),
}

pub async fn completions(
    State(state): State<Arc<AppState>>,
    body: Result<Json<ChatRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body?;
    let collection = match request.model.split_once('@') {
        Some((base, c)) if base == state.model_name => Some(c.to_string()),
        None if request.model == state.model_name => None,
        _ => {
            return Err(ApiError::not_found(
                "model_not_found",
                format!(
                    "model `{}` not found; GET /v1/models lists `{}` and `{}@COLLECTION`",
                    request.model, state.model_name, state.model_name
                ),
            ))
        }
    };
    match request.messages.last() {
        Some(m) if m.role == "user" => {}
        _ => {
            return Err(ApiError::bad_request(
                "`messages` must end with a user message",
            ))
        }
    }
    if request
        .messages
        .iter()
        .any(|m| !["system", "user", "assistant"].contains(&m.role.as_str()))
    {
        return Err(ApiError::bad_request(
            "message roles must be system, user or assistant",
        ));
    }
    if request.n.is_some_and(|n| n != 1) {
        return Err(ApiError::bad_request(
            "only n=1 is supported: send one request per completion",
        )
        .param("n"));
    }
    let slot = admit(&state)?;
    let max_new_tokens = request
        .max_completion_tokens
        .or(request.max_tokens)
        .unwrap_or(state.max_tokens)
        .clamp(1, state.context_tokens.max(1));
    // A plain request is the client's own prompt, sent as is; a grounded one is built by
    // the same builder as `ask` and the console.
    let (messages, sources, max_new_tokens) = match &collection {
        Some(c) => {
            let p = grounded(&state, &request.messages, c, max_new_tokens).await?;
            (p.messages, p.sources, p.tokens.max_new_tokens)
        }
        None => (request.messages.clone(), Vec::new(), max_new_tokens),
    };
    // Measured before answering, so that a streaming request still gets a 400 and not an
    // error inside a 200 stream.
    fits_context(&state, &messages).await?;
    let mut sampling = state.sampling;
    if let Some(t) = request.temperature {
        sampling.temperature = t.max(0.0);
    }
    if let Some(p) = request.top_p {
        sampling.top_p = p.clamp(0.0, 1.0);
    }
    if let Some(s) = request.seed {
        sampling.seed = s;
    }
    let stop = match request.stop {
        Some(Stop::One(s)) => vec![s],
        Some(Stop::Many(v)) => v,
        None => Vec::new(),
    };
    let generate = GenerateRequest {
        messages,
        sampling,
        max_new_tokens,
        stop,
    };
    let id = format!("chatcmpl-{}", crate::util::now_unix_nanos());
    let model = request.model.clone();
    if request.stream {
        Ok(stream(state, slot, generate, id, model, sources).into_response())
    } else {
        whole(state, slot, generate, id, model, sources).await
    }
}

/// Refuses a prompt the model cannot take (the generator would refuse it later).
async fn fits_context(state: &Arc<AppState>, messages: &[ChatMessage]) -> Result<(), ApiError> {
    let generator = Arc::clone(&state.generator);
    let messages = messages.to_vec();
    tokio::task::spawn_blocking(move || {
        let prompt = generator.prompt_tokens(&messages).map_err(api_error)?;
        let context = generator.context_length();
        if prompt >= context {
            return Err(ApiError::context_length_exceeded(prompt, context));
        }
        Ok(())
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
}

fn api_error(e: GenerateError) -> ApiError {
    match e {
        GenerateError::PromptTooLong { prompt, context } => {
            ApiError::context_length_exceeded(prompt, context)
        }
        other => ApiError::internal(other.to_string()),
    }
}

/// Retrieval for the last user message, and the prompt for the conversation.
async fn grounded(
    state: &Arc<AppState>,
    conversation: &[ChatMessage],
    collection: &str,
    max_new_tokens: usize,
) -> Result<Prompt, ApiError> {
    let state = Arc::clone(state);
    let (conversation, collection) = (conversation.to_vec(), collection.to_string());
    tokio::task::spawn_blocking(move || {
        let question = conversation.last().map_or("", |m| m.content.as_str());
        let store = state
            .readers
            .get()
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let embedder = state.embedder.as_deref().map(|e| e as &dyn Embedder);
        let result = retrieve::search(&store, embedder, &collection, question, &state.search)
            .map_err(|e| match e {
                retrieve::RetrieveError::Store(crate::store::StoreError::NoCollection(c)) => {
                    ApiError::not_found("model_not_found", format!("no collection `{c}`"))
                }
                other => ApiError::internal(other.to_string()),
            })?;
        grounded_prompt(
            state.generator.as_ref(),
            &conversation,
            &result.hits,
            state.context_tokens,
            max_new_tokens,
        )
        .map_err(api_error)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
}

/// The prompt for a conversation that ends with the question: the earlier messages are the
/// history (the client's system messages give way to lmdeck's instructions).
fn grounded_prompt(
    generator: &dyn Generator,
    conversation: &[ChatMessage],
    hits: &[Hit],
    context_tokens: usize,
    max_new_tokens: usize,
) -> Result<Prompt, GenerateError> {
    let (question, history) = match conversation.split_last() {
        Some((last, history)) => (last.content.as_str(), history),
        None => ("", conversation),
    };
    prompt::build(
        generator,
        &PromptInput {
            question,
            history,
            pinned: &[],
            hits,
            context_tokens,
            max_new_tokens,
            instructions: None,
        },
    )
}

fn finish_reason(f: FinishReason) -> &'static str {
    match f {
        FinishReason::Length => "length",
        FinishReason::Stop | FinishReason::Cancelled => "stop",
    }
}

fn sources_json(sources: &[Source], text: &str) -> serde_json::Value {
    serde_json::json!({"sources": sources, "cited": citations::cited(text, sources.len())})
}

fn usage(stats: &GenerateStats) -> serde_json::Value {
    serde_json::json!({"prompt_tokens": stats.prompt_tokens, "completion_tokens": stats.completion_tokens, "total_tokens": stats.prompt_tokens + stats.completion_tokens})
}

async fn whole(
    state: Arc<AppState>,
    slot: Slot,
    request: GenerateRequest,
    id: String,
    model: String,
    sources: Vec<Source>,
) -> Result<Response, ApiError> {
    // A client that hangs up drops this future, and with it the guard: the generation stops
    // instead of holding the decoder and a queue slot for nobody.
    let cancel = Cancel::default();
    let _guard = CancelOnDrop(cancel.clone());
    let result = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let mut text = String::new();
        let stats = state.generator.generate(&request, &cancel, &mut |e| {
            if let GenerateEvent::Text(t) = e {
                text.push_str(&t);
            }
        });
        stats.map(|s| (text, s))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let (text, stats) = result.map_err(api_error)?;
    let mut body = serde_json::json!({
        "id": id, "object": "chat.completion", "created": crate::util::now_unix(), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason(stats.finish)}],
        "usage": usage(&stats),
    });
    if !sources.is_empty() {
        body["lmdeck"] = sources_json(&sources, &text);
    }
    Ok(Json(body).into_response())
}

fn stream(
    state: Arc<AppState>,
    slot: Slot,
    request: GenerateRequest,
    id: String,
    model: String,
    sources: Vec<Source>,
) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    // Bounded: a slow client slows its own generation instead of growing memory.
    let (tx, rx) = tokio::sync::mpsc::channel::<serde_json::Value>(64);
    let created = crate::util::now_unix();
    let chunk = move |delta: serde_json::Value, finish: Option<&str>| {
        serde_json::json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let cancel = Cancel::default();
        if tx
            .blocking_send(chunk(
                serde_json::json!({"role": "assistant", "content": ""}),
                None,
            ))
            .is_err()
        {
            return;
        }
        let mut text = String::new();
        let result = state.generator.generate(&request, &cancel, &mut |e| {
            if let GenerateEvent::Text(t) = e {
                text.push_str(&t);
                if tx
                    .blocking_send(chunk(serde_json::json!({"content": t}), None))
                    .is_err()
                {
                    cancel.cancel(); // the client went away
                }
            }
        });
        let last = match result {
            Ok(stats) => {
                let mut last = chunk(serde_json::json!({}), Some(finish_reason(stats.finish)));
                last["usage"] = usage(&stats);
                if !sources.is_empty() {
                    last["lmdeck"] = sources_json(&sources, &text);
                }
                last
            }
            Err(e) => {
                serde_json::json!({"error": {"message": e.to_string(), "type": "server_error", "code": "generation_failed"}})
            }
        };
        let _ = tx.blocking_send(last);
    });
    let events = ReceiverStream::new(rx)
        .map(|v| Ok(Event::default().data(v.to_string())))
        .chain(tokio_stream::once(Ok(Event::default().data("[DONE]"))));
    Sse::new(events)
}

#[cfg(test)]
mod tests;
