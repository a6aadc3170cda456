//! `lmdeck ask "question"`: a streamed answer from the chat model, grounded in numbered
//! sources from the collection (or not, with --no-rag), then the sources it cited.

use std::io::Write;

use crate::args::{AskArgs, ChatsCommand, RatingArg};
use crate::embed::Embedder;
use crate::generate::{Cancel, SamplingParams};
use crate::rag::{self, AskOptions};
use crate::services::Context;
use crate::store::chat;
use crate::util::safe::{multi_line, one_line as safe};

pub fn run(ctx: &Context, args: &AskArgs) -> anyhow::Result<()> {
    let g = &ctx.config().generate;
    let store = super::open_for_writing(ctx)?;
    let model = args.model.clone().unwrap_or_else(|| g.model.clone());
    let mut search = ctx.search_params()?;
    search.k = args.k.unwrap_or(g.rag_k).max(1);
    let rag = !args.no_rag;
    if rag {
        // A missing collection fails before the models load.
        crate::store::collections::get(store.conn(), &args.collection)?;
    }
    // Attribution needs the embedder in every RAG mode; keyword search runs without it, so
    // there a model that fails to load costs the attribution only, not the answer.
    let embedder = if !rag {
        None
    } else if search.mode.uses_vectors() {
        Some(ctx.embedder()?)
    } else {
        ctx.embedder()
            .map_err(|e| eprintln!("note: no attribution without the embedding model: {e:#}"))
            .ok()
    };
    let generator = crate::services::models::generator(ctx, Some(&store), &model)?;
    let options = AskOptions {
        rag,
        collection: rag.then(|| args.collection.clone()),
        search,
        sampling: SamplingParams {
            temperature: args.temperature.unwrap_or(g.temperature) as f32,
            seed: args.seed.unwrap_or(g.seed),
            ..SamplingParams::from_config(g)
        },
        max_new_tokens: args.max_tokens.unwrap_or(g.max_tokens).max(1),
        context_tokens: g.context_tokens,
        pinned: match args.session {
            // A session's pins carry over; --pin adds to them.
            Some(id) => {
                let mut pins = crate::store::chat::pins(store.conn(), id)?;
                pins.extend(
                    args.pins
                        .iter()
                        .filter(|p| !pins.contains(p))
                        .copied()
                        .collect::<Vec<_>>(),
                );
                pins
            }
            None => args.pins.clone(),
        },
        // A session is a conversation: its earlier turns go with the question.
        instructions: None,
        history: match args.session {
            Some(id) => rag::session_history(store.conn(), id)?,
            None => Vec::new(),
        },
    };
    let stream = !args.json;
    let mut stdout = std::io::stdout();
    let answer = rag::ask(
        &store,
        embedder.as_ref().map(|e| e as &dyn Embedder),
        generator.as_ref(),
        &args.question,
        &options,
        &Cancel::default(),
        &mut |piece: &str| {
            if stream {
                // A closed pipe only loses the rest of the stream; the answer is still stored.
                let _ = write!(stdout, "{}", multi_line(piece));
                let _ = stdout.flush();
            }
        },
    )?;
    let session = if args.no_save {
        None
    } else {
        Some(rag::save(
            &super::ingest::open_writer(ctx)?,
            args.session,
            &answer,
        )?)
    };
    if args.json {
        let mut value = serde_json::to_value(&answer)?;
        value["session"] = serde_json::json!(session);
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!();
    if !answer.sources.is_empty() {
        println!("\nSources:");
        for s in &answer.sources {
            let mark = source_mark(&answer, s.n);
            let heading = if s.heading_path.is_empty() {
                String::new()
            } else {
                format!(" > {}", safe(&s.heading_path))
            };
            println!(
                "{mark}[{}] {}{heading}  (chunk {})",
                s.n,
                safe(&s.source_path),
                s.chunk_id
            );
        }
        println!("(* cited in the answer, ~ attributed by similarity but not cited)");
        if let Some(a) = &answer.attribution {
            println!("{}", grounded_line(a));
        }
    }
    let st = &answer.stats;
    eprintln!(
        "{} on {}: {} prompt + {} answer tokens, first token {:.0} ms, {:.1} tokens/s, {:?}{}",
        safe(&answer.model),
        safe(&answer.backend),
        st.prompt_tokens,
        st.completion_tokens,
        st.time_to_first_token_ms,
        st.decode_tokens_per_s,
        st.finish,
        session.map_or(String::new(), |id| format!(", session {id}"))
    );
    Ok(())
}

/// `*` cited by the model, `~` only attributed by similarity, ` ` neither.
fn source_mark(answer: &rag::Answer, n: usize) -> &'static str {
    if answer.cited.contains(&n) {
        "*"
    } else if answer
        .attribution
        .as_ref()
        .is_some_and(|a| a.attributed.contains(&n))
    {
        "~"
    } else {
        " "
    }
}

fn grounded_line(a: &rag::Attribution) -> String {
    format!(
        "grounded: {} of {} sentences supported (attributed by similarity, threshold {:.2})",
        a.supported(),
        a.sentences.len(),
        a.threshold
    )
}

pub fn chats(ctx: &Context, cmd: ChatsCommand) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    match cmd {
        ChatsCommand::List(a) => {
            let list = chat::sessions(store.conn())?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no chat sessions yet; `lmdeck ask \"question\"` starts one");
            } else {
                for s in list {
                    println!(
                        "{:>5}  {}  {} messages  {}",
                        s.id,
                        crate::util::format_unix(s.created_at),
                        s.messages,
                        safe(&s.title)
                    );
                }
            }
        }
        ChatsCommand::Show { id, json } => {
            let session = chat::session(store.conn(), id)?;
            let messages = chat::messages(store.conn(), id)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"session": session, "messages": messages})
                    )?
                );
                return Ok(());
            }
            println!("session {}: {}", session.id, safe(&session.title));
            for m in messages {
                let rating = match m.rating.and_then(chat::Rating::from_value) {
                    Some(chat::Rating::Good) => " [good]",
                    Some(chat::Rating::Bad) => " [bad]",
                    None => "",
                };
                println!(
                    "\n#{} {}{}{rating}: {}",
                    m.id,
                    m.role,
                    m.model
                        .map_or(String::new(), |n| format!(" ({})", safe(&n))),
                    multi_line(&m.content)
                );
                for s in m.sources {
                    println!(
                        "  {}[{}] {} (chunk {})",
                        if s.cited { "*" } else { " " },
                        s.n,
                        safe(&s.source_path),
                        s.chunk_id
                    );
                }
            }
        }
        ChatsCommand::Rate { message_id, rating } => {
            let rating = match rating {
                RatingArg::Good => Some(chat::Rating::Good),
                RatingArg::Bad => Some(chat::Rating::Bad),
                RatingArg::None => None,
            };
            // Through the writer, like every other write: it waits out another process's lock.
            let db = super::ingest::open_writer(ctx)?;
            db.call(move |tx| chat::set_rating(tx, message_id, rating))?;
            let word = match rating {
                Some(chat::Rating::Good) => "good",
                Some(chat::Rating::Bad) => "bad",
                None => "not rated",
            };
            println!("answer {message_id}: {word}");
        }
    }
    Ok(())
}
