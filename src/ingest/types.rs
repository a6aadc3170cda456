//! Data passed between the ingestion stages.

/// A document as a loader produced it: clean text plus the sections that give chunks their
/// heading path. Byte ranges index into `text`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedDoc {
    /// Unique within a collection: the file path, or `file#id` for JSON Lines records.
    pub source_path: String,
    pub title: String,
    pub text: String,
    pub format: &'static str,
    pub sections: Vec<Section>,
    pub content_sha256: String,
    pub size: u64,
    pub mtime: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub heading_path: String,
    pub start: usize,
    pub end: usize,
}

/// A chunk before embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkPiece {
    pub text: String,
    pub byte_start: usize,
    pub byte_end: usize,
    pub heading_path: String,
    pub token_count: usize,
}

/// Why an input was not ingested.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}
