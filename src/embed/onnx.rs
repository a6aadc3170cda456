//! The ONNX sentence embedder, as an actor: one tokenizer thread plans length-bucketed batches
//! while a pool of session threads (each owning one ONNX session) runs them, so tokenization
//! of the next window overlaps inference of the current one. Callers hold a cheap handle.

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use ort::session::Session;
use ort::value::TensorRef;
use std::path::Path;
use tokenizers::Tokenizer;

use super::batch::{plan, Batch, Encoded};
use super::fused::{self, GraphChoice};
use super::manifest::{ModelManifest, Pooling};
use super::pool::pool;
use super::{tokenizer, EmbedError, Embedder, ModelIdentity};
use crate::onnx::{ExecutionProvider, Runtime, SessionSpec};

/// Texts tokenized at once before their batches are handed to the sessions.
const WINDOW: usize = 256;

#[derive(Debug, Clone, Copy, Default)]
pub struct EmbedOptions {
    /// 0 = automatic.
    pub batch_size: usize,
    /// 0 = one per core on CPU, one on GPU.
    pub sessions: usize,
    /// 0 = cores / sessions.
    pub threads: usize,
    pub graph: GraphChoice,
    /// Long-lived searching processes (the console, `serve`): a session with every core
    /// answers single queries, made in the background at start. A one-shot command would pay
    /// more to make it than it saves.
    pub query_lane: bool,
}

pub struct OnnxEmbedder {
    identity: ModelIdentity,
    provider: ExecutionProvider,
    sessions: usize,
    batch_size: usize,
    graph: &'static str,
    requests: Sender<Request>,
    /// Single queries, on a session with every core, when asked for and the pool's sessions
    /// have fewer threads; None otherwise.
    queries: Option<Sender<Request>>,
    /// The tokenizer and session threads, joined on drop so no session is still being
    /// used or destroyed when the process exits.
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for OnnxEmbedder {
    fn drop(&mut self) {
        // Closing the request channel ends the tokenizer thread, which closes the job
        // channel and so ends the session threads.
        let (closed, _) = unbounded();
        drop(std::mem::replace(&mut self.requests, closed));
        drop(self.queries.take());
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

struct Request {
    texts: Vec<String>,
    reply: Sender<Reply>,
}

enum Reply {
    Planned(usize),
    Part {
        origin: Vec<usize>,
        vectors: Result<Vec<Vec<f32>>, String>,
    },
    Failed(String),
}

struct Job {
    batch: Batch,
    reply: Sender<Reply>,
}

impl OnnxEmbedder {
    pub fn start(dir: &Path, runtime: &Runtime, options: EmbedOptions) -> Result<Self, EmbedError> {
        let manifest = ModelManifest::load(dir)?;
        let model = dir.join("model.onnx");
        if !model.is_file() {
            return Err(EmbedError::Model {
                dir: dir.display().to_string(),
                detail: "model.onnx is missing; run `lmdeck setup`".into(),
            });
        }
        let tokenizer = tokenizer::load(&dir.join("tokenizer.json"), Some(manifest.max_tokens))?;
        let fused_graph = match options.graph {
            GraphChoice::Fused => fused::current(dir, &manifest),
            GraphChoice::Original => None,
        };
        let graph = if fused_graph.is_some() {
            "fused"
        } else {
            "original"
        };
        let model = fused_graph.unwrap_or(model);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

        // The first session tells us the device, which decides the defaults for the rest.
        let probe_threads = if options.threads > 0 {
            options.threads
        } else {
            1
        };
        let spec = |threads: usize| SessionSpec {
            model: model.clone(),
            intra_threads: threads,
            spin: true,
            cpu_graph: None,
        };
        let (first, provider) = runtime.session(&spec(probe_threads))?;
        let gpu = provider.is_gpu();
        let sessions = match options.sessions {
            0 if gpu => 1,
            0 => cores,
            n => n,
        };
        let threads = match options.threads {
            0 if gpu => 1,
            0 => (cores / sessions).max(1),
            n => n,
        };
        let batch_size = match options.batch_size {
            0 if gpu => 64,
            0 => 2,
            n => n,
        };
        let mut all = Vec::with_capacity(sessions);
        all.push(if threads == probe_threads {
            first
        } else {
            runtime.session(&spec(threads))?.0
        });
        while all.len() < sessions {
            all.push(runtime.session(&spec(threads))?.0);
        }

        let uses_type_ids = all[0].inputs().iter().any(|i| i.name() == "token_type_ids");
        let (job_tx, job_rx) = bounded::<Job>(sessions * 4);
        let mut workers = Vec::with_capacity(sessions + 1);
        for (n, session) in all.into_iter().enumerate() {
            let jobs = job_rx.clone();
            let pooling = manifest.pooling;
            let dim = manifest.dim;
            workers.push(
                std::thread::Builder::new()
                    .name(format!("embed-session-{n}"))
                    .spawn(move || session_worker(session, jobs, pooling, dim, uses_type_ids))
                    .map_err(|e| EmbedError::Inference(e.to_string()))?,
            );
        }
        let (req_tx, req_rx) = unbounded::<Request>();
        let queries = if options.query_lane && !gpu && threads < cores {
            let (tx, rx) = unbounded::<Request>();
            let lane = QueryLane {
                runtime: runtime.clone(),
                spec: SessionSpec {
                    spin: false,
                    ..spec(cores)
                },
                tokenizer: tokenizer.clone(),
                pooling: manifest.pooling,
                dim: manifest.dim,
                uses_type_ids,
                pool: req_tx.clone(),
            };
            workers.push(
                std::thread::Builder::new()
                    .name("embed-query".into())
                    .spawn(move || lane.serve(rx))
                    .map_err(|e| EmbedError::Inference(e.to_string()))?,
            );
            Some(tx)
        } else {
            None
        };
        workers.push(
            std::thread::Builder::new()
                .name("embed-tokenizer".into())
                .spawn(move || tokenizer_worker(tokenizer, req_rx, job_tx, batch_size))
                .map_err(|e| EmbedError::Inference(e.to_string()))?,
        );
        tracing::info!(model = %manifest.name, %provider, sessions, threads, batch_size, graph, "embedder started");
        Ok(Self {
            identity: manifest.identity(),
            provider,
            sessions,
            batch_size,
            graph,
            requests: req_tx,
            queries,
            threads: workers,
        })
    }

    pub fn provider(&self) -> &ExecutionProvider {
        &self.provider
    }

    /// "fused" or "original": which graph of the model the sessions run.
    pub fn graph(&self) -> &'static str {
        self.graph
    }

    /// (sessions, batch size) actually used, for reports.
    pub fn shape(&self) -> (usize, usize) {
        (self.sessions, self.batch_size)
    }
}

impl Embedder for OnnxEmbedder {
    fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.embed_on(&self.requests, texts)
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let lane = self.queries.as_ref().unwrap_or(&self.requests);
        self.embed_on(lane, &[text.to_string()])?
            .pop()
            .ok_or(EmbedError::WorkerGone)
    }
}

impl OnnxEmbedder {
    fn embed_on(
        &self,
        requests: &Sender<Request>,
        texts: &[String],
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, replies) = unbounded();
        requests
            .send(Request {
                texts: texts.to_vec(),
                reply,
            })
            .map_err(|_| EmbedError::WorkerGone)?;
        let mut out: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        let (mut planned, mut received) = (None, 0usize);
        while planned != Some(received) {
            match replies.recv().map_err(|_| EmbedError::WorkerGone)? {
                Reply::Planned(n) => planned = Some(n),
                Reply::Failed(e) => return Err(EmbedError::Inference(e)),
                Reply::Part { origin, vectors } => {
                    received += 1;
                    let vectors = vectors.map_err(EmbedError::Inference)?;
                    for (i, v) in origin.into_iter().zip(vectors) {
                        out[i] = Some(v);
                    }
                }
            }
        }
        out.into_iter()
            .map(|v| v.ok_or(EmbedError::WorkerGone))
            .collect()
    }
}

/// The single-query session: all cores for one short text cut its latency by 40 %, while
/// the pool's one-thread sessions stay best for throughput. Its threads do not spin when idle:
/// the keyword stage runs beside it.
struct QueryLane {
    runtime: Runtime,
    spec: SessionSpec,
    tokenizer: Tokenizer,
    pooling: Pooling,
    dim: usize,
    uses_type_ids: bool,
    /// The pool's request channel, for when the query session cannot be made.
    pool: Sender<Request>,
}

impl QueryLane {
    fn serve(self, requests: Receiver<Request>) {
        // Made now, beside the pool's sessions, not when the first query waits for it. If it
        // cannot be made, the pool answers the queries, only slower.
        let mut session = match self.runtime.session(&self.spec) {
            Ok((session, _)) => Some(session),
            Err(e) => {
                tracing::warn!("no query session ({e}); queries go to the pool");
                None
            }
        };
        for request in requests {
            let Some(session) = session.as_mut() else {
                if self.pool.send(request).is_err() {
                    return;
                }
                continue;
            };
            let reply = |r| {
                let _ = request.reply.send(r);
            };
            let encodings = match self.tokenizer.encode_batch(request.texts.clone(), true) {
                Ok(e) => e,
                Err(e) => {
                    reply(Reply::Failed(format!("tokenization failed: {e}")));
                    continue;
                }
            };
            let mut count = 0;
            for batch in plan(encode(&encodings), 0, request.texts.len()) {
                count += 1;
                let vectors =
                    run_batch(session, &batch, self.pooling, self.dim, self.uses_type_ids);
                reply(Reply::Part {
                    origin: batch.origin,
                    vectors,
                });
            }
            reply(Reply::Planned(count));
        }
    }
}

fn encode(encodings: &[tokenizers::Encoding]) -> Vec<Encoded> {
    encodings
        .iter()
        .map(|e| Encoded {
            ids: e.get_ids().iter().map(|&x| x as i64).collect(),
            type_ids: e.get_type_ids().iter().map(|&x| x as i64).collect(),
        })
        .collect()
}

fn tokenizer_worker(
    tokenizer: Tokenizer,
    requests: Receiver<Request>,
    jobs: Sender<Job>,
    batch_size: usize,
) {
    for request in requests {
        let mut count = 0;
        for (w, window) in request.texts.chunks(WINDOW).enumerate() {
            let encodings = match tokenizer.encode_batch(window.to_vec(), true) {
                Ok(e) => e,
                Err(e) => {
                    let _ = request
                        .reply
                        .send(Reply::Failed(format!("tokenization failed: {e}")));
                    break;
                }
            };
            for batch in plan(encode(&encodings), w * WINDOW, batch_size) {
                count += 1;
                let job = Job {
                    batch,
                    reply: request.reply.clone(),
                };
                if jobs.send(job).is_err() {
                    return;
                }
            }
        }
        let _ = request.reply.send(Reply::Planned(count));
    }
}

fn session_worker(
    mut session: Session,
    jobs: Receiver<Job>,
    pooling: Pooling,
    dim: usize,
    uses_type_ids: bool,
) {
    for job in jobs {
        let vectors = run_batch(&mut session, &job.batch, pooling, dim, uses_type_ids);
        let _ = job.reply.send(Reply::Part {
            origin: job.batch.origin,
            vectors,
        });
    }
}

fn run_batch(
    session: &mut Session,
    batch: &Batch,
    pooling: Pooling,
    dim: usize,
    uses_type_ids: bool,
) -> Result<Vec<Vec<f32>>, String> {
    let shape = [batch.rows, batch.seq];
    let ids = tensor(shape, &batch.ids)?;
    let mask = tensor(shape, &batch.mask)?;
    let outputs = if uses_type_ids {
        let types = tensor(shape, &batch.type_ids)?;
        session.run(
            ort::inputs!["input_ids" => ids, "attention_mask" => mask, "token_type_ids" => types],
        )
    } else {
        session.run(ort::inputs!["input_ids" => ids, "attention_mask" => mask])
    }
    .map_err(|e| e.to_string())?;
    let (out_shape, data) = outputs[0]
        .try_extract_tensor::<f32>()
        .map_err(|e| e.to_string())?;
    match out_shape.len() {
        3 if out_shape[2] as usize == dim => {
            Ok(pool(data, &batch.mask, batch.rows, batch.seq, dim, pooling))
        }
        // Some exports pool inside the graph: [batch, dim].
        2 if out_shape[1] as usize == dim => Ok(data
            .chunks(dim)
            .map(|row| {
                let mut v = row.to_vec();
                super::pool::normalize(&mut v);
                v
            })
            .collect()),
        _ => Err(format!(
            "unexpected output shape {out_shape:?} (model dim {dim})"
        )),
    }
}

fn tensor(shape: [usize; 2], data: &[i64]) -> Result<TensorRef<'_, i64>, String> {
    let view = ndarray::ArrayView2::from_shape(shape, data).map_err(|e| e.to_string())?;
    TensorRef::from_array_view(view).map_err(|e| e.to_string())
}
