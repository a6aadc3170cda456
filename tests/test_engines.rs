//! The test engines are public: integration tests get a store, an embedder and a generator
//! without model files. Here: a cancel mid-answer, timed with the per-token delay.

use std::time::Duration;

use lmdeck::embed::test_engine::HashEmbedder;
use lmdeck::embed::Embedder;
use lmdeck::generate::test_engine::ScriptedGenerator;
use lmdeck::generate::{
    Cancel, ChatMessage, FinishReason, GenerateEvent, GenerateRequest, Generator, SamplingParams,
};

#[test]
fn a_slow_answer_stops_when_cancelled_from_another_thread() {
    let g = ScriptedGenerator::new(&"word ".repeat(200)).with_delay(Duration::from_millis(5));
    let request = GenerateRequest {
        messages: vec![ChatMessage::new("user", "talk")],
        sampling: SamplingParams::default(),
        max_new_tokens: 500,
        stop: Vec::new(),
    };
    let cancel = Cancel::default();
    let stopper = cancel.clone();
    let timer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        stopper.cancel();
    });
    let mut pieces = 0;
    let mut done = None;
    let stats = g
        .generate(&request, &cancel, &mut |e| match e {
            GenerateEvent::Text(_) => pieces += 1,
            GenerateEvent::Done(s) => done = Some(s),
        })
        .unwrap();
    timer.join().unwrap();
    assert_eq!(stats.finish, FinishReason::Cancelled);
    assert!(pieces > 0 && pieces < 200, "{pieces} pieces");
    assert_eq!(stats.completion_tokens, pieces);
    assert_eq!(done, Some(stats));
}

#[test]
fn the_hash_embedder_ranks_by_shared_words() {
    let e = HashEmbedder::default();
    let texts: Vec<String> = ["drain the node", "rotate certificates", "drain a node now"]
        .map(String::from)
        .to_vec();
    let v = e.embed(&texts).unwrap();
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    assert!(dot(&v[0], &v[2]) > dot(&v[0], &v[1]));
    assert_eq!(e.identity().dim % 8, 0);
}
