//! Attributed support with the real default embedder (installed by `lmdeck setup`), and the
//! measurement behind `rag::attribution::DEFAULT_THRESHOLD`.

mod common;
use lmdeck::embed::Embedder;
use lmdeck::ingest::{chunker, loaders};
use lmdeck::rag::attribution::{attribute, DEFAULT_THRESHOLD};
use lmdeck::rag::{sentences, Source};
use lmdeck::services::{Context, Overrides};

fn context() -> Context {
    let global = Overrides {
        config: Some("/nonexistent/lmdeck-test-config.toml".into()),
        device: Some("cpu".into()),
        ..Overrides::default()
    };
    Context::new(&global).unwrap()
}

/// The sample corpus's chunks as the default settings cut them: (document, chunk text).
fn sample_chunks(ctx: &Context) -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/corpus");
    let tokenizer = ctx.chunk_tokenizer().unwrap();
    let settings = ctx.chunk_settings().unwrap();
    let mut files: Vec<_> = walk(&root);
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let Some(format) = loaders::Format::from_path(&path) else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        for doc in loaders::parse(format, &rel, text, 0, 0).docs {
            for piece in chunker::chunk(&doc, &tokenizer, settings).unwrap() {
                out.push((rel.clone(), piece.text));
            }
        }
    }
    out
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

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
fn a_copied_sentence_goes_to_its_source_and_an_unrelated_one_to_none() {
    let ctx = context();
    let e = ctx.embedder().unwrap();
    let chunks = sample_chunks(&ctx);
    let pick = |doc: &str| {
        chunks
            .iter()
            .find(|(d, _)| d.ends_with(doc))
            .map(|(_, t)| t.clone())
            .unwrap()
    };
    let sources = [
        source(1, &pick("handbook/pto.md")),
        source(2, &pick("runbooks/gpu-node-drain.md")),
        source(3, &pick("product/billing.md")),
    ];
    // The answer's first sentence is the longest sentence of source 2, cited or not.
    let copied = sentences::split(&sources[1].text)
        .into_iter()
        .max_by_key(|s| s.len())
        .unwrap();
    let answer = format!("{copied} [2]. My grandmother grows tomatoes on her sunny balcony.");
    let a = attribute(&e, &answer, &sources, DEFAULT_THRESHOLD).unwrap();
    assert_eq!(a.sentences.len(), 2, "{a:#?}");
    assert_eq!(a.sentences[0].source, Some(2), "{a:#?}");
    assert_eq!(a.sentences[1].source, None, "{a:#?}");
    assert_eq!(a.attributed, vec![2]);
    assert_eq!(a.grounded_share, 0.5);
}

fn percentiles(mut v: Vec<f32>) -> String {
    v.sort_by(f32::total_cmp);
    let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    format!(
        "n {:4}  min {:.3}  p10 {:.3}  p50 {:.3}  p90 {:.3}  max {:.3}",
        v.len(),
        at(0.0),
        at(0.1),
        at(0.5),
        at(0.9),
        at(1.0)
    )
}

/// Prints similarity distributions on the sample corpus (run with `--ignored --nocapture`):
/// sentences against the chunk they come from, and against the most similar chunk of
/// another document; the labelled answers against their document's best chunk and the best
/// chunk elsewhere; and off-topic sentences against the best chunk of all.
#[test]
#[ignore = "a measurement, not a check: prints the evidence for DEFAULT_THRESHOLD"]
fn attribution_threshold_evidence() {
    let ctx = context();
    let e = ctx.embedder().unwrap();
    let chunks = sample_chunks(&ctx);
    let chunk_vecs = e
        .embed(&chunks.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>())
        .unwrap();
    let best = |v: &[f32], keep: &dyn Fn(usize) -> bool| {
        chunk_vecs
            .iter()
            .enumerate()
            .filter(|(i, _)| keep(*i))
            .map(|(_, w)| common::cosine(v, w))
            .fold(f32::MIN, f32::max)
    };
    let (mut own, mut other) = (Vec::new(), Vec::new());
    for (i, (doc, text)) in chunks.iter().enumerate() {
        let judged: Vec<String> = sentences::split(text)
            .into_iter()
            .filter(|s| sentences::word_count(s) >= 5)
            .collect();
        if judged.is_empty() {
            continue;
        }
        for v in e.embed(&judged).unwrap() {
            own.push(common::cosine(&v, &chunk_vecs[i]));
            other.push(best(&v, &|j| chunks[j].0 != *doc));
        }
    }
    println!(
        "copied sentence vs its chunk:         {}",
        percentiles(own.clone())
    );
    println!(
        "copied sentence vs best other doc:    {}",
        percentiles(other.clone())
    );

    let qa = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/eval/qa.jsonl"),
    )
    .unwrap();
    let (mut gold, mut wrong) = (Vec::new(), Vec::new());
    for line in qa.lines().filter(|l| !l.trim().is_empty()) {
        let q: serde_json::Value = serde_json::from_str(line).unwrap();
        let answer = q["answer"].as_str().unwrap().to_string();
        if sentences::word_count(&answer) < 3 {
            continue;
        }
        let docs: Vec<String> = q["doc_paths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_string())
            .collect();
        let v = &e.embed(&[answer]).unwrap()[0];
        gold.push(best(v, &|j| docs.contains(&chunks[j].0)));
        wrong.push(best(v, &|j| !docs.contains(&chunks[j].0)));
    }
    println!(
        "labelled answer vs its document:      {}",
        percentiles(gold.clone())
    );
    println!(
        "labelled answer vs best other doc:    {}",
        percentiles(wrong.clone())
    );
    // Share at or above each threshold: supported pairs should pass, unrelated ones not.
    let share = |v: &[f32], t: f32| v.iter().filter(|s| **s >= t).count() as f64 / v.len() as f64;
    println!("threshold  copied: own  other  J     answers: own  other  J");
    for step in 0..=10 {
        let t = 0.30 + 0.05 * step as f32;
        let (a, b) = (share(&own, t), share(&other, t));
        let (c, d) = (share(&gold, t), share(&wrong, t));
        println!(
            "{t:.2}               {a:.3}  {b:.3}  {:.3}           {c:.3}  {d:.3}  {:.3}",
            a - b,
            c - d
        );
    }

    let off_topic: Vec<String> = [
        "My grandmother grows tomatoes on her sunny balcony.",
        "The football match ended in a draw after extra time.",
        "Penguins huddle together to survive the Antarctic winter.",
        "The recipe needs two cups of flour and a pinch of salt.",
        "Paris is the capital of France and sits on the Seine.",
        "The novel follows a detective through foggy London streets.",
        "Our team will meet on Friday to discuss the roadmap.",
        "Please restart the service after changing the configuration.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let unrelated: Vec<f32> = e
        .embed(&off_topic)
        .unwrap()
        .iter()
        .map(|v| best(v, &|_| true))
        .collect();
    println!(
        "off-topic sentence vs best chunk:     {}",
        percentiles(unrelated)
    );
}
