//! The reporting rhythm's rules live in `attain_core::cadence`, shared with
//! the review service (monthly reviews): one meaning of "due" and "late".

pub use attain_core::cadence::*;
