//! Exit codes, mapped to numbers in one place.

use trailcheck_core::verdict::Outcome;

/// How a run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Every file proven intact.
    Intact,
    /// Something modified, deleted, moved or unreferenced (or what `--fail-on` names).
    Tampered,
    /// A usage or configuration error: nothing was judged.
    Usage,
    /// No tampering found, but something could not be verified.
    Incomplete,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Intact => 0,
            Exit::Tampered => 1,
            Exit::Usage => 2,
            Exit::Incomplete => 3,
        }
    }
}

impl From<Outcome> for Exit {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Intact => Exit::Intact,
            Outcome::Tampered => Exit::Tampered,
            Outcome::Incomplete => Exit::Incomplete,
        }
    }
}
