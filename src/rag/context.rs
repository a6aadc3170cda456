//! The numbered sources of a prompt (chosen by `prompt::build`).

use serde::Serialize;

use crate::retrieve::Hit;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    pub n: usize,
    pub chunk_id: i64,
    pub document_id: i64,
    pub source_path: String,
    pub title: String,
    pub heading_path: String,
    pub text: String,
}

impl Source {
    /// Source number `n` for a retrieved (or pinned) chunk.
    pub fn from_hit(n: usize, h: &Hit) -> Source {
        Source {
            n,
            chunk_id: h.chunk_id,
            document_id: h.document_id,
            source_path: h.source_path.clone(),
            title: h.title.clone(),
            heading_path: h.heading_path.clone(),
            text: h.text.clone(),
        }
    }

    /// How the source appears in the prompt.
    pub fn block(&self) -> String {
        let heading = if self.heading_path.is_empty() {
            &self.title
        } else {
            &self.heading_path
        };
        format!("[{}] {}\n{}", self.n, heading, self.text.trim())
    }
}
