//! A test engine: a deterministic embedder that needs no model files, so store, ingest,
//! retrieval and RAG tests run in milliseconds. Not for real use: it knows no synonyms.
//!
//! Each text becomes a hashed bag of words (lower-cased alphanumeric words, each adding ±1
//! to one of `dim` buckets), normalised to unit length. Texts sharing words point the same
//! way, so a query finds the chunks that contain its words.

use tokenizers::models::wordlevel::WordLevel;
use tokenizers::pre_tokenizers::whitespace::Whitespace;
use tokenizers::Tokenizer;

use super::{EmbedError, Embedder, ModelIdentity};

/// Hashed bag-of-words vectors of a fixed dimension (a multiple of 8, as the store's binary
/// index needs).
#[derive(Debug, Clone)]
pub struct HashEmbedder {
    identity: ModelIdentity,
}

impl HashEmbedder {
    pub const DEFAULT_DIM: usize = 64;

    /// An embedder of `dim` dimensions, rounded up to a multiple of 8 (at least 8).
    pub fn new(dim: usize) -> HashEmbedder {
        let dim = dim.max(8).div_ceil(8) * 8;
        let name = format!("test-hash-bow-{dim}");
        HashEmbedder {
            identity: ModelIdentity {
                sha256: crate::util::sha256_hex(name.as_bytes()),
                name,
                dim,
            },
        }
    }

    /// The vector of one text.
    pub fn vector(&self, text: &str) -> Vec<f32> {
        let dim = self.identity.dim;
        let mut v = vec![0f32; dim];
        for word in words(text) {
            let h = fnv1a(word.as_bytes());
            let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
            v[(h % dim as u64) as usize] += sign;
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm == 0.0 {
            // A text without words still needs a unit vector for cosine distance.
            v[0] = 1.0;
        } else {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }

    /// A tokenizer for the chunker to go with it: one token per word or run of punctuation,
    /// with byte offsets, and no vocabulary (every token is `[UNK]`).
    pub fn tokenizer() -> Result<Tokenizer, EmbedError> {
        let model = WordLevel::builder()
            .vocab([("[UNK]".to_string(), 0)].into_iter().collect())
            .unk_token("[UNK]".into())
            .build()
            .map_err(|e| EmbedError::Tokenizer {
                path: "(test word tokenizer)".into(),
                detail: e.to_string(),
            })?;
        let mut tokenizer = Tokenizer::new(model);
        tokenizer.with_pre_tokenizer(Some(Whitespace {}));
        Ok(tokenizer)
    }
}

impl Default for HashEmbedder {
    fn default() -> Self {
        HashEmbedder::new(HashEmbedder::DEFAULT_DIM)
    }
}

impl Embedder for HashEmbedder {
    fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// FNV-1a: stable across Rust releases and platforms, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn vectors_are_unit_length_deterministic_and_word_based() {
        let e = HashEmbedder::new(60);
        assert_eq!(e.identity().dim, 64);
        let texts = vec!["Drain the node".to_string(), "drain, THE node!".into()];
        let v = e.embed(&texts).unwrap();
        assert!((cosine(&v[0], &v[0]) - 1.0).abs() < 1e-5);
        assert!(
            (cosine(&v[0], &v[1]) - 1.0).abs() < 1e-5,
            "case and punctuation"
        );
        assert_eq!(v[0], HashEmbedder::new(64).vector("Drain the node"));
        let other = e.vector("rotate certificates yearly");
        assert!(cosine(&v[0], &other) < 0.9);
        assert!((cosine(&e.vector(""), &e.vector("")) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn tokenizer_gives_word_offsets() {
        let t = HashEmbedder::tokenizer().unwrap();
        let enc = t.encode("Drain it, now", false).unwrap();
        assert_eq!(enc.get_offsets(), &[(0, 5), (6, 8), (8, 9), (10, 13)]);
    }
}
