//! One ONNX Runtime environment per process, and sessions built on the requested device.

use std::path::PathBuf;
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::ep::ExecutionProvider as _;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;

use super::{Device, ExecutionProvider, LibraryChoice, OnnxError};

/// A library can be loaded only once per process; remember which one and its environment.
static LOADED: OnceLock<Result<(Environment, PathBuf), String>> = OnceLock::new();

#[derive(Clone)]
pub struct Runtime {
    env: Environment,
    pub library: LibraryChoice,
    pub version: String,
    pub device: Device,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("library", &self.library)
            .field("version", &self.version)
            .field("device", &self.device)
            .finish()
    }
}

/// What one session needs: the model file and how many intra-op threads it may use.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    pub model: PathBuf,
    pub intra_threads: usize,
    /// Whether idle intra-op threads spin (ONNX Runtime's default). A session that shares
    /// the cores with other work (the search query's, beside the keyword stage) turns it off:
    /// a spinning thread takes the core the other work needs.
    pub spin: bool,
    /// A graph to load instead of `model` when the session runs on the CPU, with the custom
    /// operators it needs (the decoder's CPU graph uses lmdeck's own attention).
    pub cpu_graph: Option<CpuGraph>,
}

/// A CPU-only graph and the operator domain that registers its custom operators.
#[derive(Debug, Clone)]
pub struct CpuGraph {
    pub model: PathBuf,
    pub operators: fn() -> ort::Result<ort::operator::OperatorDomain>,
}

impl Runtime {
    pub fn load(library: LibraryChoice, device: Device) -> Result<Runtime, OnnxError> {
        let loaded = LOADED.get_or_init(|| {
            let env = ort::init_from(&library.path)
                .map_err(|e| e.to_string())?
                .with_name("lmdeck")
                .build()
                .map_err(|e| e.to_string())?;
            Ok((env, library.path.clone()))
        });
        let (env, path) = loaded.as_ref().map_err(|detail| OnnxError::Load {
            path: library.path.display().to_string(),
            detail: detail.clone(),
        })?;
        let library = LibraryChoice {
            path: path.clone(),
            source: library.source,
        };
        Ok(Runtime {
            env: env.clone(),
            version: library_version(path),
            library,
            device,
        })
    }

    /// Execution providers compiled into the loaded library, as ONNX Runtime names them.
    pub fn available_providers(&self) -> Vec<&'static str> {
        let mut out = vec!["CPUExecutionProvider"];
        if ort::ep::CUDA::is_available().unwrap_or(false) {
            out.push("CUDAExecutionProvider");
        }
        out
    }

    /// Builds a session on the requested device. An explicit CUDA request that cannot be met
    /// is an error; `auto` falls back to CPU and says why in the returned provider.
    pub fn session(&self, spec: &SessionSpec) -> Result<(Session, ExecutionProvider), OnnxError> {
        let cuda_compiled = ort::ep::CUDA::is_available().unwrap_or(false);
        match self.device {
            Device::Cpu => Ok((
                self.cpu_session(spec)?,
                ExecutionProvider::Cpu { note: None },
            )),
            Device::Cuda(n) => {
                if !cuda_compiled {
                    return Err(OnnxError::CudaUnavailable {
                        device: self.device.to_string(),
                        reason: format!(
                            "the loaded ONNX Runtime ({}) has no CUDA execution provider",
                            self.library.path.display()
                        ),
                    });
                }
                self.cuda_session(spec, n)
                    .map(|s| (s, ExecutionProvider::Cuda(n)))
                    .map_err(|reason| OnnxError::CudaUnavailable {
                        device: self.device.to_string(),
                        reason,
                    })
            }
            Device::Auto if cuda_compiled => match self.cuda_session(spec, 0) {
                Ok(session) => Ok((session, ExecutionProvider::Cuda(0))),
                Err(reason) => {
                    tracing::warn!("CUDA unavailable, using CPU: {reason}");
                    Ok((
                        self.cpu_session(spec)?,
                        ExecutionProvider::Cpu {
                            note: Some(format!("auto: CUDA failed: {reason}")),
                        },
                    ))
                }
            },
            Device::Auto => Ok((
                self.cpu_session(spec)?,
                ExecutionProvider::Cpu {
                    note: Some("auto: no CUDA provider in this ONNX Runtime".into()),
                },
            )),
        }
    }

    fn cpu_session(&self, spec: &SessionSpec) -> Result<Session, OnnxError> {
        let cpu = || ort::ep::CPU::default().with_arena_allocator(true).build();
        let error = |model: &std::path::Path, detail| OnnxError::Session {
            model: model.display().to_string(),
            detail,
        };
        match &spec.cpu_graph {
            Some(graph) => {
                let operators =
                    (graph.operators)().map_err(|e| error(&graph.model, e.to_string()))?;
                self.build(&graph.model, spec, vec![cpu()], Some(operators))
                    .map_err(|detail| error(&graph.model, detail))
            }
            None => self
                .build(&spec.model, spec, vec![cpu()], None)
                .map_err(|detail| error(&spec.model, detail)),
        }
    }

    fn cuda_session(&self, spec: &SessionSpec, device: u32) -> Result<Session, String> {
        let cuda = ort::ep::CUDA::default()
            .with_device_id(device as i32)
            .build()
            .error_on_failure();
        self.build(&spec.model, spec, vec![cuda], None)
    }

    fn build(
        &self,
        model: &std::path::Path,
        spec: &SessionSpec,
        providers: Vec<ort::ep::ExecutionProviderDispatch>,
        operators: Option<ort::operator::OperatorDomain>,
    ) -> Result<Session, String> {
        let text = |e: ort::Error<_>| e.to_string();
        let mut builder = Session::builder(&self.env).map_err(|e| e.to_string())?;
        if let Some(domain) = operators {
            builder = builder.with_operators(domain).map_err(text)?;
        }
        builder
            .with_no_environment_execution_providers()
            .map_err(text)?
            .with_execution_providers(providers)
            .map_err(text)?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(text)?
            .with_intra_threads(spec.intra_threads.max(1))
            .map_err(text)?
            .with_intra_op_spinning(spec.spin)
            .map_err(text)?
            .with_inter_threads(1)
            .map_err(text)?
            .commit_from_file(model)
            .map_err(|e| e.to_string())
    }
}

/// The loaded library's own version string (`OrtGetApiBase()->GetVersionString()`); the
/// build-info string does not always carry it.
fn library_version(path: &std::path::Path) -> String {
    // SAFETY: the library is already loaded by ort (dlopen returns the same handle);
    // OrtGetApiBase and GetVersionString are plain C functions of the stable ABI that return
    // pointers owned by the library, which stays loaded for the process's lifetime.
    let version = unsafe {
        libloading::Library::new(path).ok().and_then(|lib| {
            let get_base: libloading::Symbol<
                unsafe extern "C" fn() -> *const ort::sys::OrtApiBase,
            > = lib.get(b"OrtGetApiBase").ok()?;
            let base = get_base();
            if base.is_null() {
                return None;
            }
            let text = ((*base).GetVersionString)();
            if text.is_null() {
                return None;
            }
            let version = std::ffi::CStr::from_ptr(text)
                .to_string_lossy()
                .into_owned();
            std::mem::forget(lib); // keep the library mapped; ort holds it anyway
            Some(version)
        })
    };
    version.unwrap_or_else(|| "unknown".into())
}
