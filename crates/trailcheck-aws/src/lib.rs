//! trailcheck's AWS side: the S3 store, CloudTrail's public keys online, and the one AWS
//! session (credentials chain, retries, a tokio runtime) both share.
//!
//! Everything that links the AWS SDK or tokio lives here, so the verification core
//! (`trailcheck-core`) and whatever embeds it build without them.

pub mod cloudtrail;
pub mod s3;
pub mod session;
