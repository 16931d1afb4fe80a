//! Number and size formatting for people: the engine's, so the CLI and the reports agree.

pub use mailproof_engine::units::{plural, size, thousands as count};
