//! The KV cache of lmdeck's fused decoder graph (scripts/convert/gguf_to_onnx.py, `--graph
//! fused`): one buffer per cache tensor, of a fixed capacity, bound through ONNX Runtime's
//! I/O binding as both the `past_key_values.N.*` input and the `present.N.*` output, so
//! GroupQueryAttention writes each new key and value in place. Nothing is copied between
//! steps and no per-step allocation grows with the context: a step's inputs are the new
//! token ids and two lengths. The buffers are float32, or float16 where lmdeck's CPU graph
//! says so (its operator reads and writes them; nothing else does). Under CUDA the buffers
//! are allocated on the device, so the cache stays there between steps (not yet run on a
//! GPU: no GPU was lent when this was written).

use ort::memory::{AllocationDevice, Allocator, AllocatorType, MemoryInfo, MemoryType};
use ort::session::IoBinding;
use ort::session::Session;
use ort::value::{DynTensor, Tensor, TensorElementType};

/// The fixed-capacity cache and the binding that ties it to the session. Fields drop in
/// order: the binding before the buffers, the buffers before their allocator.
pub struct SharedCache {
    binding: IoBinding,
    /// Kept alive for the binding; never read from Rust (rows past the context are
    /// uninitialised, and GroupQueryAttention reads only the first `past + s`).
    _buffers: Vec<DynTensor>,
    /// The CUDA allocator when the cache lives on a GPU (so it never crosses to the host).
    _device_allocator: Option<Allocator>,
    capacity: usize,
}

impl SharedCache {
    /// Buffers of `element` (float32, or float16 for lmdeck's CPU graph) for `capacity`
    /// positions, bound to every cache input and output of `cache` ((input name, output name)
    /// pairs); in the memory of CUDA device `cuda` when given.
    pub fn new(
        session: &Session,
        cache: &[(String, String)],
        element: TensorElementType,
        kv_heads: usize,
        head_dim: usize,
        capacity: usize,
        cuda: Option<u32>,
    ) -> Result<SharedCache, String> {
        let text = |e: ort::Error| e.to_string();
        // lmdeck's attention keeps keys in tiles of 16 positions.
        let capacity = capacity.max(1).div_ceil(super::attention::kernel::TILE)
            * super::attention::kernel::TILE;
        let device_allocator = match cuda {
            Some(device) => Some(
                Allocator::new(
                    session,
                    MemoryInfo::new(
                        AllocationDevice::CUDA,
                        device as i32,
                        AllocatorType::Device,
                        MemoryType::Default,
                    )
                    .map_err(text)?,
                )
                .map_err(text)?,
            ),
            None => None,
        };
        let allocator = device_allocator.as_ref().unwrap_or(session.allocator());
        let mut binding = session.create_binding().map_err(text)?;
        let mut buffers = Vec::with_capacity(cache.len());
        for (input, output) in cache {
            let shape = [1usize, kv_heads, capacity, head_dim];
            let mut buffer = match element {
                TensorElementType::Float16 => Tensor::<half::f16>::new(allocator, shape)
                    .map_err(text)?
                    .upcast(),
                TensorElementType::Float32 => {
                    Tensor::<f32>::new(allocator, shape).map_err(text)?.upcast()
                }
                other => return Err(format!("a KV cache of {other:?} is not supported")),
            };
            binding.bind_input(input.as_str(), &buffer).map_err(text)?;
            binding
                .bind_output(output.as_str(), &mut buffer)
                .map_err(text)?;
            buffers.push(buffer);
        }
        binding
            .bind_output_to_device("logits", session.allocator().memory_info())
            .map_err(text)?;
        Ok(SharedCache {
            binding,
            _buffers: buffers,
            _device_allocator: device_allocator,
            capacity,
        })
    }

    /// Feeds `ids` after `past` cached tokens; returns the logits of the last position, or of
    /// every new position with `all_rows`.
    pub fn step(
        &mut self,
        session: &mut Session,
        past: usize,
        ids: &[u32],
        all_rows: bool,
    ) -> Result<Vec<Vec<f32>>, String> {
        let total = past + ids.len();
        if total > self.capacity {
            return Err(format!(
                "the KV cache holds {} positions; this step needs {total}",
                self.capacity
            ));
        }
        let text = |e: ort::Error| e.to_string();
        let input_ids: Vec<i64> = ids.iter().map(|&t| t as i64).collect();
        let input_ids = Tensor::from_array(([1usize, ids.len()], input_ids)).map_err(text)?;
        // GroupQueryAttention's lengths: the index of the last valid position, and the total.
        let seqlens_k = Tensor::from_array(([1usize], vec![total as i32 - 1])).map_err(text)?;
        let total_len =
            Tensor::from_array((Vec::<usize>::new(), vec![total as i32])).map_err(text)?;
        let keep =
            Tensor::from_array(([1usize], vec![if all_rows { 0i64 } else { 1 }])).map_err(text)?;
        self.binding
            .bind_input("input_ids", &input_ids)
            .map_err(text)?;
        self.binding
            .bind_input("seqlens_k", &seqlens_k)
            .map_err(text)?;
        self.binding
            .bind_input("total_sequence_length", &total_len)
            .map_err(text)?;
        self.binding
            .bind_input("logits_to_keep", &keep)
            .map_err(text)?;
        let outputs = session.run_binding(&self.binding).map_err(text)?;
        super::onnx::logit_rows(&outputs["logits"], all_rows)
    }
}
