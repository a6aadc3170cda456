//! `lmdeck eval draft -c COLLECTION [--model M] [-n N] [--name] [--seed] [--json]`

use crate::args::EvalDraftArgs;
use crate::eval::draft::{self, DraftOptions};
use crate::eval::import::{check_name, save};
use crate::services::Context;
use crate::util::safe::one_line;

pub fn run(ctx: &Context, args: &EvalDraftArgs) -> anyhow::Result<()> {
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("draft-{}", args.collection));
    check_name(&name)?;
    let store = super::open_for_writing(ctx)?;
    if crate::eval::store::list_sets(store.conn())?
        .iter()
        .any(|s| s.name == name)
    {
        return Err(crate::eval::store::EvalStoreError::SetExists(name).into());
    }
    crate::store::collections::get(store.conn(), &args.collection)?;
    let model = args
        .model
        .clone()
        .unwrap_or_else(|| ctx.config().generate.model.clone());
    let passages = draft::sample(store.conn(), &args.collection, args.n, args.seed)?;
    let generator = crate::services::models::generator(ctx, Some(&store), &model)?;
    let options = DraftOptions {
        name: &name,
        collection: &args.collection,
        model: &model,
        seed: args.seed,
        max_new_tokens: 96,
    };
    if !args.json {
        eprintln!(
            "drafting from {} sampled chunk(s) of `{}` with {}",
            passages.len(),
            one_line(&args.collection),
            one_line(&model)
        );
    }
    let json = args.json;
    let drafted = draft::draft(
        generator.as_ref(),
        &passages,
        &options,
        &mut |passage, pair| {
            if json {
                return;
            }
            match pair {
                Ok(p) => println!(
                    "\n{}  (chunk {})\n  Q: {}\n  A: {}",
                    p.key,
                    p.chunk_id,
                    one_line(&p.question),
                    one_line(&p.answer)
                ),
                Err(reply) => {
                    let head: String = reply.trim().chars().take(160).collect();
                    println!(
                        "\n(chunk {}: skipped, the reply was not one `Q:` and one `A:` line: {})",
                        passage.chunk_id,
                        one_line(&head)
                    )
                }
            }
        },
    )?;
    let writer = super::ingest::open_writer(ctx)?;
    let (pairs, skipped) = (drafted.pairs, drafted.skipped);
    let id = save::save(&writer, drafted.set)?;
    if json {
        let value = serde_json::json!({
            "id": id, "name": name, "collection": args.collection, "model": model,
            "sampled": passages.len(), "drafted": pairs.len(), "skipped": skipped,
            "pairs": pairs,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!(
        "\ndraft set {id} `{}`: {} pair(s) drafted, {skipped} repl(ies) skipped (not in the Q:/A: shape)",
        one_line(&name),
        pairs.len()
    );
    println!(
        "review them: `lmdeck eval sets show {0}`, then `lmdeck eval sets accept {0}` (or accept ITEM...), `lmdeck eval sets reject {0} ITEM...`; or in the console",
        one_line(&name)
    );
    Ok(())
}
