//! The simulator's one error type: each variant names the file or option at fault and what
//! to do about it. Underlying causes are kept as `source`, so a caller printing the cause
//! chain shows them once.

use std::io;
use std::path::PathBuf;

/// Why a simulation could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A `--key` file could not be read.
    #[error("cannot read signing key {path}: give a readable PKCS#8 PEM file with --key")]
    ReadKey {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A key was read but is not an RSA PKCS#8 private key ring accepts.
    #[error("signing key {name} is not usable: {why}")]
    BadKey { name: String, why: String },
    /// ring refused to sign (only possible with a key it should not have accepted).
    #[error("signing with key {name} failed: use an RSA key of 2048 to 8192 bits")]
    Sign { name: String },
    /// The options do not describe a trail that can be built.
    #[error("invalid simulation: {0}")]
    InvalidSpec(String),
    /// A `--tamper` cannot be applied to the trail as specified.
    #[error("cannot apply --tamper {tamper}: {why}")]
    Tamper { tamper: String, why: String },
    /// The output folder holds files already.
    #[error(
        "{} is not empty: give a new or empty folder, so the trail is not mixed with other files",
        path.display()
    )]
    OutNotEmpty { path: PathBuf },
    /// Writing a file or folder failed.
    #[error("cannot write {}: check the folder exists and is writable", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Compressing a file in memory failed (a bug, not bad input).
    #[error("cannot gzip {key}")]
    Compress {
        key: String,
        #[source]
        source: io::Error,
    },
    /// One of the simulator's own documents could not be encoded (a bug, not bad input).
    #[error("cannot encode {what} as JSON")]
    Encode {
        what: String,
        #[source]
        source: serde_json::Error,
    },
}

impl SimError {
    pub fn spec(why: impl Into<String>) -> Self {
        SimError::InvalidSpec(why.into())
    }

    pub fn write(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| SimError::Write { path, source }
    }

    pub(crate) fn encode(what: &str) -> impl FnOnce(serde_json::Error) -> Self {
        let what = what.to_owned();
        move |source| SimError::Encode { what, source }
    }
}
