//! Local folder store (being written).
