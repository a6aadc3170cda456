//! `serve`, `ask` and the console build the same prompt for the same conversation.

use super::*;
use crate::generate::test_engine::ScriptedGenerator;
use crate::rag::tests::{kb, options};

#[test]
fn serve_builds_the_prompt_ask_and_the_console_build() {
    let kb = kb();
    let g = ScriptedGenerator::echo();
    let history = vec![
        ChatMessage::new("user", "How long are etcd snapshots kept?"),
        ChatMessage::new("assistant", "Thirty days [1]."),
    ];
    let question = "How do I drain a node?";

    // `ask` and the console: `rag::ask` with the history in its options.
    let ask = options(history.clone());
    crate::rag::ask(
        &kb.store,
        Some(&kb.embedder),
        &g,
        question,
        &ask,
        &Cancel::default(),
        &mut |_: &str| {},
    )
    .unwrap();
    let from_ask = g.last_messages().unwrap();

    // `serve`: the client's whole conversation, its own system message included.
    let mut conversation = vec![ChatMessage::new("system", "You are a pirate.")];
    conversation.extend(history);
    conversation.push(ChatMessage::new("user", question));
    let hits = retrieve::search(&kb.store, Some(&kb.embedder), "kb", question, &ask.search)
        .unwrap()
        .hits;
    let from_serve = grounded_prompt(
        &g,
        &conversation,
        &hits,
        ask.context_tokens,
        ask.max_new_tokens,
    )
    .unwrap();

    assert_eq!(from_serve.messages, from_ask);
    assert_eq!(from_ask.len(), 4);
    assert_eq!(from_serve.sources.len(), 2);
}
