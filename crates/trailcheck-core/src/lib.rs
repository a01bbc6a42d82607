//! trailcheck-core: proves whether AWS CloudTrail log files and digest files were tampered
//! with, from bytes a [`store::Store`] hands it and keys a [`keys::KeyRing`] holds.
//!
//! No AWS SDK, no async runtime, no command line: another program can embed the validator
//! with a store of its own. Layers, from the bottom:
//! - parsers of untrusted bytes: [`objectkey`] (S3 keys), [`gzip`], [`digest`] (digest JSON),
//!   [`der`] and [`keys`] (public keys), [`signature`] (SHA256withRSA over the signing string);
//! - [`hash`] and [`time`], small value types;
//! - [`store`]: the one trait every source sits behind, with the local-folder and in-memory
//!   stores;
//! - [`engine`]: walks every digest chain and judges every file into a [`verdict::Report`],
//!   the one verdict type renderers read.
//!
//! Errors that stop a run are [`error::ConfigError`]; problems with single files are never
//! errors, they are verdicts.

#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod der;
pub mod digest;
pub mod engine;
pub mod error;
pub mod gzip;
pub mod hash;
pub mod keys;
pub mod lake;
pub mod merge;
pub mod objectkey;
pub mod periods;
pub mod signature;
pub mod store;
pub mod time;
pub mod verdict;
pub mod window;
