//! `lmdeck.CachedAttention`: an ONNX Runtime custom operator that takes the place of
//! `com.microsoft.GroupQueryAttention` in the CPU graph the converter writes beside the
//! portable one (`model.cpu.onnx`). Same inputs and outputs (packed QKV, the cache buffers
//! bound as both past and present, the two lengths, the rotary tables); what differs is the
//! arithmetic of a decode step at long contexts: each cached key and value is read once for
//! all the query heads that share it, keys sit in 16-position tiles so scores need no
//! horizontal sums, and the new row is written in place. ONNX Runtime's CPU kernel reads the
//! cache once per query head; at 1,500 positions that was about 9 ms of a 16 ms step.
//! `lmdeck.CachedAttentionF16` is the same over a float16 cache (the converter writes it for
//! int8 activations, as llama.cpp keeps its cache): half the bytes per decode step.
//! The arithmetic is in [`kernel`]; this file unpacks the tensors.

pub mod element;
pub mod kernel;

use std::marker::PhantomData;

use half::f16;
use ort::operator::{
    ComputeContext, Kernel, KernelContext, Operator, OperatorDomain, OperatorInput, OperatorOutput,
};
use ort::value::TensorElementType;

use element::CacheElement;
use kernel::{Dims, Isa, Unit};

/// The CPU graph the converter writes beside `model.onnx` (same weights file).
pub const CPU_GRAPH_FILE: &str = "model.cpu.onnx";

/// Which attention a local decoder on the CPU runs (`generate.attention`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AttentionChoice {
    /// lmdeck's operator, when the model folder has the CPU graph.
    #[default]
    Lmdeck,
    /// ONNX Runtime's GroupQueryAttention (`model.onnx`).
    OnnxRuntime,
}

impl AttentionChoice {
    pub const NAMES: [&'static str; 2] = ["lmdeck", "onnxruntime"];

    pub fn parse(name: &str) -> Option<AttentionChoice> {
        match name {
            "lmdeck" => Some(AttentionChoice::Lmdeck),
            "onnxruntime" => Some(AttentionChoice::OnnxRuntime),
            _ => None,
        }
    }
}

/// The custom domain the CPU graph's attention nodes use.
pub const DOMAIN: &str = "lmdeck";

/// The domain to register on a session that loads a graph with these nodes: the operator
/// over a float32 cache (`CachedAttention`) and over a float16 one (`CachedAttentionF16`).
pub fn domain() -> ort::Result<OperatorDomain> {
    OperatorDomain::new(DOMAIN)?
        .add(CachedAttention::<f32>(PhantomData))?
        .add(CachedAttention::<f16>(PhantomData))
}

/// The operator over a cache of `E`.
pub struct CachedAttention<E>(PhantomData<E>);

impl<E: CacheElement> Operator for CachedAttention<E> {
    type Kernel<'attr> = AttentionKernel<E>;

    fn name(&self) -> &str {
        E::OPERATOR
    }

    fn inputs(&self) -> impl IntoIterator<Item = OperatorInput> {
        use TensorElementType::{Float32, Int32};
        [
            OperatorInput::required(Float32), // packed query, key, value [1, s, (h + 2 kv) d]
            OperatorInput::required(E::TENSOR_TYPE), // past key [1, kv, capacity, d]
            OperatorInput::required(E::TENSOR_TYPE), // past value
            OperatorInput::required(Int32),   // seqlens_k [1]: past + s - 1
            OperatorInput::required(Int32),   // total_sequence_length []: past + s
            OperatorInput::required(Float32), // cos cache [positions, d / 2]
            OperatorInput::required(Float32), // sin cache
        ]
    }

    fn outputs(&self) -> impl IntoIterator<Item = OperatorOutput> {
        use TensorElementType::Float32;
        [
            OperatorOutput::required(Float32),        // attention [1, s, h d]
            OperatorOutput::required(E::TENSOR_TYPE), // present key: the past key's buffer
            OperatorOutput::required(E::TENSOR_TYPE), // present value
        ]
    }

    fn create_kernel<'attr>(&self, info: &KernelContext<'attr>) -> ort::Result<AttentionKernel<E>> {
        let attribute = |name: &str| {
            info.get::<i64>(name)
                .filter(|v| *v > 0)
                .map(|v| v as usize)
                .ok_or_else(|| {
                    ort::Error::new(format!(
                        "{}: attribute {name} is missing or not positive",
                        E::OPERATOR
                    ))
                })
        };
        Ok(AttentionKernel {
            heads: attribute("num_heads")?,
            kv_heads: attribute("kv_num_heads")?,
            isa: Isa::detect(),
            cache: PhantomData,
        })
    }
}

pub struct AttentionKernel<E> {
    heads: usize,
    kv_heads: usize,
    isa: Isa,
    cache: PhantomData<E>,
}

/// Scratch of one step, shared by the layers' kernels on the calling thread (the layers run
/// one after the other): a decode step allocates nothing that grows with the context, and 30
/// layers do not each keep a prompt-sized buffer.
#[derive(Default)]
struct Scratch {
    /// The step's rotated, scaled queries.
    queries: Vec<f32>,
    /// Scores of a short decode step, computed on this thread.
    scores: Vec<f32>,
    /// A split decode step's parts: per (KV head, half) the heads' max, sum and values.
    parts: Vec<f32>,
}

/// Context length from which a decode step is split across threads by position.
const SPLIT_DECODE_FROM: usize = 256;

thread_local! {
    static STEP_SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
    /// Score scratch of the units one of ONNX Runtime's threads runs (reused, not allocated
    /// per unit).
    static UNIT_SCORES: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn fail(detail: impl std::fmt::Display) -> ort::Error {
    ort::Error::new(format!("lmdeck attention: {detail}"))
}

/// Raw views shared with ONNX Runtime's worker threads; every unit writes its own rows of
/// the output and only reads the cache.
struct Shared<E> {
    queries: *const f32,
    queries_len: usize,
    keys: *const E,
    values: *const E,
    cache_len: usize,
    out: *mut f32,
    out_len: usize,
}
// SAFETY: the pointers outlive the parallel loop (they borrow tensors of the running kernel)
// and the units write disjoint parts of `out`.
unsafe impl<E: Sync> Sync for Shared<E> {}
unsafe impl<E: Send> Send for Shared<E> {}

impl<E: CacheElement> Kernel for AttentionKernel<E> {
    fn compute(&mut self, ctx: &ComputeContext) -> ort::Result<()> {
        STEP_SCRATCH.with_borrow_mut(|scratch| self.run(ctx, scratch))
    }
}

impl<E: CacheElement> AttentionKernel<E> {
    fn run(&self, ctx: &ComputeContext, scratch: &mut Scratch) -> ort::Result<()> {
        let input = |i: usize| {
            ctx.input(i)?
                .ok_or_else(|| fail(format!("input {i} is missing")))
        };
        let (qkv, past_key, past_value) = (input(0)?, input(1)?, input(2)?);
        let (seqlens, total, cos_in, sin_in) = (input(3)?, input(4)?, input(5)?, input(6)?);
        let (qkv_shape, packed) = qkv.try_extract_tensor::<f32>()?;
        let cache_shape: Vec<i64> = past_key.try_extract_tensor::<E>()?.0.to_vec();
        let value_shape: Vec<i64> = past_value.try_extract_tensor::<E>()?.0.to_vec();
        if value_shape != cache_shape {
            return Err(fail(format!(
                "past key {cache_shape:?} and past value {value_shape:?} differ in shape"
            )));
        }
        let total = *total
            .try_extract_tensor::<i32>()?
            .1
            .first()
            .ok_or_else(|| fail("total_sequence_length is empty"))?;
        let last = seqlens.try_extract_tensor::<i32>()?.1.first().copied();
        let (cos_shape, cos) = cos_in.try_extract_tensor::<f32>()?;
        let (sin_shape, sin) = sin_in.try_extract_tensor::<f32>()?;
        let [batch, s, width] = qkv_shape[..] else {
            return Err(fail(format!(
                "packed input has shape {qkv_shape:?}, want [1, s, width]"
            )));
        };
        let [1, kv, capacity, d] = cache_shape[..] else {
            return Err(fail(format!(
                "cache has shape {cache_shape:?}, want [1, kv, capacity, d]"
            )));
        };
        let dims = Dims {
            heads: self.heads,
            kv_heads: kv as usize,
            head_dim: d as usize,
            capacity: capacity as usize,
        };
        dims.check().map_err(fail)?;
        let (s, total) = (s as usize, total.max(0) as usize);
        if batch != 1 || kv as usize != self.kv_heads || width as usize != dims.packed_width() {
            return Err(fail(format!(
                "packed input {qkv_shape:?} does not fit {} heads and {} KV heads of {d} in a batch of 1",
                self.heads, self.kv_heads
            )));
        }
        if total < s || total > dims.capacity {
            return Err(fail(format!(
                "{total} positions with {s} new do not fit a cache of {}",
                dims.capacity
            )));
        }
        if last != Some(total as i32 - 1) {
            return Err(fail(format!(
                "seqlens_k {last:?} is not total_sequence_length - 1 ({total} - 1)"
            )));
        }
        if cos_shape.len() != 2
            || sin_shape[..] != cos_shape[..]
            || cos_shape[1] as usize * 2 != dims.head_dim
        {
            return Err(fail(format!(
                "rotary tables of shapes {cos_shape:?} and {sin_shape:?}, want both [positions, {}]",
                dims.head_dim / 2
            )));
        }
        if (cos_shape[0] as usize) < total {
            return Err(fail(format!(
                "rotary tables of {} positions do not cover {total}",
                cos_shape[0]
            )));
        }
        let past = total - s;
        let cache_len = dims.kv_heads * dims.head_block();
        let past_key_ptr = past_key.try_extract_tensor::<E>()?.1.as_ptr();
        let past_value_ptr = past_value.try_extract_tensor::<E>()?.1.as_ptr();

        let mut out = ctx
            .output(0, vec![1, s as i64, (dims.heads * dims.head_dim) as i64])?
            .ok_or_else(|| fail("output 0 is missing"))?;
        let mut present_key = ctx
            .output(1, cache_shape.clone())?
            .ok_or_else(|| fail("present key is missing"))?;
        let mut present_value = ctx
            .output(2, cache_shape.clone())?
            .ok_or_else(|| fail("present value is missing"))?;
        let keys = present_key.try_extract_tensor_mut::<E>()?.1;
        let values = present_value.try_extract_tensor_mut::<E>()?.1;
        if keys.len() != cache_len || values.len() != cache_len {
            return Err(fail("present buffers differ from the past ones in size"));
        }
        // lmdeck binds one buffer as both past and present; anyone else gets a copy first.
        if keys.as_ptr() != past_key_ptr {
            let past = past_key.try_extract_tensor::<E>()?.1;
            keys.copy_from_slice(past);
        }
        if values.as_ptr() != past_value_ptr {
            let past = past_value.try_extract_tensor::<E>()?.1;
            values.copy_from_slice(past);
        }

        let query_len = s * dims.heads * dims.head_dim;
        if scratch.queries.len() < query_len {
            scratch.queries.resize(query_len, 0.0);
        }
        let queries = &mut scratch.queries[..query_len];
        kernel::append(&dims, packed, past, cos, sin, keys, values, queries);

        let out = out.try_extract_tensor_mut::<f32>()?.1;
        let isa = self.isa;
        if s == 1 && total < SPLIT_DECODE_FROM {
            // A short decode step costs less on one thread than handing it out.
            let mut emit = |at: usize, v: &[f32]| out[at..at + v.len()].copy_from_slice(v);
            for unit in kernel::units(&dims, s) {
                kernel::attend(
                    isa,
                    &dims,
                    unit,
                    past,
                    queries,
                    keys,
                    values,
                    &mut scratch.scores,
                    &mut emit,
                );
            }
            return Ok(());
        }
        let shared = Shared {
            queries: queries.as_ptr(),
            queries_len: query_len,
            keys: keys.as_ptr(),
            values: values.as_ptr(),
            cache_len,
            out: out.as_mut_ptr(),
            out_len: out.len(),
        };
        // SAFETY (both closures): see `Shared`; the slices span tensors borrowed above, which
        // stay alive and unmoved until `par_for` returns.
        let views = |shared: &Shared<E>| unsafe {
            (
                std::slice::from_raw_parts(shared.queries, shared.queries_len),
                std::slice::from_raw_parts(shared.keys, shared.cache_len),
                std::slice::from_raw_parts(shared.values, shared.cache_len),
            )
        };
        if s == 1 {
            // A long decode step: each KV head's positions in two halves (tile-aligned), so
            // both threads read half the cache; the halves' softmax parts are merged after.
            let (d, g) = (dims.head_dim, dims.group());
            let middle = (total / 2 / kernel::TILE * kernel::TILE).max(kernel::TILE);
            let bounds = [(0, middle), (middle, total)];
            let part_len = g * (d + 2);
            let units = dims.kv_heads * bounds.len();
            scratch.parts.resize(units * part_len, 0.0);
            let parts_ptr = PartsPtr(scratch.parts.as_mut_ptr());
            let run = |i: usize| {
                let (queries, keys, values) = views(&shared);
                let (kv, (start, end)) = (i / bounds.len(), bounds[i % bounds.len()]);
                // SAFETY: unit i owns part i of `scratch.parts` (sized above, not touched by
                // anything else until par_for returns).
                let part = unsafe {
                    std::slice::from_raw_parts_mut(parts_ptr.get().add(i * part_len), part_len)
                };
                let (max, rest) = part.split_at_mut(g);
                let (sum, acc) = rest.split_at_mut(g);
                UNIT_SCORES.with_borrow_mut(|scores| {
                    kernel::decode_part(
                        isa, &dims, kv, start, end, queries, keys, values, scores, max, sum, acc,
                    )
                });
            };
            ctx.par_for(units, units, run)?;
            for kv in 0..dims.kv_heads {
                for h in 0..g {
                    let each = (0..bounds.len()).map(|b| {
                        let part = &scratch.parts[(kv * bounds.len() + b) * part_len..][..part_len];
                        (part[h], part[g + h], &part[2 * g + h * d..][..d])
                    });
                    kernel::merge_parts(each, &mut out[(kv * g + h) * d..][..d]);
                }
            }
            return Ok(());
        }
        let units = kernel::units(&dims, s);
        let run = |i: usize| {
            let unit: Unit = units[i];
            let shared = &shared;
            let (queries, keys, values) = views(shared);
            // The units cover the output exactly; the check only keeps a mistake from
            // writing past it.
            let mut emit = |at: usize, v: &[f32]| {
                if at + v.len() <= shared.out_len {
                    // SAFETY: in bounds (checked); each unit owns its rows' heads of `out`.
                    unsafe {
                        std::ptr::copy_nonoverlapping(v.as_ptr(), shared.out.add(at), v.len())
                    };
                }
            };
            UNIT_SCORES.with_borrow_mut(|scores| {
                kernel::attend(
                    isa, &dims, unit, past, queries, keys, values, scores, &mut emit,
                )
            });
        };
        ctx.par_for(units.len(), units.len(), run)
    }
}

/// Where the decode parts go, shared with ONNX Runtime's threads (disjoint slots per unit).
#[derive(Clone, Copy)]
struct PartsPtr(*mut f32);
// SAFETY: each unit writes only its own slot, and the vector outlives the parallel loop.
unsafe impl Send for PartsPtr {}
unsafe impl Sync for PartsPtr {}
impl PartsPtr {
    fn get(self) -> *mut f32 {
        self.0
    }
}
