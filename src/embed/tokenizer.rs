//! Loading a `tokenizer.json` with padding off (batches are padded by us, to their own longest).

use std::path::Path;
use tokenizers::Tokenizer;

use super::EmbedError;

/// `max_tokens`: truncate to this many tokens (special tokens included); `None` keeps all,
/// which the chunker needs to see whole documents.
pub fn load(path: &Path, max_tokens: Option<usize>) -> Result<Tokenizer, EmbedError> {
    let err = |detail: String| EmbedError::Tokenizer {
        path: path.display().to_string(),
        detail,
    };
    let mut tokenizer = Tokenizer::from_file(path).map_err(|e| err(e.to_string()))?;
    tokenizer.with_padding(None);
    let truncation = max_tokens.map(|max_length| tokenizers::TruncationParams {
        max_length,
        ..Default::default()
    });
    tokenizer
        .with_truncation(truncation)
        .map_err(|e| err(e.to_string()))?;
    Ok(tokenizer)
}
