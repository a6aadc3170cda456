//! The routes, authentication and the models and embeddings endpoints.

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::Arc;

use super::{chat, ApiError, AppState, MAX_BODY_BYTES};
use crate::embed::Embedder;
use crate::store::collections;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(chat::completions))
        .route("/v1/embeddings", post(embeddings))
        .fallback(|| async { ApiError::not_found("not_found", "no such endpoint; this server has /v1/models, /v1/chat/completions and /v1/embeddings") })
        .layer(middleware::from_fn_with_state(Arc::clone(&state), auth))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn auth(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if let Some(key) = &state.api_key {
        let given = request
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given != Some(key.as_str()) {
            return Err(ApiError::unauthorized());
        }
    }
    Ok(next.run(request).await)
}

/// The chat model alone, the chat model grounded in each collection (`MODEL@COLLECTION`),
/// and the embedding model.
async fn models(State(state): State<Arc<AppState>>) -> Result<Json<serde_json::Value>, ApiError> {
    let readers = state.readers.clone();
    let names = tokio::task::spawn_blocking(move || -> Result<Vec<String>, String> {
        let store = readers.get().map_err(|e| e.to_string())?;
        Ok(collections::list(store.conn())
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|c| c.collection.name)
            .collect())
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(ApiError::internal)?;
    let model = |id: String| serde_json::json!({"id": id, "object": "model", "created": 0, "owned_by": "lmdeck"});
    let mut data = vec![model(state.model_name.clone())];
    data.extend(
        names
            .into_iter()
            .map(|c| model(format!("{}@{c}", state.model_name))),
    );
    if let Some(e) = &state.embedder {
        data.push(model(e.identity().name.clone()));
    }
    Ok(Json(serde_json::json!({"object": "list", "data": data})))
}

#[derive(Deserialize)]
struct EmbeddingsRequest {
    model: String,
    input: Input,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Input {
    One(String),
    Many(Vec<String>),
}

async fn embeddings(
    State(state): State<Arc<AppState>>,
    body: Result<Json<EmbeddingsRequest>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(request) = body?;
    let embedder = state.embedder.clone().ok_or_else(|| {
        ApiError::internal("the embedding model is not loaded (see the server log)")
    })?;
    let name = embedder.identity().name.clone();
    if request.model != name && request.model != "default" {
        return Err(ApiError::not_found(
            "model_not_found",
            format!(
                "embedding model `{}` not found; this server embeds with `{name}`",
                request.model
            ),
        ));
    }
    let texts = match request.input {
        Input::One(t) => vec![t],
        Input::Many(list) => list,
    };
    if texts.is_empty() || texts.len() > 2048 {
        return Err(ApiError::bad_request("`input` must hold 1 to 2048 texts"));
    }
    let chars: usize = texts.iter().map(|t| t.chars().count()).sum();
    let vectors = tokio::task::spawn_blocking(move || embedder.embed(&texts))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let data: Vec<_> = vectors
        .into_iter()
        .enumerate()
        .map(|(i, v)| serde_json::json!({"object": "embedding", "index": i, "embedding": v}))
        .collect();
    let tokens = chars.div_ceil(4);
    Ok(Json(
        serde_json::json!({"object": "list", "data": data, "model": name, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}),
    ))
}
