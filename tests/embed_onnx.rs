//! The real ONNX embedder on the default model (installed by `lmdeck setup`).

mod common;
use lmdeck::embed::Embedder;
use lmdeck::services::{Context, Overrides};

fn embedder() -> lmdeck::embed::OnnxEmbedder {
    context().embedder().unwrap()
}

fn context() -> Context {
    let global = Overrides {
        config: Some("/nonexistent/lmdeck-test-config.toml".into()),
        device: Some("cpu".into()),
        ..Overrides::default()
    };
    Context::new(&global).unwrap()
}

#[test]
fn the_fused_graph_setup_wrote_gives_the_exported_graphs_vectors() {
    use lmdeck::embed::fused::GraphChoice;
    use lmdeck::embed::{EmbedOptions, OnnxEmbedder};
    let ctx = context();
    let runtime = ctx.runtime().unwrap();
    let start = |graph, query_lane| {
        let options = EmbedOptions {
            graph,
            query_lane,
            ..EmbedOptions::default()
        };
        OnnxEmbedder::start(&ctx.model_dir(), &runtime, options).unwrap()
    };
    let fused = start(GraphChoice::Fused, true);
    let exported = start(GraphChoice::Original, false);
    assert_eq!(
        fused.graph(),
        "fused",
        "`lmdeck setup` writes the fused graph"
    );
    assert_eq!(exported.graph(), "original");
    assert_eq!(
        fused.identity(),
        exported.identity(),
        "the model file stays the identity"
    );
    let texts: Vec<String> = [
        "How do I reset my password?",
        "",
        "GPU nodes drain when the scheduler finds an unhealthy device. ",
        "Ünïcode, numbers 12345 and punctuation!?",
    ]
    .iter()
    .map(|s| s.repeat(3))
    .collect();
    let a = fused.embed(&texts).unwrap();
    let b = exported.embed(&texts).unwrap();
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let largest = x
            .iter()
            .zip(y)
            .map(|(p, q)| (p - q).abs())
            .fold(0f32, f32::max);
        assert!(largest < 1e-5, "text {i}: largest difference {largest}");
    }
    // A single query through the query session equals the pool's vector for it.
    let q = fused.embed_query(&texts[2]).unwrap();
    let largest = q
        .iter()
        .zip(&a[2])
        .map(|(p, q)| (p - q).abs())
        .fold(0f32, f32::max);
    assert!(largest < 1e-5, "query vector differs by {largest}");
}

#[test]
fn similar_sentences_are_close_and_unrelated_ones_are_not() {
    let e = embedder();
    let texts: Vec<String> = [
        "How do I reset my password?",
        "Steps to recover account credentials",
        "The cat sat on the mat",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let v = e.embed(&texts).unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].len(), 384);
    let norm: f32 = v[0].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4);
    let related = common::cosine(&v[0], &v[1]);
    let unrelated = common::cosine(&v[0], &v[2]);
    // reference values for this int8 model: 0.61 and about 0.09
    assert!((related - 0.61).abs() < 0.03, "related {related}");
    assert!(unrelated.abs() < 0.15, "unrelated {unrelated}");
}

#[test]
fn batching_and_padding_do_not_change_vectors() {
    let e = embedder();
    let texts: Vec<String> = (0..37)
        .map(|i| format!("sentence {i} {}", "with more words ".repeat(i % 9)))
        .collect();
    let together = e.embed(&texts).unwrap();
    for (i, text) in texts.iter().enumerate().step_by(6) {
        let alone = e.embed(std::slice::from_ref(text)).unwrap();
        let cos = common::cosine(&alone[0], &together[i]);
        assert!(cos > 0.9999, "text {i}: cosine {cos}");
    }
}

#[test]
fn long_inputs_are_truncated_not_rejected() {
    let e = embedder();
    let long = "word ".repeat(5000);
    let v = e.embed(&[long, String::new()]).unwrap();
    assert_eq!(v.len(), 2);
    assert!(v[0].iter().all(|x| x.is_finite()));
}

#[test]
fn setup_removes_a_fused_graph_whose_vectors_differ() {
    use lmdeck::setup::fuse::fuse_embed_model;
    use lmdeck::setup::Outcome;
    let ctx = context();
    let dir = tempfile::tempdir().unwrap();
    for file in ["model.onnx", "model.json", "tokenizer.json"] {
        std::fs::copy(ctx.model_dir().join(file), dir.path().join(file)).unwrap();
    }
    let fused = dir.path().join("model.fused.onnx");
    let record = dir.path().join("model.fused.json");

    let step = fuse_embed_model(&ctx.paths, dir.path(), false, |_| Ok(0.5)).unwrap();
    match step.outcome {
        Outcome::Skipped(why) => assert!(why.contains("differ"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(!fused.exists() && !record.exists());

    let step =
        fuse_embed_model(&ctx.paths, dir.path(), false, |_| Err("no runtime".into())).unwrap();
    assert!(matches!(step.outcome, Outcome::Skipped(ref why) if why.contains("no runtime")));
    assert!(!fused.exists());

    let step = fuse_embed_model(&ctx.paths, dir.path(), false, |_| Ok(1e-7)).unwrap();
    assert!(
        matches!(step.outcome, Outcome::Installed),
        "{:?}",
        step.outcome
    );
    assert!(fused.exists() && record.exists());
    let again = fuse_embed_model(&ctx.paths, dir.path(), false, |_| Ok(0.5)).unwrap();
    assert!(matches!(again.outcome, Outcome::AlreadyInstalled));
}
