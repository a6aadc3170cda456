//! lmdeck: an operations console for hybrid LLM stacks (RAG + fine-tuned models).
//!
//! The library holds every service; `main.rs` and the front ends (CLI and console) only wire
//! them together. Core modules never import a terminal UI crate.

pub mod args;
pub mod bench;
pub mod cli;
pub mod config;
pub mod curate;
pub mod dataset;
pub mod embed;
pub mod eval;
pub mod generate;
pub mod ingest;
pub mod jobs;
pub mod onnx;
pub mod paths;
pub mod rag;
pub mod retrieve;
pub mod serve;
pub mod services;
pub mod setup;
pub mod store;
pub mod tui;
pub mod util;
