//! Application services shared by every front end (CLI, console, server, benchmarks): the
//! resolved configuration with the store, runtime and model constructors (`Context`), and the
//! chat-model registry. Front ends depend on this and on the core; never on each other.

pub mod context;
pub mod error;
pub mod eval_inputs;
pub mod models;

pub use context::{Context, Overrides};
pub use error::ServiceError;
