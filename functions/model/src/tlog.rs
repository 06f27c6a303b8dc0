//! The audit log's formats (the log itself: `trustreg_core::tlog`): the audit log as a transparency log (issue 14; Y.3059 7 i c, 9.1 iv): every audit record is a
//! leaf of an append-only Merkle tree per registry, hashed as RFC 9162 (2.1) does, stored as
//! C2SP `tlog-tiles` and vouched for by a C2SP `tlog-checkpoint` in a `signed-note` signed
//! with the registry's key.
//!
//! Written here rather than taken from a crate: the Rust crates for these formats (Cloudflare's
//! `signed_note` / `tlog_tiles`) sign with Ed25519 through a synchronous `Signer` trait, while
//! the registry signs with a KMS P-256 key, asynchronously; their Ed25519 and base64 0.21
//! dependencies would also be carried by every function for nothing. The formats are small and
//! pinned by the specs' own examples (tests).

pub mod checkpoint;
pub mod leaf;
pub mod note;
pub mod proofs;
pub mod tile_proofs;
pub mod tiles;
pub mod verify;

pub use checkpoint::Checkpoint;
pub use note::{NoteSignature, SignedNote};
pub use tiles::{Edge, Tile, TileKind};

/// Why a log artifact read from outside (a tile path, a note, a checkpoint) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlogError {
    #[error("not a tile path: {0}")]
    TilePath(String),
    #[error("malformed signed note: {0}")]
    Note(&'static str),
    #[error("malformed checkpoint: {0}")]
    Checkpoint(&'static str),
    #[error("malformed tile: {0}")]
    Tile(&'static str),
    #[error("malformed verifier key: {0}")]
    VerifierKey(&'static str),
}
