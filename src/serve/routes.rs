//! The routes, authentication and the models and embeddings endpoints.

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::Arc;

use super::{chat, conn, embeddings, ApiError, AppState, MAX_BODY_BYTES};
use crate::embed::Embedder;
use crate::store::collections;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(chat::completions))
        .route("/v1/embeddings", post(embeddings::embeddings))
        .fallback(|| async { ApiError::not_found("not_found", "no such endpoint; this server has /v1/models, /v1/chat/completions and /v1/embeddings") })
        // Outermost last: the key is checked before the body is read.
        .layer(middleware::from_fn(conn::body_deadline))
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
            .and_then(bearer);
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

/// The credentials of an `Authorization: Bearer KEY` header; the scheme name is
/// case-insensitive (RFC 7235).
fn bearer(header: &str) -> Option<&str> {
    let (scheme, key) = header.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| key.trim_start_matches(' '))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for h in ["Bearer k", "bearer k", "BEARER k", "bEaReR  k"] {
            assert_eq!(super::bearer(h), Some("k"), "{h}");
        }
        for h in ["Basic k", "Bearerk", "k", ""] {
            assert_eq!(super::bearer(h), None, "{h}");
        }
    }
}
