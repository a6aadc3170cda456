//! One error format for every failure: `{"error": {"message", "type", "code"}}`, as OpenAI
//! clients expect it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub code: &'static str,
    pub message: String,
    pub param: Option<&'static str>,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request_error",
            code: "invalid_request",
            message: message.into(),
            param: None,
        }
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            kind: "invalid_request_error",
            code,
            message: message.into(),
            param: None,
        }
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "server_error",
            code: "internal_error",
            message: message.into(),
            param: None,
        }
    }

    pub fn unauthorized() -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            kind: "invalid_request_error",
            code: "invalid_api_key",
            message: "missing or wrong API key: send `Authorization: Bearer KEY`".into(),
            param: None,
        }
    }

    pub fn busy(queued: usize) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            kind: "server_error",
            code: "server_busy",
            message: format!("{queued} requests are already queued; retry later"),
            param: None,
        }
    }

    /// A 400, not a 5xx: OpenAI clients retry server errors, and this one never succeeds.
    pub fn context_length_exceeded(prompt: usize, context: usize) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request_error",
            code: "context_length_exceeded",
            message: format!(
                "the prompt has {prompt} tokens but this model's context is {context} tokens; shorten the messages"
            ),
            param: Some("messages"),
        }
    }

    pub fn too_large() -> ApiError {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            kind: "invalid_request_error",
            code: "request_too_large",
            message: format!(
                "request bodies are limited to {} bytes",
                super::MAX_BODY_BYTES
            ),
            param: None,
        }
    }

    pub fn timeout() -> ApiError {
        ApiError {
            status: StatusCode::REQUEST_TIMEOUT,
            kind: "invalid_request_error",
            code: "request_timeout",
            message: "the request body stalled or broke off; closing the connection".into(),
            param: None,
        }
    }

    /// Names the request field at fault (OpenAI's `param`).
    pub fn param(mut self, param: &'static str) -> ApiError {
        self.param = Some(param);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({"error": {"message": self.message, "type": self.kind, "code": self.code}});
        if let Some(param) = self.param {
            body["error"]["param"] = param.into();
        }
        (self.status, Json(body)).into_response()
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(r: axum::extract::rejection::JsonRejection) -> ApiError {
        let status = r.status();
        ApiError {
            status,
            kind: "invalid_request_error",
            code: if status == StatusCode::PAYLOAD_TOO_LARGE {
                "request_too_large"
            } else {
                "invalid_json"
            },
            message: r.body_text(),
            param: None,
        }
    }
}
