//! `/v1/embeddings`: under the same bounded queue as chat, embedded in batches so that a
//! client that leaves stops the work between two batches.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;

use super::{admit, ApiError, AppState, CancelOnDrop};
use crate::embed::Embedder;
use crate::generate::Cancel;

/// Texts embedded between two checks for a departed client.
const BATCH: usize = 32;

#[derive(Deserialize)]
pub struct EmbeddingsRequest {
    model: String,
    input: Input,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Input {
    One(String),
    Many(Vec<String>),
}

pub async fn embeddings(
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
    let slot = admit(&state)?;
    let chars: usize = texts.iter().map(|t| t.chars().count()).sum();
    // A client that hangs up drops this future and the guard with it.
    let cancel = Cancel::default();
    let _guard = CancelOnDrop(cancel.clone());
    let vectors = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in texts.chunks(BATCH) {
            if cancel.is_cancelled() {
                return Ok(None);
            }
            vectors.extend(embedder.embed(batch)?);
        }
        Ok::<_, crate::embed::EmbedError>(Some(vectors))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(|e| ApiError::internal(e.to_string()))?
    .ok_or_else(|| ApiError::internal("cancelled: the client went away"))?;
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
