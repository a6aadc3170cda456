//! The interactive console's building blocks. Nothing in the core modules imports this.

pub mod theme;
