//! Renderers: each output format writes a finished `Report` to any writer; none verifies.
//!
//! The engine decides every status; a renderer only chooses words, order and escaping, so
//! two formats can never disagree about a file.

pub mod sanitize;
