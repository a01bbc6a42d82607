//! The trail simulator: writes a signed, realistic CloudTrail archive, tampered as asked,
//! and returns a manifest of what a correct validator must conclude about it.

mod error;
mod events;
mod plan;
mod rng;
mod sign;
mod spec;

pub use error::SimError;
pub use sign::{PublicKeyRecord, SigningKey, TestKeys};
pub use spec::{BucketSwitch, HourRange, Layout, Rotation, Spec, TamperKind, TamperSpec};
