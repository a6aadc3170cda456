//! ONNX Runtime: finding the library, loading it once per process, choosing the execution
//! provider, and building sessions on it.

pub mod device;
pub mod discover;
pub mod runtime;

pub use device::{Device, ExecutionProvider};
pub use discover::{LibraryChoice, LibrarySource};
pub use runtime::{CpuGraph, Runtime, SessionSpec};

#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error("no ONNX Runtime library found (looked at: {looked}); run `lmdeck setup`, or point --ort-dylib / ORT_DYLIB_PATH at libonnxruntime.so")]
    NotFound { looked: String },
    #[error("{path} (from {origin}) does not exist; fix the path or run `lmdeck setup`")]
    Missing { path: String, origin: String },
    #[error("cannot load ONNX Runtime from {path}: {detail}")]
    Load { path: String, detail: String },
    #[error("invalid device `{0}`: use auto, cpu, cuda or cuda:N")]
    BadDevice(String),
    #[error("CUDA was requested ({device}) but {reason}; use --device cpu or auto, or install onnxruntime-gpu and point --ort-dylib at its libonnxruntime.so")]
    CudaUnavailable { device: String, reason: String },
    #[error("cannot create an ONNX session for {model}: {detail}")]
    Session { model: String, detail: String },
}
