//! Token Status Lists after IETF draft-ietf-oauth-status-list-17 (30 January 2026, "Token
//! Status List (TSL)"): the status of every device of a registry as 2 bits at its index,
//! ZLIB-compressed, in a JWT (`typ: statuslist+jwt`) signed with the registry's key, so that a
//! verifier checks any number of devices offline from one download (issue 16; API.md, "Status
//! lists"). The token holds bits by index and no identifiers (the draft's herd privacy).
//!
//! Pinned to -17: the latest full text of the draft found (datatracker). The parts used here
//! (the list's packing and compression, the JWT claims, the `status_list` reference, the status
//! types 0x00-0x03) are those of its sections on the Status List, the Status List Token in JWT
//! format, the Referenced Token and the Status Types.
//!
//! The registry's statuses onto the draft's values (`value`): trusted → VALID (0x00),
//! unreliable → INVALID (0x01), unverified → SUSPENDED (0x02), deregistered → 0x03, which the
//! draft leaves application-specific.
//!
//! Pure: building, encoding, signing input and verification; no I/O. The registry signs the
//! signing input through KMS (`token::signing_input`, then `jose::assemble`); the allocation of
//! indexes and the publication are the registry's.

mod error;
mod list;
mod reference;
mod token;
mod value;

pub use error::StatusListError;
pub use list::{Bits, MAX_LIST_BYTES, StatusList};
pub use reference::{StatusClaim, StatusListReference};
pub use token::{
    EncodedStatusList, MAX_TOKEN_LEN, STATUS_LIST_TYP, StatusListClaims, VerifiedStatusList,
    sign_with, signing_input, verify_token,
};
pub use value::{DEREGISTERED, INVALID, REGISTRY_BITS, SUSPENDED, VALID, status_of, value_of};

#[cfg(test)]
mod tests;
