//! Attributed support: which source, if any, backs each sentence of an answer, judged by
//! embedding similarity rather than by the model's own `[n]` citations.
//!
//! Every sentence of three words or more (`sentences::split`, citation markers removed) and
//! every source text are embedded in one batch; a sentence's best source is the one with the
//! highest cosine similarity, and the sentence is supported when that similarity reaches the
//! threshold. Shorter sentences ("Yes.", "In short:") are left out of the count.

use serde::{Deserialize, Serialize};

use super::sentences;
use super::Source;
use crate::embed::{EmbedError, Embedder};

/// Similarity at or above which a sentence counts as supported by its best source.
///
/// Measured on the sample corpus with the default embedder (all-MiniLM-L6-v2 int8, chunks
/// of 200 tokens) by the ignored test `attribution_threshold_evidence` in
/// tests/attribution_onnx.rs. 1,091 sentences copied from a chunk score a median 0.557
/// against that chunk and 0.442 against the closest chunk of another document; the 45
/// labelled answers score 0.574 against their document and 0.434 elsewhere. 0.55 maximises
/// (share of true pairs passing - share of unrelated pairs passing) on both sets: 0.515 vs
/// 0.151 for copied sentences, 0.600 vs 0.067 for the answers. One sentence against a long
/// chunk is a weak signal, so "supported" is a hint, not proof.
pub const DEFAULT_THRESHOLD: f32 = 0.55;

/// Fewer words than this and a sentence is not judged.
const MIN_WORDS: usize = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentenceSupport {
    pub sentence: String,
    /// The best source's number (1-based), None when below the threshold.
    pub source: Option<usize>,
    /// Cosine similarity to the best source.
    pub similarity: f32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    pub sentences: Vec<SentenceSupport>,
    /// Supported sentences / sentences judged; 0 when none were judged.
    pub grounded_share: f64,
    /// Source numbers supporting at least one sentence, in order of first support.
    pub attributed: Vec<usize>,
    pub threshold: f32,
}

impl Attribution {
    /// Sentences with a supporting source.
    pub fn supported(&self) -> usize {
        self.sentences.iter().filter(|s| s.source.is_some()).count()
    }
}

/// Attributes each sentence of `answer` to the most similar of `sources`.
pub fn attribute(
    embedder: &dyn Embedder,
    answer: &str,
    sources: &[Source],
    threshold: f32,
) -> Result<Attribution, EmbedError> {
    let judged: Vec<String> = sentences::split(answer)
        .into_iter()
        .filter(|s| sentences::word_count(s) >= MIN_WORDS)
        .collect();
    if judged.is_empty() || sources.is_empty() {
        return Ok(Attribution {
            sentences: judged
                .into_iter()
                .map(|sentence| SentenceSupport {
                    sentence,
                    source: None,
                    similarity: 0.0,
                })
                .collect(),
            threshold,
            ..Attribution::default()
        });
    }
    let mut texts = judged.clone();
    texts.extend(sources.iter().map(|s| s.text.clone()));
    let vectors = embedder.embed(&texts)?;
    if vectors.len() != texts.len() {
        return Err(EmbedError::Inference(format!(
            "{} vectors for {} texts",
            vectors.len(),
            texts.len()
        )));
    }
    let (sentence_vecs, source_vecs) = vectors.split_at(judged.len());
    let mut out = Attribution {
        threshold,
        ..Attribution::default()
    };
    for (sentence, v) in judged.into_iter().zip(sentence_vecs) {
        // The first source wins a tie (sources are numbered in rank order).
        let mut best: Option<(usize, f32)> = None;
        for (src, w) in sources.iter().zip(source_vecs) {
            let sim = cosine(v, w);
            if best.is_none_or(|(_, b)| sim > b) {
                best = Some((src.n, sim));
            }
        }
        let (n, similarity) = best.unwrap_or((0, 0.0));
        let source = (similarity >= threshold).then_some(n);
        if let Some(n) = source {
            if !out.attributed.contains(&n) {
                out.attributed.push(n);
            }
        }
        out.sentences.push(SentenceSupport {
            sentence,
            source,
            similarity,
        });
    }
    out.grounded_share = out.supported() as f64 / out.sentences.len() as f64;
    Ok(out)
}

/// Cosine similarity. Embedders promise unit vectors, but dividing by the norms costs
/// little and keeps a test or remote embedder that does not normalise correct.
fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::test_engine::HashEmbedder;

    fn source(n: usize, text: &str) -> Source {
        Source {
            n,
            chunk_id: n as i64,
            document_id: n as i64,
            source_path: format!("doc{n}.md"),
            title: String::new(),
            heading_path: String::new(),
            text: text.to_string(),
        }
    }

    #[test]
    fn cosine_divides_by_the_norms() {
        assert!((cosine(&[2.0, 0.0], &[3.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!((cosine(&[1.0, 1.0], &[1.0, 0.0]) - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn sentences_go_to_their_best_source_and_short_ones_are_not_judged() {
        let e = HashEmbedder::default();
        let sources = [
            source(1, "etcd snapshots are taken nightly and kept thirty days"),
            source(2, "rotate the cluster certificates every year with kubeadm"),
        ];
        let answer = "Rotate the cluster certificates every year with kubeadm [2]. Yes. \
                      Penguins enjoy cold swimming water.";
        let a = attribute(&e, answer, &sources, 0.5).unwrap();
        assert_eq!(a.sentences.len(), 2, "{a:?}"); // "Yes." is not judged
        assert_eq!(a.sentences[0].source, Some(2));
        assert!(a.sentences[0].similarity > 0.99);
        assert_eq!(a.sentences[1].source, None);
        assert_eq!(a.attributed, vec![2]);
        assert_eq!(a.grounded_share, 0.5);
        assert_eq!(a.threshold, 0.5);
    }

    #[test]
    fn no_sources_or_no_sentences_support_nothing() {
        let e = HashEmbedder::default();
        let a = attribute(&e, "A sentence of words.", &[], 0.5).unwrap();
        assert_eq!((a.sentences.len(), a.grounded_share), (1, 0.0));
        let b = attribute(&e, "Ok.", &[source(1, "text")], 0.5).unwrap();
        assert!(b.sentences.is_empty() && b.attributed.is_empty());
        assert_eq!(b.grounded_share, 0.0);
    }
}
