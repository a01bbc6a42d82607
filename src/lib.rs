//! trailcheck: proves whether AWS CloudTrail log files and digest files were tampered with.
//!
//! Layers, from the bottom: `objectkey`, `hash`, `time` (pure helpers); `store` (fetching);
//! `engine` (walking digest chains and judging files); `report` (rendering a `verdict::Report`);
//! `cli` and `config` (the command line).

pub mod archive;
pub mod aws;
pub mod cli;
pub mod cloudtrail;
pub mod config;
pub mod der;
pub mod digest;
pub mod engine;
pub mod error;
pub mod exit;
pub mod gzip;
pub mod hash;
pub mod keys;
pub mod objectkey;
pub mod progress;
pub mod report;
pub mod signature;
pub mod simulate;
pub mod store;
pub mod time;
pub mod verdict;
