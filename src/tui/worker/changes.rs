//! The change lane: curation edits (exclude, include, tag, delete), answer ratings and reviews
//! of drafted evaluation items, one after the other,
//! through the process's one database writer. A wait for another process's write lock is
//! shown in the status bar by the writer's hook, never as a frozen screen.

use crossbeam_channel::Receiver;

use super::Shared;
use crate::curate;
use crate::store::chat;
use crate::store::writer::DbWriter;
use crate::tui::effect::{ChatEffect, CorpusEffect, Effect};
use crate::tui::eval_msg::EvalEffect;
use crate::tui::msg::Reply;

pub(super) fn run(shared: &Shared, effects: &Receiver<Effect>) {
    for effect in effects.iter() {
        let result = match shared.writer() {
            Ok(writer) => {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| change(&writer, effect)))
                    .unwrap_or_else(|_| {
                        Err("the change failed unexpectedly (a bug: see the log file)".into())
                    })
            }
            Err(e) => Err(e),
        };
        shared.send(match result {
            Ok(message) => Reply::Changed { message },
            Err(message) => Reply::Failed { message },
        });
    }
}

fn change(writer: &DbWriter, effect: Effect) -> Result<String, String> {
    let err = |e: curate::CurateError| e.to_string();
    match effect {
        Effect::Corpus(CorpusEffect::SetDocExcluded {
            collection,
            document_id,
            excluded,
        }) => {
            let d = curate::set_document_excluded(
                writer,
                &collection,
                &document_id.to_string(),
                excluded,
            )
            .map_err(err)?;
            Ok(format!(
                "{} {}",
                d.source_path,
                if excluded {
                    "excluded: it will not be retrieved"
                } else {
                    "included again"
                }
            ))
        }
        Effect::Corpus(CorpusEffect::SetChunkExcluded { chunk_id, excluded }) => {
            curate::set_chunk_excluded(writer, chunk_id, excluded).map_err(err)?;
            Ok(format!(
                "chunk {chunk_id} {}",
                if excluded {
                    "excluded"
                } else {
                    "included again"
                }
            ))
        }
        Effect::Corpus(CorpusEffect::Tag {
            collection,
            document_id,
            tag,
            add,
        }) => {
            let key = document_id.to_string();
            let d = if add {
                curate::add_tag(writer, &collection, &key, &tag)
            } else {
                curate::remove_tag(writer, &collection, &key, &tag)
            }
            .map_err(err)?;
            Ok(format!("{} tags: [{}]", d.source_path, d.tags.join(", ")))
        }
        Effect::Corpus(CorpusEffect::DeleteDocument {
            collection,
            document_id,
        }) => {
            let d = curate::delete_document(writer, &collection, &document_id.to_string())
                .map_err(err)?;
            Ok(format!(
                "deleted {} and its {} chunks",
                d.source_path, d.chunks
            ))
        }
        Effect::Chat(ChatEffect::Rate {
            session,
            message_id,
            answer,
            rating,
        }) => {
            writer
                .call(move |tx| {
                    let id = match message_id {
                        Some(id) => id,
                        None => chat::answer_id(tx, session, &answer)?,
                    };
                    chat::set_rating(tx, id, rating)
                })
                .map_err(|e| e.to_string())?;
            Ok(match rating {
                Some(chat::Rating::Good) => {
                    "answer marked good: `dataset export --from chats` takes it"
                }
                Some(chat::Rating::Bad) => "answer marked bad",
                None => "answer rating cleared",
            }
            .to_string())
        }
        Effect::Eval(EvalEffect::Review { set, keys, accept }) => {
            super::eval::review(writer, set, keys, accept)
        }
        other => Err(format!("the change lane cannot run {other:?} (a bug)")),
    }
}
