//! Deterministic synthetic collections for latency benchmarks: vectors with low-rank
//! structure (real embeddings have a low intrinsic dimension and a shared mean direction) and
//! chunk text drawn from a Zipf-like vocabulary, written through the real store code.

use crate::embed::pool::normalize;
use crate::embed::ModelIdentity;
use crate::store::{collections, vectors, write, DbWriter, NewChunk, NewDocument};

/// splitmix64: tiny, deterministic, good enough for benchmark data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn gaussian(&mut self) -> f32 {
        let (u, v) = (self.uniform().max(1e-12), self.uniform());
        ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
    }
}

/// The most frequent words, as in English text: stopwords first (dropped from queries, like
/// real ones), then domain words; rarer made-up words extend the vocabulary to VOCABULARY.
const COMMON: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "is",
    "for",
    "on",
    "with",
    "that",
    "by",
    "this",
    "be",
    "are",
    "gpu",
    "node",
    "cluster",
    "training",
    "job",
    "storage",
    "quota",
    "network",
    "driver",
    "memory",
    "scheduler",
    "region",
    "instance",
    "incident",
    "service",
    "model",
    "dataset",
    "checkpoint",
    "latency",
];
const VOCABULARY: usize = 20_000;
const SYLLABLES: &[&str] = &[
    "ka", "ro", "mi", "tel", "van", "sor", "dex", "lu", "pra", "nim", "qua", "zet", "bo", "ris",
    "fen", "tar",
];

/// Word of rank `r`: a common word, or a made-up word spelled from the rank.
fn word_of_rank(r: usize) -> String {
    if let Some(w) = COMMON.get(r) {
        return w.to_string();
    }
    let mut n = r;
    let mut out = String::new();
    while n > 0 || out.is_empty() {
        out.push_str(SYLLABLES[n % SYLLABLES.len()]);
        n /= SYLLABLES.len();
    }
    out
}

/// Zipf-distributed word (probability of rank r about 1/r).
fn word(rng: &mut Rng) -> String {
    let r = ((VOCABULARY as f64).powf(rng.uniform()) - 1.0) as usize;
    word_of_rank(r.min(VOCABULARY - 1))
}

pub fn text(rng: &mut Rng, words: usize) -> String {
    (0..words).map(|_| word(rng)).collect::<Vec<_>>().join(" ")
}

/// Generates unit vectors `normalize(mean + B z + noise)` with a fixed basis.
pub struct VectorGen {
    dim: usize,
    rank: usize,
    mean: Vec<f32>,
    basis: Vec<f32>,
    rng: Rng,
}

impl VectorGen {
    pub fn new(dim: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let rank = 48;
        let mut mean: Vec<f32> = (0..dim).map(|_| rng.gaussian()).collect();
        normalize(&mut mean);
        mean.iter_mut().for_each(|m| *m *= 0.8);
        let basis = (0..dim * rank)
            .map(|_| rng.gaussian() / (rank as f32).sqrt() / 2.0)
            .collect();
        VectorGen {
            dim,
            rank,
            mean,
            basis,
            rng,
        }
    }

    /// Same basis and mean (same data distribution), different draws.
    pub fn with_stream(dim: usize, seed: u64, stream: u64) -> Self {
        let mut gen = Self::new(dim, seed);
        gen.rng = Rng::new(stream);
        gen
    }

    pub fn draw(&mut self) -> Vec<f32> {
        let z: Vec<f32> = (0..self.rank).map(|_| self.rng.gaussian()).collect();
        let mut v: Vec<f32> = (0..self.dim)
            .map(|i| {
                let structured: f32 = (0..self.rank)
                    .map(|r| self.basis[i * self.rank + r] * z[r])
                    .sum();
                self.mean[i] + structured + self.rng.gaussian() * 0.02
            })
            .collect();
        normalize(&mut v);
        v
    }
}

/// Fills `collection` with `chunks` synthetic chunks (10 per document) tagged with `model`.
pub fn build(
    writer: &DbWriter,
    collection: &str,
    model: &ModelIdentity,
    chunks: usize,
    seed: u64,
) -> anyhow::Result<()> {
    let (name, identity) = (collection.to_string(), model.clone());
    let (coll_id, table) = writer.call(move |tx| {
        let coll = collections::get_or_create(tx, &name)?;
        let table = vectors::ensure_model(tx, &identity)?;
        collections::set_manifest(tx, coll.id, table.model_id, 200, 32)?;
        Ok((coll.id, table))
    })?;
    let batch = writer.batch();
    let mut gen = VectorGen::new(model.dim, seed);
    let mut rng = Rng::new(seed ^ 0xABCD);
    let per_doc = 10;
    for d in 0..chunks.div_ceil(per_doc) {
        let n = per_doc.min(chunks - d * per_doc);
        let chunks: Vec<NewChunk> = (0..n)
            .map(|_| {
                let text = text(&mut rng, 40);
                NewChunk {
                    byte_start: 0,
                    byte_end: text.len(),
                    heading_path: String::new(),
                    token_count: 40,
                    text_sha256: crate::util::sha256_hex(text.as_bytes()),
                    indexed_text: text.clone(),
                    text,
                    embedding: gen.draw(),
                }
            })
            .collect();
        let doc = NewDocument {
            collection_id: coll_id,
            source_path: format!("synthetic/doc{d:07}.txt"),
            content_sha256: format!("{seed}-{d}"),
            size: 0,
            mtime: 0,
            title: String::new(),
            format: "text".into(),
            chunks,
        };
        let table = table.clone();
        if !batch.send(move |tx| write::upsert_document(tx, &doc, &table).map(drop)) {
            break;
        }
    }
    batch.finish()?;
    let model_id = table.model_id;
    writer.call(move |tx| vectors::maybe_recenter(tx, &mut vectors::current(tx, model_id)?))?;
    Ok(())
}
