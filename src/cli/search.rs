//! `lmdeck search "query"`: a readable table with traces, or stable JSON.

use crate::args::{RankOpts, SearchArgs, WhyArgs};
use crate::embed::Embedder;
use crate::retrieve::{self, Mode, SearchResult};
use crate::services::Context;
use crate::util::safe::{multi_line, one_line as safe};
use crate::util::{one_line, truncate_chars};

/// The configured parameters with the command's overrides.
fn params(ctx: &Context, opts: &RankOpts) -> anyhow::Result<retrieve::SearchParams> {
    let mut params = ctx.search_params()?;
    if let Some(k) = opts.k {
        params.k = k.max(1);
    }
    if let Some(mode) = &opts.mode {
        params.mode = mode.parse()?;
    }
    if let Some(c) = opts.candidates {
        params.candidates = c.max(1);
    }
    if let Some(r) = opts.rrf_k {
        anyhow::ensure!(
            r > 0.0 && r.is_finite(),
            "--rrf-k must be a positive number, got {r}"
        );
        params.rrf_k = r;
    }
    Ok(params)
}

/// The store, checked to hold the collection before the model is paid for, and the embedder
/// when the mode needs vectors.
fn open(
    ctx: &Context,
    collection: &str,
    params: &retrieve::SearchParams,
) -> anyhow::Result<(crate::store::Store, Option<crate::embed::OnnxEmbedder>)> {
    let store = ctx.open_store()?;
    crate::store::collections::get(store.conn(), collection)?;
    let embedder = if params.mode.uses_vectors() {
        Some(ctx.embedder()?)
    } else {
        None
    };
    Ok((store, embedder))
}

/// `lmdeck why QUERY TARGET`: the stage and rank at which each chunk of the target fell out.
pub fn why(ctx: &Context, args: &WhyArgs) -> anyhow::Result<()> {
    let params = params(ctx, &args.rank)?;
    let (store, embedder) = open(ctx, &args.collection, &params)?;
    let report = retrieve::why::why_not(
        &store,
        embedder.as_ref().map(|e| e as &dyn Embedder),
        &args.collection,
        &args.query,
        &args.target,
        &params,
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{}: {}",
        safe(&report.source_path),
        multi_line(&report.summary)
    );
    for f in &report.chunks {
        println!(
            "  chunk {} #{}: {}",
            f.chunk_id,
            f.ordinal,
            safe(&f.verdict)
        );
    }
    Ok(())
}

pub fn run(ctx: &Context, args: &SearchArgs) -> anyhow::Result<()> {
    let params = params(ctx, &args.rank)?;
    let (store, embedder) = open(ctx, &args.collection, &params)?;
    let result = retrieve::search(
        &store,
        embedder.as_ref().map(|e| e as &dyn Embedder),
        &args.collection,
        &args.query,
        &params,
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print!("{}", render(&result));
    }
    Ok(())
}

pub fn render(r: &SearchResult) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{} results for \"{}\" in `{}` ({} mode, rrf_k {})\n",
        r.hits.len(),
        safe(&r.query),
        safe(&r.collection),
        r.mode,
        r.rrf_k
    ));
    if !r.dropped_terms.is_empty() {
        out.push_str(&format!(
            "keyword stage left out common terms: {} (search.common_term_chunks)\n",
            safe(&r.dropped_terms.join(", "))
        ));
    }
    if r.hits.is_empty() {
        out.push_str("no matches\n");
    }
    for h in &r.hits {
        let t = &h.trace;
        let vec = match (t.vector_rank, t.vector_distance) {
            (Some(rank), Some(d)) => format!("#{rank} dist {d:.4}"),
            _ if r.mode == Mode::Keyword => "off".into(),
            _ => "-".into(),
        };
        let kw = match (t.keyword_rank, t.bm25) {
            (Some(rank), Some(s)) => format!("#{rank} bm25 {s:.3}"),
            _ if r.mode == Mode::Vector => "off".into(),
            _ => "-".into(),
        };
        out.push_str(&format!(
            "\n{:>2}. {:.5}  {}  [chunk {} of doc {}]\n",
            h.rank,
            t.fused_score,
            safe(&h.source_path),
            h.chunk_id,
            h.document_id
        ));
        if !h.heading_path.is_empty() {
            out.push_str(&format!("    section: {}\n", safe(&h.heading_path)));
        }
        out.push_str(&format!(
            "    vector {vec} | keyword {kw} | fused {}\n",
            t.formula
        ));
        out.push_str(&format!(
            "    {}\n",
            safe(&truncate_chars(&one_line(&h.text), 160))
        ));
    }
    let tm = &r.timings;
    out.push_str(&format!(
        "\ntimings: embed {:.1} ms, vector {:.1} ms ({} candidates), keyword {:.1} ms ({} candidates), fuse {:.1} ms, total {:.1} ms\n",
        tm.embed_ms, tm.vector_ms, r.vector_candidates, tm.keyword_ms, r.keyword_candidates, tm.fuse_ms, tm.total_ms
    ));
    out
}
