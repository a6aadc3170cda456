//! The command-line grammar (clap), shared by every front end: a leaf module that only
//! describes arguments and does nothing with them.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "lmdeck",
    version,
    about = "Terminal operations console for hybrid LLM stacks: corpus curation, retrieval inspection, chat, fine-tune jobs and evaluation",
    long_about = None
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// SQLite database file (overrides store.db; env LMDECK_DB).
    #[arg(long, global = true, env = "LMDECK_DB")]
    pub db: Option<PathBuf>,
    /// Config file (default: config.toml in the config dir; env LMDECK_CONFIG).
    #[arg(long, global = true, env = "LMDECK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Execution device: auto, cpu, cuda or cuda:N (overrides runtime.device).
    #[arg(long, global = true)]
    pub device: Option<String>,
    /// Path to libonnxruntime.so (overrides runtime.ort_dylib and ORT_DYLIB_PATH).
    #[arg(long, global = true)]
    pub ort_dylib: Option<PathBuf>,
    /// Console theme (overrides ui.theme): dark, light, high-contrast or a user theme.
    #[arg(long, global = true)]
    pub theme: Option<String>,
}

impl GlobalArgs {
    /// The values the services take from the command line.
    pub fn overrides(&self) -> crate::services::Overrides {
        crate::services::Overrides {
            config: self.config.clone(),
            db: self.db.clone(),
            device: self.device.clone(),
            ort_dylib: self.ort_dylib.clone(),
            theme: self.theme.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the console (the same as running lmdeck with no command).
    Console(ConsoleArgs),
    /// Install the pinned ONNX Runtime and the default embedding model (idempotent).
    Setup(SetupArgs),
    /// Ingest files and folders into a collection (incremental).
    Ingest(IngestArgs),
    /// Search a collection; every result carries its retrieval trace.
    Search(SearchArgs),
    /// Why not? Where a document or chunk fell out of a query's results, stage by stage.
    Why(WhyArgs),
    /// Ask a question: the chat model answers from retrieved, numbered sources (streamed).
    Ask(AskArgs),
    /// Generation models: list, add, remove, show, import-gguf.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Stored chat sessions and their messages.
    #[command(subcommand)]
    Chats(ChatsCommand),
    /// OpenAI-compatible HTTP server: chat completions (MODEL@COLLECTION answers from sources), models, embeddings.
    Serve(ServeArgs),
    /// Evaluation: labelled sets, runs of configurations, comparisons (RAG vs fine-tuning).
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Environment, runtime, models and database report.
    Doctor(JsonFlag),
    /// Show or initialise the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// List collections.
    Collections(JsonFlag),
    /// Inspect and curate documents.
    #[command(subcommand)]
    Docs(DocsCommand),
    /// Exclude or include a single chunk.
    #[command(subcommand)]
    Chunk(ChunkCommand),
    /// Re-sync a collection from the folders it was ingested from (dry run first with --dry-run).
    Sync(SyncArgs),
    /// Near-duplicate chunk pairs of a collection (cosine similarity above a threshold).
    Dupes(DupesArgs),
    /// Chunk-length histogram of a collection, in tokens.
    Histogram(HistogramArgs),
    /// Re-embed a collection with the configured embedding model.
    Reembed(ReembedArgs),
    /// Benchmarks (throughput and latency), printed as ratios against baselines.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Fine-tune jobs: submit specs, watch, cancel, pause, retry, diff.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Fine-tune of a local chat model (LoRA by default; `--set env.METHOD=full` for whole weights), queued as a job (needs `lmdeck setup --training`).
    Finetune(FinetuneArgs),
    /// Training data: chat-format JSONL from an evaluation set or the corpus.
    #[command(subcommand)]
    Dataset(DatasetCommand),
}

#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Write chat-format training JSONL ({"messages": [...]}) from an evaluation set or from a
    /// collection's chunks; the rag format puts numbered retrieved sources in the prompt, as
    /// `ask` does, and cites the one holding the answer. Evaluation items stay out unless
    /// --include-eval.
    Export(DatasetExportArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportSource {
    /// The training part of an evaluation set (--eval); the held-out part is never exported.
    Eval,
    /// One example per chunk of a collection, leaving out the documents that the held-out
    /// part of --eval asks about.
    Corpus,
    /// One example per chat answer rated good (console or `lmdeck chats rate`), leaving out
    /// questions that the held-out part of --eval asks.
    Chats,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Question and answer only.
    Chat,
    /// Numbered retrieved sources in the prompt, the answer citing its source [n].
    Rag,
}

#[derive(Debug, Args)]
pub struct DatasetExportArgs {
    #[arg(long, value_enum)]
    pub from: ExportSource,
    /// Evaluation set (QA JSONL: id, question, answer, doc_paths). Required with --from eval.
    #[arg(long)]
    pub eval: Option<PathBuf>,
    /// Collection retrieved from (rag format) or exported (--from corpus).
    #[arg(long, short, default_value = "default")]
    pub collection: String,
    #[arg(long, value_enum, default_value = "rag")]
    pub format: ExportFormat,
    /// Sources per rag example.
    #[arg(long, default_value_t = 3)]
    pub sources: usize,
    /// Fraction of the evaluation set held out for evaluation (by a stable hash of each id):
    /// never exported, and with --from corpus its documents are left out too.
    #[arg(long, default_value_t = 0.5)]
    pub holdout: f64,
    /// Also write the held-out items (QA JSONL, for `lmdeck eval`) here.
    #[arg(long)]
    pub heldout_out: Option<PathBuf>,
    /// Export evaluation items and the documents they ask about too (training and evaluation
    /// then overlap: their scores no longer say how the model does on unseen questions).
    #[arg(long)]
    pub include_eval: bool,
    /// At most this many examples.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Output JSONL file.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FinetuneArgs {
    /// The model to start from (a name from `lmdeck models list`, converted from GGUF).
    #[arg(long)]
    pub base: String,
    /// Chat-format JSONL: {"messages": [{"role": ..., "content": ...}, ...]} per line.
    #[arg(long)]
    pub data: PathBuf,
    /// Name of the new model (default: BASE-ft-UNIXTIME).
    #[arg(long)]
    pub name: Option<String>,
    /// Optimizer steps (the job's env STEPS; default 30).
    #[arg(long)]
    pub steps: Option<u32>,
    /// Folder for the new model (default: the models dir / NAME).
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
    /// Override a job spec field, as in `jobs submit` (env.LR=2e-3, env.MAX_LEN=128, priority=5).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Evaluate every checkpoint and the last step on this evaluation set (`lmdeck eval run
    /// --inline`) and register the best one by --eval-metric instead of the last step. Each
    /// evaluation exports the checkpoint (GGUF, ONNX, logits check) and answers the set's items.
    #[arg(long, value_name = "SET")]
    pub eval_set: Option<String>,
    /// The metric choosing the checkpoint: the run's mean, higher is better, ties go to the
    /// earliest step (default f1).
    #[arg(long, value_name = "METRIC")]
    pub eval_metric: Option<String>,
    /// Evaluate the set's first N items only.
    #[arg(long, value_name = "N")]
    pub eval_limit: Option<usize>,
    /// A run configuration override for the evaluations, as `eval run --set key=value`
    /// (collection=sample, rag=on, max_tokens=64); repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    pub eval_with: Vec<String>,
    /// Collection the evaluations retrieve from (default: the configuration's, else the set's).
    #[arg(long, short = 'c', value_name = "NAME")]
    pub eval_collection: Option<String>,
    /// Where the job runs: local or slurm (default: the config's jobs.backend).
    #[arg(long, value_parser = ["local", "slurm"])]
    pub backend: Option<String>,
    /// Wait for the job to end (exit status 1 when it did not succeed).
    #[arg(long)]
    pub wait: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Queue a job from a TOML spec; it starts at once when a slot is free. Several specs
    /// with the Slurm backend become one array job (task N runs spec N).
    Submit {
        #[arg(required = true, num_args = 1..)]
        spec: Vec<PathBuf>,
        /// Where the job runs: local or slurm (default: the spec's `backend`, else the
        /// config's jobs.backend).
        #[arg(long, value_parser = ["local", "slurm"])]
        backend: Option<String>,
        /// Override a spec field: key=value, dotted keys (env.SEED=1); repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Wait for the job to end (exit status 1 when it did not succeed).
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
    },
    /// Jobs with their state.
    List(JsonFlag),
    /// A job's state, exit code, times, argv and env (secrets redacted).
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// A job's stdout log (--stderr for stderr).
    Logs {
        id: i64,
        /// Keep printing until the job ends.
        #[arg(long, short)]
        follow: bool,
        #[arg(long)]
        stderr: bool,
    },
    /// SIGTERM to the job's process group, SIGKILL after the grace period.
    Cancel {
        id: i64,
        /// Seconds between SIGTERM and SIGKILL (default: LMDECK_JOBS_GRACE_SECS or 10).
        #[arg(long)]
        grace: Option<f64>,
    },
    /// SIGSTOP to the job's process group.
    Pause { id: i64 },
    /// Continue a paused job (SIGCONT to its group), or an ended one (failed, cancelled,
    /// lost) from its last checkpoint-<step> folder in its output_dir, as the same job.
    Resume { id: i64 },
    /// Queue an ended job again, from the same frozen snapshot.
    Retry { id: i64 },
    /// Remove ended jobs and their logs.
    Clean,
    /// Differences between two jobs' snapshots.
    Diff { a: i64, b: i64 },
    /// Runs one job and records its result (started by submit, detached).
    #[command(hide = true)]
    Supervise { id: i64 },
    /// The host's GPUs (NVML or nvidia-smi; LMDECK_GPU_INVENTORY=FILE reads recorded
    /// nvidia-smi output instead) and which job holds each.
    Gpus(JsonFlag),
    /// The scheduler daemon (one per database): starts it detached unless one runs; it starts
    /// queued jobs as GPUs and slots free up and marks vanished jobs lost.
    Daemon {
        /// Stop it (SIGTERM); running jobs keep running.
        #[arg(long, conflicts_with_all = ["status", "foreground"])]
        stop: bool,
        /// Whether it runs, its pid and its log file.
        #[arg(long, conflicts_with = "foreground")]
        status: bool,
        /// Run the loop in this process instead (for service managers).
        #[arg(long)]
        foreground: bool,
    },
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Machine-readable JSON output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    /// The question; text starting with `-` is accepted too.
    #[arg(allow_hyphen_values = true)]
    pub question: String,
    /// Answer from the model alone, without retrieved sources (to compare).
    #[arg(long)]
    pub no_rag: bool,
    /// Chat model: a registered or installed model name, or a model folder (generate.model).
    #[arg(long)]
    pub model: Option<String>,
    #[arg(long, short, default_value = "default")]
    pub collection: String,
    /// Sources offered to the model (generate.rag_k).
    #[arg(long, short)]
    pub k: Option<usize>,
    /// Answer tokens at most (generate.max_tokens).
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// 0 = greedy (generate.temperature).
    #[arg(long)]
    pub temperature: Option<f64>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Offer this chunk as a source first, whatever the retrieval finds (repeatable).
    #[arg(long = "pin", value_name = "CHUNK_ID")]
    pub pins: Vec<i64>,
    /// Add the exchange to this chat session (default: a new one).
    #[arg(long)]
    pub session: Option<i64>,
    /// Do not store the exchange.
    #[arg(long)]
    pub no_save: bool,
    /// Print one JSON object at the end instead of streaming.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to bind; 127.0.0.1 keeps the server on this host.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port; 0 picks a free one (the address is printed on the first line).
    #[arg(long, default_value_t = 8088)]
    pub port: u16,
    /// Require `Authorization: Bearer KEY` with the key taken from this environment variable.
    #[arg(long)]
    pub api_key_env: Option<String>,
    /// Chat model served (generate.model); endpoints are not proxied.
    #[arg(long)]
    pub model: Option<String>,
    /// Chat and embedding requests queued at most before new ones get 503.
    #[arg(long, default_value_t = 64)]
    pub max_queue: usize,
    /// Seconds a client may take to send a request's headers; an idle keep-alive
    /// connection is closed after as long.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_s: u64,
    /// Seconds a connection may sit with no bytes moving (a stalled upload, a client that
    /// stops reading) before it is closed; time spent answering does not count.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_s: u64,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Installed and registered chat models.
    List(JsonFlag),
    /// Register a model folder (Optimum text-generation-with-past ONNX export or a conversion).
    Add {
        dir: PathBuf,
        #[arg(long)]
        name: Option<String>,
        /// The model it was fine-tuned from (lineage).
        #[arg(long)]
        base: Option<String>,
    },
    /// Forget a registered model (its files stay).
    Remove { name: String },
    /// A model's folder, manifest, tokenizer and chat template.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Convert a Llama-architecture GGUF (Q4_0, Q4_1, Q8_0, F16, F32) into an ONNX model folder.
    ImportGguf {
        file: PathBuf,
        #[arg(long)]
        name: Option<String>,
        /// Quantise activations to int8 per block in the 4-bit matmuls, run the LM head 8-bit
        /// and keep the KV cache in float16, as llama.cpp does: about 1.5x the decode speed,
        /// no longer exact (top-1 agreement 0.96 against the float reference on the default
        /// model over 300 positions; llama.cpp's own: 0.987).
        #[arg(long)]
        int8_activations: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ChatsCommand {
    /// Chat sessions, newest first.
    List(JsonFlag),
    /// A session's messages with their sources.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Rate an answer (its id from `chats show`): good answers become training examples
    /// (`dataset export --from chats`).
    Rate {
        message_id: i64,
        #[arg(value_enum)]
        rating: RatingArg,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RatingArg {
    Good,
    Bad,
    /// Clear the rating.
    None,
}

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// Open on this collection's documents.
    #[arg(long, short)]
    pub collection: Option<String>,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Install from pre-downloaded wheels in this folder instead of PyPI.
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// Reinstall even if a verified install is present.
    #[arg(long)]
    pub force: bool,
    /// Install only the training environment (PyTorch and the Hugging Face stack, ~5.3 GB) that
    /// `lmdeck finetune` runs in.
    #[arg(long)]
    pub training: bool,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files or folders to ingest.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[arg(long, short, default_value = "default")]
    pub collection: String,
    /// Report what would change and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete stored documents whose files are gone.
    #[arg(long)]
    pub prune: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The query; text starting with `-` is accepted as a query too.
    #[arg(allow_hyphen_values = true)]
    pub query: String,
    #[arg(long, short, default_value = "default")]
    pub collection: String,
    #[command(flatten)]
    pub rank: RankOpts,
    #[arg(long)]
    pub json: bool,
}

/// Retrieval parameters a command may override.
#[derive(Debug, Args)]
pub struct RankOpts {
    /// Results to return (search.k).
    #[arg(long, short)]
    pub k: Option<usize>,
    /// hybrid, vector or keyword (search.mode).
    #[arg(long, short)]
    pub mode: Option<String>,
    /// Candidates per stage (search.candidates).
    #[arg(long)]
    pub candidates: Option<usize>,
    /// Fusion constant (search.rrf_k).
    #[arg(long)]
    pub rrf_k: Option<f64>,
}

#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The query that did not return the target.
    #[arg(allow_hyphen_values = true)]
    pub query: String,
    /// Document id, source path (relative to its folder is enough) or chunk:ID.
    pub target: String,
    #[arg(long, short, default_value = "default")]
    pub collection: String,
    #[command(flatten)]
    pub rank: RankOpts,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalRetrievalArgs {
    /// BEIR folder with corpus.jsonl, queries.jsonl and qrels/SPLIT.tsv.
    #[arg(long)]
    pub beir: PathBuf,
    #[arg(long, default_value = "train")]
    pub split: String,
    /// Collection to ingest the corpus into (default: beir-FOLDERNAME).
    #[arg(long)]
    pub collection: Option<String>,
    /// Evaluate at most this many queries (all by default).
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every effective value and where it came from.
    Show(JsonFlag),
    /// Print the documented default config file.
    Init,
    /// Print the config file path.
    Path,
}

#[derive(Debug, Subcommand)]
pub enum DocsCommand {
    /// List documents of a collection.
    List {
        #[arg(long, short, default_value = "default")]
        collection: String,
        #[arg(long)]
        json: bool,
    },
    /// Show a document (by id or source path) and its chunks.
    Show(DocRef),
    /// Exclude a document from retrieval (kept in the store).
    Exclude(DocRef),
    /// Include a previously excluded document.
    Include(DocRef),
    /// Add a tag to a document.
    Tag(DocTag),
    /// Remove a tag from a document.
    Untag(DocTag),
    /// Delete a document and its chunks and vectors.
    Rm(DocRef),
}

#[derive(Debug, Args)]
pub struct DocRef {
    /// Document id or source path.
    pub document: String,
    #[arg(long, short, default_value = "default")]
    pub collection: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DocTag {
    pub document: String,
    pub tag: String,
    #[arg(long, short, default_value = "default")]
    pub collection: String,
}

#[derive(Debug, Subcommand)]
pub enum ChunkCommand {
    /// Exclude one chunk from retrieval.
    Exclude { chunk_id: i64 },
    /// Include a previously excluded chunk.
    Include { chunk_id: i64 },
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[arg(long, short, default_value = "default")]
    pub collection: String,
    /// Show what would change (added, modified, renamed, removed) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DupesArgs {
    #[arg(long, short, default_value = "default")]
    pub collection: String,
    /// Cosine similarity from which two chunks count as near duplicates.
    #[arg(long, default_value_t = 0.95)]
    pub threshold: f32,
    /// Pairs to list at most.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HistogramArgs {
    #[arg(long, short, default_value = "default")]
    pub collection: String,
    #[arg(long, default_value_t = 12)]
    pub buckets: usize,
}

#[derive(Debug, Args)]
pub struct ReembedArgs {
    #[arg(long, short)]
    pub collection: String,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Chat model time to first token and decode tokens/s (compare with scripts/bench-generate.sh).
    Generate(BenchGenerateArgs),
    /// Console frame cost with a large documents table (virtualised vs every row).
    Console(BenchConsoleArgs),
    /// Embedding throughput on a BEIR corpus (compare with scripts/bench.sh for the Python baseline).
    Embed(BenchEmbedArgs),
    /// Search latency and vector recall@10 at several collection sizes (synthetic vectors).
    Search(BenchSearchArgs),
    /// Vector-stage recall@10 against exact search on an ingested collection.
    Recall(BenchRecallArgs),
    /// Jobs: log-follower capacity and a 50,000 lines/s flood, and submit-to-start time.
    Jobs(BenchJobsArgs),
}

#[derive(Debug, Args)]
pub struct BenchGenerateArgs {
    #[arg(
        long,
        default_value = "Explain in detail how a GPU cluster scheduler decides where to place a training job, and what can go wrong."
    )]
    pub prompt: String,
    /// Read the prompt from this file instead (scripts/bench-generate.sh writes RAG-length
    /// prompts of about 50, 500 and 1,500 tokens).
    #[arg(long, conflicts_with = "prompt")]
    pub prompt_file: Option<std::path::PathBuf>,
    #[arg(long, default_value_t = 128)]
    pub max_tokens: usize,
    /// Timed runs (after one warm-up); the medians are reported.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Model folder (default: the installed chat model).
    #[arg(long)]
    pub model: Option<std::path::PathBuf>,
    /// Also check that KV-cached steps give the logits of a full forward pass over the prompt
    /// (largest difference and top-1 agreement), on the device in use.
    #[arg(long)]
    pub verify: bool,
}

#[derive(Debug, Args)]
pub struct BenchConsoleArgs {
    /// Documents in the synthetic collection.
    #[arg(long, default_value_t = 100_000)]
    pub docs: usize,
    /// Frames timed.
    #[arg(long, default_value_t = 300)]
    pub frames: usize,
    /// Chunks in the near-duplicate scan that runs while inspector searches are timed
    /// (0 skips that part).
    #[arg(long, default_value_t = 20_000)]
    pub scan_chunks: usize,
}

#[derive(Debug, Args)]
pub struct BenchEmbedArgs {
    /// BEIR folder whose corpus.jsonl is embedded (title + text).
    #[arg(long)]
    pub beir: PathBuf,
    /// Documents to embed.
    #[arg(long, default_value_t = 1000)]
    pub docs: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchSearchArgs {
    /// Collection sizes in chunks, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,300000")]
    pub sizes: Vec<usize>,
    /// Queries timed per size.
    #[arg(long, default_value_t = 100)]
    pub queries: usize,
    /// Where the synthetic databases are built (default: a temporary folder).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BenchJobsArgs {
    /// Steps in the log parsed for the capacity figure.
    #[arg(long, default_value_t = 500_000)]
    pub capacity_lines: u64,
    /// Lines per second the flooding job prints.
    #[arg(long, default_value_t = 50_000)]
    pub lines_per_sec: u64,
    /// How long the flood lasts.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Jobs submitted for the submit-to-start figure.
    #[arg(long, default_value_t = 5)]
    pub submits: usize,
}

#[derive(Debug, Args)]
pub struct BenchRecallArgs {
    #[arg(long, short)]
    pub collection: String,
    /// BEIR queries.jsonl whose texts are used as queries.
    #[arg(long)]
    pub queries: PathBuf,
    #[arg(long, default_value_t = 200)]
    pub limit: usize,
}

#[path = "args_eval.rs"]
mod eval_args;
pub use eval_args::*;
