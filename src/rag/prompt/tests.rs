//! The builder with the scripted test generator: whitespace tokens, ChatML template.

use super::*;
use crate::generate::test_engine::ScriptedGenerator;
use crate::retrieve::Trace;

fn hit(id: i64, words: usize) -> Hit {
    Hit {
        rank: id as usize,
        chunk_id: id,
        document_id: id,
        source_path: format!("/d/{id}.md"),
        title: format!("Doc {id}"),
        heading_path: String::new(),
        ordinal: 0,
        byte_start: 0,
        byte_end: 0,
        text: "word ".repeat(words),
        trace: Trace::default(),
    }
}

fn turn(role: &str, words: usize) -> ChatMessage {
    ChatMessage::new(role, format!("{role} ").repeat(words))
}

fn input<'a>(history: &'a [ChatMessage], pinned: &'a [Hit], hits: &'a [Hit]) -> PromptInput<'a> {
    PromptInput {
        question: "how do I drain a node?",
        history,
        pinned,
        hits,
        context_tokens: 4096,
        max_new_tokens: 100,
        instructions: None,
    }
}

fn ids(p: &Prompt) -> Vec<(usize, i64)> {
    p.sources.iter().map(|s| (s.n, s.chunk_id)).collect()
}

#[test]
fn sources_fill_the_measured_budget_in_rank_order_and_are_renumbered() {
    let g = ScriptedGenerator::echo().with_context(200);
    let hits = [hit(1, 10), hit(2, 100), hit(3, 10)];
    let p = build(&g, &input(&[], &[], &hits)).unwrap();
    assert_eq!(ids(&p), vec![(1, 1), (2, 3)]);
    assert_eq!(p.dropped.chunks, vec![2]);
    assert!(p.messages[1].content.contains("[2] Doc 3\n"));
    assert_eq!(p.messages[0].content, INSTRUCTIONS);
    // Sizes are the generator's own count of the rendered messages.
    assert_eq!(p.tokens.prompt, g.prompt_tokens(&p.messages).unwrap());
    assert!(p.tokens.prompt <= 200 - 100);
    assert_eq!(p.tokens.max_new_tokens, 100);
    assert_eq!(p.tokens.context, 200);
    // A smaller configured window wins over the model's.
    let tight = PromptInput {
        context_tokens: 130,
        ..input(&[], &[], &hits)
    };
    let p = build(&g, &tight).unwrap();
    assert!(p.sources.is_empty(), "{:?}", ids(&p));
    assert_eq!(
        p.messages,
        vec![ChatMessage::new("user", "how do I drain a node?")]
    );
    assert_eq!(p.tokens.question_only, p.tokens.prompt);
}

#[test]
fn pinned_chunks_come_first_and_each_chunk_is_offered_once() {
    let g = ScriptedGenerator::echo();
    let (pinned, hits) = ([hit(7, 5)], [hit(1, 5), hit(7, 5), hit(2, 5)]);
    let p = build(&g, &input(&[], &pinned, &hits)).unwrap();
    assert_eq!(ids(&p), vec![(1, 7), (2, 1), (3, 2)]);
}

#[test]
fn history_is_dropped_oldest_first_in_whole_turns() {
    let g = ScriptedGenerator::echo().with_context(400);
    let history = [
        turn("user", 50),
        turn("assistant", 50),
        turn("user", 50),
        turn("assistant", 50),
        ChatMessage::new(
            "system",
            "ignored: lmdeck's instructions are the system message",
        ),
        turn("user", 20),
        turn("assistant", 20),
    ];
    let hits = [hit(1, 40)];
    // 400 - 100 answer tokens: the source, the question and the two newest turns fit
    // (240 tokens), the oldest turn would not (344).
    let p = build(&g, &input(&history, &[], &hits)).unwrap();
    let roles: Vec<&str> = p.messages.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "user", "assistant", "user"]
    );
    assert_eq!(p.messages[1], history[2]);
    assert_eq!(p.messages[4], history[6]);
    assert_eq!(p.dropped.history, 2);
    assert_eq!(p.tokens.prompt, 240);
    // 300 - 100: the newest turn fits (136); so would the reply before it (about 188), but
    // not its question (240), and a history never starts with a reply.
    let p = build(
        &ScriptedGenerator::echo().with_context(300),
        &input(&history, &[], &hits),
    )
    .unwrap();
    assert_eq!(p.messages[1..3], history[5..7]);
    assert_eq!((p.messages.len(), p.dropped.history), (4, 4));
    // With room for everything nothing is dropped; with none, all history goes.
    let roomy = build(&ScriptedGenerator::echo(), &input(&history, &[], &hits)).unwrap();
    assert_eq!((roomy.messages.len(), roomy.dropped.history), (8, 0));
    let none = build(
        &ScriptedGenerator::echo().with_context(220),
        &input(&history, &[], &hits),
    );
    let none = none.unwrap();
    assert_eq!(none.dropped.history, 6);
    assert_eq!(none.messages.len(), 2);
}

#[test]
fn the_same_inputs_give_the_same_prompt() {
    let g = ScriptedGenerator::echo().with_context(300);
    let history = [turn("user", 30), turn("assistant", 30)];
    let hits = [hit(1, 20), hit(2, 20), hit(3, 60)];
    let a = build(&g, &input(&history, &[], &hits)).unwrap();
    let b = build(&g, &input(&history, &[], &hits)).unwrap();
    assert_eq!(a, b);
}
