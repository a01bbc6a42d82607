//! The trail simulator: writes a signed, realistic CloudTrail archive, tampered as asked,
//! and returns a manifest of what a correct validator must conclude about it.

mod error;
mod rng;
mod sign;

pub use error::SimError;
pub use sign::{PublicKeyRecord, SigningKey, TestKeys};
