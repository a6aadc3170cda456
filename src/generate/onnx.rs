//! The local decoder: an ONNX model in the Optimum "text-generation-with-past" layout, run on
//! its own thread. Inputs and outputs are found by name (`input_ids`, `attention_mask`,
//! `position_ids`, `past_key_values.N.key|value` -> `logits`, `present.N.key|value`), so
//! Llama, Qwen2, SmolLM, Phi or GPT-2 style exports work alike; an optional `logits_to_keep`
//! input (lmdeck's conversions have it) limits the LM head to the last position. The KV cache
//! moves from one step's outputs to the next step's inputs without copies. lmdeck's fused
//! graph (`seqlens_k` and `total_sequence_length` inputs, GroupQueryAttention) instead keeps
//! one fixed-capacity cache written in place (`kv_shared`).

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use ort::session::Session;
use ort::value::{DynValue, Tensor, TensorElementType, ValueType};
use std::path::Path;
use std::time::Instant;
use tokenizers::Tokenizer;

use super::attention::AttentionChoice;
use super::kv_shared::SharedCache;
use super::manifest::DecoderManifest;
use super::sampler::Sampler;
use super::stop::{StopMatcher, StopScan};
use super::{
    Cancel, ChatTemplate, FinishReason, GenerateError, GenerateEvent, GenerateRequest,
    GenerateStats, Generator, StepTimes,
};
use crate::onnx::{CpuGraph, ExecutionProvider, Runtime, SessionSpec};

/// Where the model's inputs and outputs are and what shape the cache has.
#[derive(Debug, Clone)]
struct Layout {
    /// (input name, output name) per cache tensor, in input order.
    cache: Vec<(String, String)>,
    kv_heads: usize,
    head_dim: usize,
    /// float32, or float16 in a CPU graph converted with a half-precision cache.
    cache_type: TensorElementType,
    has_position_ids: bool,
    has_attention_mask: bool,
    /// `logits_to_keep` (lmdeck's conversions, as in transformers): the head runs on the
    /// last position only, instead of on a whole prompt.
    has_logits_to_keep: bool,
    /// lmdeck's fused graph: lengths instead of a mask, and a cache written in place.
    shared_kv: bool,
    /// The CUDA device the session runs on, where a shared cache is allocated.
    cuda: Option<u32>,
}

impl Layout {
    fn discover(session: &Session, dir: &Path) -> Result<Layout, GenerateError> {
        let err = |detail: String| GenerateError::Model {
            dir: dir.display().to_string(),
            detail,
        };
        let inputs = session.inputs();
        let outputs: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
        if !inputs.iter().any(|i| i.name() == "input_ids") || !outputs.contains(&"logits") {
            return Err(err("the ONNX model needs an `input_ids` input and a `logits` output (Optimum text-generation-with-past layout)".into()));
        }
        let mut cache = Vec::new();
        let mut dims = None;
        let mut cache_type = None;
        for input in inputs
            .iter()
            .filter(|i| i.name().starts_with("past_key_values."))
        {
            let output = input.name().replacen("past_key_values", "present", 1);
            if !outputs.contains(&output.as_str()) {
                return Err(err(format!(
                    "input {} has no matching output {output}",
                    input.name()
                )));
            }
            if let ValueType::Tensor { ty, shape, .. } = input.dtype() {
                if !matches!(ty, TensorElementType::Float32 | TensorElementType::Float16)
                    || cache_type.is_some_and(|first| first != *ty)
                {
                    return Err(err(format!(
                        "cache input {} is {ty:?}; the cache must be all float32 (or all float16 in lmdeck's CPU graph)",
                        input.name()
                    )));
                }
                cache_type = Some(*ty);
                if shape.len() == 4 && shape[1] > 0 && shape[3] > 0 {
                    dims = Some((shape[1] as usize, shape[3] as usize));
                }
            }
            cache.push((input.name().to_string(), output));
        }
        if cache.is_empty() {
            return Err(err("the ONNX model has no past_key_values inputs: export it with the KV cache (`--task text-generation-with-past`)".into()));
        }
        let (kv_heads, head_dim) = dims.ok_or_else(|| err("cannot read the cache shape [batch, kv_heads, past, head_dim] from the model inputs".into()))?;
        let shared_kv = inputs.iter().any(|i| i.name() == "seqlens_k")
            && inputs.iter().any(|i| i.name() == "total_sequence_length");
        let cache_type = cache_type.unwrap_or(TensorElementType::Float32);
        if cache_type == TensorElementType::Float16 && !shared_kv {
            return Err(err("a float16 cache needs lmdeck's fused graph (seqlens_k and total_sequence_length inputs); convert the model with lmdeck".into()));
        }
        Ok(Layout {
            cache,
            kv_heads,
            head_dim,
            cache_type,
            has_position_ids: inputs.iter().any(|i| i.name() == "position_ids"),
            has_attention_mask: inputs.iter().any(|i| i.name() == "attention_mask"),
            has_logits_to_keep: inputs.iter().any(|i| i.name() == "logits_to_keep"),
            shared_kv,
            cuda: None,
        })
    }
}

/// The KV cache of one request, in the model's own layout.
enum Cache {
    /// Optimum layout: each step's `present` tensors become the next step's `past` inputs.
    Concat(Vec<DynValue>),
    /// lmdeck's fused graph: one buffer of fixed capacity, written in place.
    Shared(Box<SharedCache>),
}

impl Cache {
    /// An empty cache with room for `capacity` positions.
    fn new(session: &Session, layout: &Layout, capacity: usize) -> Result<Cache, String> {
        if layout.shared_kv {
            SharedCache::new(
                session,
                &layout.cache,
                layout.cache_type,
                layout.kv_heads,
                layout.head_dim,
                capacity,
                layout.cuda,
            )
            .map(|shared| Cache::Shared(Box::new(shared)))
        } else {
            empty_cache(layout).map(Cache::Concat)
        }
    }

    /// Feeds `ids` after `past` cached tokens; see [`step`].
    fn step(
        &mut self,
        session: &mut Session,
        layout: &Layout,
        past: usize,
        ids: &[u32],
        all_rows: bool,
    ) -> Result<Vec<Vec<f32>>, String> {
        match self {
            Cache::Concat(values) => step(session, layout, values, past, ids, all_rows),
            Cache::Shared(shared) => shared.step(session, past, ids, all_rows),
        }
    }
}

/// One forward step: feeds `ids` after `past` cached tokens, returns the logits of every new
/// position (or only the last, which is all generation needs: a model with `logits_to_keep`
/// then computes only that row, and otherwise only that row is copied) and leaves the new
/// cache in `cache`.
fn step(
    session: &mut Session,
    layout: &Layout,
    cache: &mut Vec<DynValue>,
    past: usize,
    ids: &[u32],
    all_rows: bool,
) -> Result<Vec<Vec<f32>>, String> {
    let s = ids.len();
    let text = |e: ort::Error| e.to_string();
    let mut feeds: Vec<(String, ort::session::SessionInputValue<'_>)> =
        Vec::with_capacity(layout.cache.len() + 4);
    let input_ids: Vec<i64> = ids.iter().map(|&t| t as i64).collect();
    feeds.push((
        "input_ids".into(),
        Tensor::from_array(([1usize, s], input_ids))
            .map_err(text)?
            .into(),
    ));
    if layout.has_attention_mask {
        feeds.push((
            "attention_mask".into(),
            Tensor::from_array(([1usize, past + s], vec![1i64; past + s]))
                .map_err(text)?
                .into(),
        ));
    }
    if layout.has_position_ids {
        let pos: Vec<i64> = (past..past + s).map(|p| p as i64).collect();
        feeds.push((
            "position_ids".into(),
            Tensor::from_array(([1usize, s], pos)).map_err(text)?.into(),
        ));
    }
    if layout.has_logits_to_keep {
        // 0 asks for every position.
        let keep = if all_rows { 0i64 } else { 1 };
        feeds.push((
            "logits_to_keep".into(),
            Tensor::from_array(([1usize], vec![keep]))
                .map_err(text)?
                .into(),
        ));
    }
    for ((name, _), value) in layout.cache.iter().zip(cache.iter()) {
        feeds.push((name.clone(), value.view().into()));
    }
    let mut outputs = session.run(feeds).map_err(text)?;
    let rows = logit_rows(&outputs["logits"], all_rows)?;
    let mut next = Vec::with_capacity(layout.cache.len());
    for (_, output) in &layout.cache {
        next.push(
            outputs
                .remove(output.as_str())
                .ok_or_else(|| format!("output {output} missing"))?,
        );
    }
    *cache = next;
    Ok(rows)
}

/// The rows of a `logits` output: every position's, or only the last one's.
pub(super) fn logit_rows(logits: &DynValue, all_rows: bool) -> Result<Vec<Vec<f32>>, String> {
    let (shape, data) = logits
        .try_extract_tensor::<f32>()
        .map_err(|e| e.to_string())?;
    let vocab = *shape.last().ok_or("logits have no dimensions")? as usize;
    let mut rows = data.chunks(vocab);
    Ok(if all_rows {
        rows.map(<[f32]>::to_vec).collect()
    } else {
        rows.next_back().map(<[f32]>::to_vec).into_iter().collect()
    })
}

fn empty_cache(layout: &Layout) -> Result<Vec<DynValue>, String> {
    layout
        .cache
        .iter()
        .map(|_| {
            Tensor::from_array((
                [1usize, layout.kv_heads, 0, layout.head_dim],
                Vec::<f32>::new(),
            ))
            .map(|t| t.into_dyn())
            .map_err(|e| e.to_string())
        })
        .collect()
}

enum Command {
    Generate {
        prompt: Vec<u32>,
        request: GenerateRequest,
        cancel: Cancel,
        events: Sender<Result<GenerateEvent, String>>,
    },
    Logits {
        ids: Vec<u32>,
        step_by_step: bool,
        reply: Sender<Result<Vec<Vec<f32>>, String>>,
    },
}

pub struct OnnxDecoder {
    manifest: DecoderManifest,
    template: ChatTemplate,
    tokenizer: Tokenizer,
    eos: Vec<u32>,
    /// Prepended to prompts when the model asks for it (`add_bos_token`).
    bos: Option<u32>,
    context: usize,
    provider: ExecutionProvider,
    /// Whose attention kernel runs: "lmdeck" (the CPU graph; "lmdeck-float16-cache" when its
    /// cache is float16), "onnxruntime" or, for an Optimum export, "graph" (standard operators).
    attention: &'static str,
    commands: Sender<Command>,
    /// The session thread, joined on drop: the session is destroyed before the process
    /// can exit.
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for OnnxDecoder {
    fn drop(&mut self) {
        let (closed, _) = unbounded();
        drop(std::mem::replace(&mut self.commands, closed));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Context used when a model does not say (Optimum exports carry no manifest).
const DEFAULT_CONTEXT: usize = 2048;

impl OnnxDecoder {
    pub fn start(
        dir: &Path,
        runtime: &Runtime,
        threads: usize,
        attention: AttentionChoice,
    ) -> Result<OnnxDecoder, GenerateError> {
        let (manifest, config) = DecoderManifest::load(dir)?;
        let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| GenerateError::Tokenizer(e.to_string()))?;
        let eos: Vec<u32> = manifest
            .eos_tokens
            .iter()
            .filter_map(|t| tokenizer.token_to_id(t))
            .collect();
        if eos.is_empty() {
            return Err(GenerateError::Model {
                dir: dir.display().to_string(),
                detail: "no end-of-sequence token (eos_token in tokenizer_config.json)".into(),
            });
        }
        let template = ChatTemplate::new(
            config.template(),
            super::manifest::TokenizerConfig::token(&config.bos_token),
            super::manifest::TokenizerConfig::token(&config.eos_token),
        )?;
        let threads = if threads > 0 {
            threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        };
        // lmdeck's conversions carry a CPU graph with lmdeck's own attention beside the
        // portable one; CUDA sessions, older conversions and Optimum exports use model.onnx.
        let cpu_graph = dir.join(super::attention::CPU_GRAPH_FILE);
        let cpu_graph =
            (attention == AttentionChoice::Lmdeck && cpu_graph.is_file()).then_some(CpuGraph {
                model: cpu_graph,
                operators: super::attention::domain,
            });
        let mut lmdeck_attention = cpu_graph.is_some();
        let spec = SessionSpec {
            model: dir.join("model.onnx"),
            intra_threads: threads,
            spin: true,
            cpu_graph,
        };
        let (mut session, provider) = match runtime.session(&spec) {
            Ok(session) => session,
            // A CPU graph this runtime cannot load still leaves the portable one.
            Err(e) if lmdeck_attention => {
                tracing::warn!(
                    "{}: lmdeck's attention graph failed ({e}); using model.onnx",
                    dir.display()
                );
                lmdeck_attention = false;
                runtime.session(&SessionSpec {
                    cpu_graph: None,
                    ..spec
                })?
            }
            Err(e) => return Err(e.into()),
        };
        let mut layout = Layout::discover(&session, dir)?;
        if layout.cache_type == TensorElementType::Float16 && !lmdeck_attention {
            return Err(GenerateError::Model {
                dir: dir.display().to_string(),
                detail: "model.onnx has a float16 KV cache, which only lmdeck's CPU graph (model.cpu.onnx) runs; convert the model again with lmdeck".into(),
            });
        }
        let attention = match (&provider, layout.shared_kv) {
            (ExecutionProvider::Cpu { .. }, true) if lmdeck_attention => {
                if layout.cache_type == TensorElementType::Float16 {
                    "lmdeck-float16-cache"
                } else {
                    "lmdeck"
                }
            }
            (_, true) => "onnxruntime",
            (_, false) => "graph",
        };
        if let ExecutionProvider::Cuda(device) = &provider {
            layout.cuda = Some(*device);
        }
        let (tx, rx) = unbounded::<Command>();
        let eos_ids = eos.clone();
        let decode_tokenizer = tokenizer.clone();
        let thread = std::thread::Builder::new()
            .name("lmdeck-decoder".into())
            .spawn(move || serve(&mut session, &layout, &decode_tokenizer, &eos_ids, rx))
            .map_err(|e| GenerateError::Inference(e.to_string()))?;
        tracing::info!(model = %manifest.name, %provider, threads, attention, "decoder started");
        let bos = if config.add_bos_token == Some(true) {
            super::manifest::TokenizerConfig::token(&config.bos_token)
                .and_then(|t| tokenizer.token_to_id(&t))
        } else {
            None
        };
        Ok(OnnxDecoder {
            bos,
            context: manifest.context_length.unwrap_or(DEFAULT_CONTEXT),
            manifest,
            template,
            tokenizer,
            eos,
            provider,
            attention,
            commands: tx,
            thread: Some(thread),
        })
    }

    pub fn provider(&self) -> &ExecutionProvider {
        &self.provider
    }

    /// Whose attention kernel runs: "lmdeck", "lmdeck-float16-cache", "onnxruntime" or "graph".
    pub fn attention(&self) -> &'static str {
        self.attention
    }

    pub fn template(&self) -> &ChatTemplate {
        &self.template
    }

    pub fn eos_ids(&self) -> &[u32] {
        &self.eos
    }

    pub fn encode(&self, text: &str) -> Result<Vec<u32>, GenerateError> {
        // Special tokens in a rendered template are real control tokens.
        let mut ids = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| GenerateError::Tokenizer(e.to_string()))?
            .get_ids()
            .to_vec();
        // Models that want a BOS get one, unless the template already wrote it.
        if let Some(bos) = self.bos {
            if ids.first() != Some(&bos) {
                ids.insert(0, bos);
            }
        }
        Ok(ids)
    }

    /// Logits for every position of `ids`: in one forward pass, or one token at a time through
    /// the KV cache (the two must agree; tests check it).
    pub fn logits(&self, ids: &[u32], step_by_step: bool) -> Result<Vec<Vec<f32>>, GenerateError> {
        let (tx, rx) = bounded(1);
        self.commands
            .send(Command::Logits {
                ids: ids.to_vec(),
                step_by_step,
                reply: tx,
            })
            .map_err(|_| GenerateError::WorkerGone)?;
        rx.recv()
            .map_err(|_| GenerateError::WorkerGone)?
            .map_err(GenerateError::Inference)
    }
}

impl Generator for OnnxDecoder {
    fn name(&self) -> &str {
        &self.manifest.name
    }

    fn backend(&self) -> String {
        self.provider.to_string()
    }

    fn context_length(&self) -> usize {
        self.context
    }

    fn count_tokens(&self, text: &str) -> Result<usize, GenerateError> {
        Ok(self.encode(text)?.len())
    }

    fn prompt_tokens(&self, messages: &[super::ChatMessage]) -> Result<usize, GenerateError> {
        Ok(self.encode(&self.template.render(messages, true)?)?.len())
    }

    fn generate(
        &self,
        request: &GenerateRequest,
        cancel: &Cancel,
        on_event: &mut dyn FnMut(GenerateEvent),
    ) -> Result<GenerateStats, GenerateError> {
        let prompt = self.encode(&self.template.render(&request.messages, true)?)?;
        if prompt.len() >= self.context {
            return Err(GenerateError::PromptTooLong {
                prompt: prompt.len(),
                context: self.context,
            });
        }
        // Prompt and answer together stay inside the context window.
        let mut request = request.clone();
        request.max_new_tokens = request.max_new_tokens.min(self.context - prompt.len());
        let (tx, rx) = unbounded();
        self.commands
            .send(Command::Generate {
                prompt,
                request,
                cancel: cancel.clone(),
                events: tx,
            })
            .map_err(|_| GenerateError::WorkerGone)?;
        for event in rx {
            match event.map_err(GenerateError::Inference)? {
                GenerateEvent::Done(stats) => {
                    on_event(GenerateEvent::Done(stats.clone()));
                    return Ok(stats);
                }
                other => on_event(other),
            }
        }
        Err(GenerateError::WorkerGone)
    }
}

fn serve(
    session: &mut Session,
    layout: &Layout,
    tokenizer: &Tokenizer,
    eos: &[u32],
    commands: Receiver<Command>,
) {
    for command in commands {
        match command {
            Command::Logits {
                ids,
                step_by_step,
                reply,
            } => {
                let result = (|| {
                    let mut cache = Cache::new(session, layout, ids.len())?;
                    if !step_by_step {
                        return cache.step(session, layout, 0, &ids, true);
                    }
                    let mut rows = Vec::with_capacity(ids.len());
                    for (i, &id) in ids.iter().enumerate() {
                        // Last row only, as generation asks: so the check also covers
                        // `logits_to_keep` against the full pass's every-position head.
                        rows.extend(cache.step(session, layout, i, &[id], false)?);
                    }
                    Ok(rows)
                })();
                let _ = reply.send(result);
            }
            Command::Generate {
                prompt,
                request,
                cancel,
                events,
            } => {
                let result = decode(
                    session, layout, tokenizer, eos, &prompt, &request, &cancel, &events,
                );
                let _ = events.send(result.map(GenerateEvent::Done));
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn decode(
    session: &mut Session,
    layout: &Layout,
    tokenizer: &Tokenizer,
    eos: &[u32],
    prompt: &[u32],
    request: &GenerateRequest,
    cancel: &Cancel,
    events: &Sender<Result<GenerateEvent, String>>,
) -> Result<GenerateStats, String> {
    let started = Instant::now();
    // Room for the prompt and every token fed back (the last one never is).
    let mut cache = Cache::new(session, layout, prompt.len() + request.max_new_tokens)?;
    let mut sampler = Sampler::new(request.sampling);
    let mut stops = StopMatcher::new(&request.stop);
    let mut history: Vec<u32> = prompt.to_vec();
    let mut generated: Vec<u32> = Vec::new();
    let mut emitted_chars = 0usize;
    let mut first_token_ms = 0.0;
    let mut feed: Vec<u32> = prompt.to_vec();
    let mut finish = FinishReason::Length;
    let mut decode_started = None;
    // Each decode step's time (the model's run alone), for the per-step figures.
    let mut step_ms: Vec<f64> = Vec::with_capacity(request.max_new_tokens);
    while generated.len() < request.max_new_tokens {
        if cancel.is_cancelled() {
            finish = FinishReason::Cancelled;
            break;
        }
        let past = history.len() - feed.len();
        let step_started = Instant::now();
        let mut rows = cache.step(session, layout, past, &feed, false)?;
        if !generated.is_empty() {
            step_ms.push(step_started.elapsed().as_secs_f64() * 1000.0);
        }
        let mut last = rows.pop().ok_or("the model returned no logits")?;
        // The penalty looks at the answer only: repeating the sources is the point of RAG.
        let token = sampler.pick(&mut last, &generated);
        if generated.is_empty() {
            first_token_ms = started.elapsed().as_secs_f64() * 1000.0;
            decode_started = Some(Instant::now());
        }
        if eos.contains(&token) {
            finish = FinishReason::Stop;
            break;
        }
        generated.push(token);
        history.push(token);
        feed = vec![token];
        // Decode the whole answer and send what is new: byte-level BPE pieces may only form
        // whole characters together.
        let text = tokenizer
            .decode(&generated, true)
            .map_err(|e| e.to_string())?;
        if text.ends_with('\u{FFFD}') {
            continue; // an incomplete UTF-8 sequence: wait for the next token
        }
        let new: String = text.chars().skip(emitted_chars).collect();
        emitted_chars = text.chars().count();
        match stops.push(&new) {
            StopScan::Emit(piece) if !piece.is_empty() => {
                let _ = events.send(Ok(GenerateEvent::Text(piece)));
            }
            StopScan::Emit(_) => {}
            StopScan::Stop(piece) => {
                if !piece.is_empty() {
                    let _ = events.send(Ok(GenerateEvent::Text(piece)));
                }
                finish = FinishReason::Stop;
                return Ok(stats(
                    prompt.len(),
                    generated.len(),
                    first_token_ms,
                    decode_started,
                    started,
                    finish,
                    &step_ms,
                ));
            }
        }
        if history.len() >= 1 << 20 {
            break;
        }
    }
    // Text decoded after the last emit (held back for an incomplete character) is not lost.
    let text = tokenizer
        .decode(&generated, true)
        .map_err(|e| e.to_string())?;
    let tail: String = text.chars().skip(emitted_chars).collect();
    let tail = tail.trim_end_matches('\u{FFFD}');
    if !tail.is_empty() {
        let (StopScan::Emit(piece) | StopScan::Stop(piece)) = stops.push(tail);
        if !piece.is_empty() {
            let _ = events.send(Ok(GenerateEvent::Text(piece)));
        }
    }
    let rest = stops.flush();
    if !rest.is_empty() {
        let _ = events.send(Ok(GenerateEvent::Text(rest)));
    }
    Ok(stats(
        prompt.len(),
        generated.len(),
        first_token_ms,
        decode_started,
        started,
        finish,
        &step_ms,
    ))
}

fn stats(
    prompt: usize,
    completion: usize,
    ttft: f64,
    decode_started: Option<Instant>,
    started: Instant,
    finish: FinishReason,
    step_ms: &[f64],
) -> GenerateStats {
    let decode_s = decode_started.map_or(0.0, |t| t.elapsed().as_secs_f64());
    GenerateStats {
        prompt_tokens: prompt,
        completion_tokens: completion,
        time_to_first_token_ms: ttft,
        // Tokens after the first, over the time after the first.
        decode_tokens_per_s: if completion > 1 && decode_s > 0.0 {
            (completion - 1) as f64 / decode_s
        } else {
            0.0
        },
        total_ms: started.elapsed().as_secs_f64() * 1000.0,
        finish,
        step_ms: StepTimes::from_steps(step_ms),
    }
}
