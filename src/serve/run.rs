//! `lmdeck serve`: loads the models, binds, prints the address, serves until Ctrl+C.

use std::io::Write;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use crate::args::ServeArgs;
use crate::generate::SamplingParams;
use crate::serve::{conn::serve, router, AppState, Timeouts};
use crate::services::models::ModelChoice;
use crate::services::Context;
use crate::store::ReadPool;

pub fn run(ctx: &Context, args: &ServeArgs) -> anyhow::Result<()> {
    let g = &ctx.config().generate;
    // The server works without a database (no RAG then); registered models need one.
    let store = ctx.existing_store()?;
    let name = args.model.clone().unwrap_or_else(|| g.model.clone());
    let dir = match crate::services::models::resolve(ctx, store.as_ref(), &name)? {
        ModelChoice::Local(dir) => dir,
        ModelChoice::Remote(..) => {
            anyhow::bail!("`{name}` is a remote endpoint; serve a local model (lmdeck models list)")
        }
    };
    drop(store);
    let api_key = match &args.api_key_env {
        Some(var) => Some(api_key(var, std::env::var(var).ok())?),
        None => None,
    };
    let generator = Arc::new(ctx.decoder(Some(&dir))?);
    let embedder = match ctx.embedder_for_queries() {
        Ok(e) => Some(Arc::new(e)),
        Err(e) => {
            tracing::warn!(
                "no embedding model: {e:#}; /v1/embeddings and MODEL@COLLECTION are unavailable"
            );
            None
        }
    };
    let state = Arc::new(AppState {
        // One reading store per blocking task at most; a few stay open between requests.
        readers: ReadPool::new(&ctx.db_path(), 4),
        model_name: name,
        generator,
        embedder,
        search: {
            let mut p = ctx.search_params()?;
            p.k = g.rag_k.max(1);
            p
        },
        sampling: SamplingParams::from_config(g),
        max_tokens: g.max_tokens,
        context_tokens: g.context_tokens,
        api_key,
        in_flight: AtomicUsize::new(0),
        max_queue: args.max_queue.max(1),
    });
    let (state_name, state_backend) = (state.model_name.clone(), state.generator.backend());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
        let addr = listener.local_addr()?;
        println!("listening on http://{addr}/v1");
        eprintln!("serving {} on {}", state_name, state_backend);
        std::io::stdout().flush()?;
        tracing::info!(%addr, "serving");
        let timeouts = Timeouts {
            header_read: Duration::from_secs(args.header_timeout_s),
            idle: Duration::from_secs(args.idle_timeout_s),
        };
        serve(listener, router(state), timeouts, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
        Ok(())
    })
}

/// The key from `--api-key-env`: an unset or empty variable would refuse every request with
/// 401 and no word, so the server refuses to start instead.
fn api_key(var: &str, value: Option<String>) -> anyhow::Result<String> {
    match value {
        None => anyhow::bail!("--api-key-env {var}: the variable is not set"),
        Some(v) if v.trim().is_empty() => anyhow::bail!(
            "--api-key-env {var}: the variable is empty, so every request would be refused; set it to the key clients send"
        ),
        Some(v) => Ok(v),
    }
}
