//! The audit log as a transparency log (issue 14; Y.3059 7 i c, 9.1 iv): the sequencer that
//! makes audit records leaves and signs checkpoints, and the reads of the log. Its formats
//! (tiles, checkpoints, signed notes, proofs, verification) are `trustreg_model::tlog`.

pub mod reads;
pub mod sequencer;

pub use trustreg_model::tlog::*;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
