//! Renderers (being written).
