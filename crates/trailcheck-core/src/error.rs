//! Errors that stop a run: [`ConfigError`] before any file is judged (bad options, unreadable
//! key files, a source that is not there), [`RunError`] during it (the store cannot be listed,
//! no worker threads). Both map to exit code 2. Problems with individual files are never
//! errors: they are verdicts (see `verdict`).

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{path}: cannot read the archive folder: {why}. Check the path.")]
    SourceUnreadable { path: PathBuf, why: String },

    #[error(
        "{path}: no CloudTrail digest files found. Point trailcheck at the folder that holds \
             AWSLogs/ (or one folder per bucket), as `aws s3 sync s3://BUCKET DIR` leaves it."
    )]
    NoDigests { path: PathBuf },

    #[error(
        "key file {path}: {why}. Fix or remove the file, or fetch the keys again with \
             `aws cloudtrail list-public-keys`."
    )]
    KeyFile { path: PathBuf, why: String },

    #[error(
        "keys folder {path}: {why}. Pass --keys DIR: a folder of the JSON files \
             `aws cloudtrail list-public-keys` prints."
    )]
    KeyFolder { path: PathBuf, why: String },

    #[error("{option}: {why}")]
    Option { option: &'static str, why: String },

    #[error("AWS: {why}")]
    Aws { why: String },
}

/// A run that was set up and could not be carried through. Nothing is judged after one: a run
/// that cannot list its source would miss whatever was inserted there.
#[derive(Debug, Error)]
pub enum RunError {
    #[error("{source_name}: cannot list {what}: {why}")]
    Listing {
        source_name: String,
        what: String,
        why: String,
    },

    #[error("cannot start {threads} worker threads: {why}. Ask for fewer jobs.")]
    WorkerPool { threads: usize, why: String },

    #[error(
        "cannot write the results: {why}. Check that the output's disk has room and is writable."
    )]
    Output { why: String },

    /// Set-up that could only be done once the run had begun (keys asked for online).
    #[error(transparent)]
    Config(#[from] ConfigError),
}
