//! The Status List: statuses of `bits` bits packed into bytes, index 0 in the least significant
//! bits of byte 0, compressed "using DEFLATE [RFC1951] with the ZLIB [RFC1950] data format" at
//! the highest level available (draft section "Status List"), then base64url without padding
//! (its section "Status List in JSON Format", after RFC 7515 section 2).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use miniz_oxide::deflate::{CompressionLevel, compress_to_vec_zlib};
use miniz_oxide::inflate::decompress_to_vec_zlib_with_limit;

use super::StatusListError;

/// The largest decompressed list accepted: 64 Mi statuses at 2 bits. A few hundred bytes of
/// `lst` can inflate to gigabytes; a verifier must not allocate what a token merely claims.
pub const MAX_LIST_BYTES: usize = 16 * 1024 * 1024;

/// Bits per status: the draft allows 1, 2, 4 and 8 so that no status straddles a byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bits {
    One = 1,
    Two = 2,
    Four = 4,
    Eight = 8,
}

impl Bits {
    pub fn get(self) -> u8 {
        self as u8
    }

    fn per_byte(self) -> usize {
        8 / self as usize
    }

    fn mask(self) -> u8 {
        ((1u16 << self as u16) - 1) as u8
    }
}

impl TryFrom<u64> for Bits {
    type Error = StatusListError;
    fn try_from(bits: u64) -> Result<Self, Self::Error> {
        match bits {
            1 => Ok(Self::One),
            2 => Ok(Self::Two),
            4 => Ok(Self::Four),
            8 => Ok(Self::Eight),
            other => Err(StatusListError::UnsupportedBits(other)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: Bits,
    bytes: Vec<u8>,
}

impl StatusList {
    /// Room for at least `len` statuses, all 0x00 (VALID): the draft has no length field, so a
    /// list always holds whole bytes and indexes past the last status read as 0.
    pub fn new(bits: Bits, len: u64) -> Self {
        let mut list = Self {
            bits,
            bytes: Vec::new(),
        };
        list.grow_to(len);
        list
    }

    pub fn from_bytes(bits: Bits, bytes: Vec<u8>) -> Self {
        Self { bits, bytes }
    }

    pub fn bits(&self) -> Bits {
        self.bits
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How many statuses the list holds (whole bytes' worth).
    pub fn len(&self) -> u64 {
        (self.bytes.len() * self.bits.per_byte()) as u64
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Makes room for `len` statuses; never shrinks (indexes are never reused).
    pub fn grow_to(&mut self, len: u64) {
        let per_byte = self.bits.per_byte() as u64;
        let bytes = len.div_ceil(per_byte) as usize;
        if bytes > self.bytes.len() {
            self.bytes.resize(bytes, 0);
        }
    }

    pub fn get(&self, idx: u64) -> Result<u8, StatusListError> {
        let (byte, shift) = self.position(idx)?;
        Ok((self.bytes[byte] >> shift) & self.bits.mask())
    }

    pub fn set(&mut self, idx: u64, value: u8) -> Result<(), StatusListError> {
        let mask = self.bits.mask();
        if value & !mask != 0 {
            return Err(StatusListError::ValueTooLarge {
                value,
                bits: self.bits.get(),
            });
        }
        let (byte, shift) = self.position(idx)?;
        self.bytes[byte] = (self.bytes[byte] & !(mask << shift)) | (value << shift);
        Ok(())
    }

    fn position(&self, idx: u64) -> Result<(usize, u32), StatusListError> {
        let out_of_range = StatusListError::IndexOutOfRange {
            idx,
            len: self.len(),
        };
        let idx = usize::try_from(idx).map_err(|_| out_of_range.clone())?;
        let per_byte = self.bits.per_byte();
        let byte = idx / per_byte;
        if byte >= self.bytes.len() {
            return Err(out_of_range);
        }
        Ok((byte, ((idx % per_byte) * self.bits as usize) as u32))
    }

    /// The draft's `lst`: ZLIB at the highest level, base64url without padding.
    pub fn lst(&self) -> String {
        let compressed = compress_to_vec_zlib(&self.bytes, CompressionLevel::UberCompression as u8);
        URL_SAFE_NO_PAD.encode(compressed)
    }

    /// A list from its `bits` and `lst`, refusing more than `MAX_LIST_BYTES` once inflated.
    pub fn decode(bits: u64, lst: &str) -> Result<Self, StatusListError> {
        let bits = Bits::try_from(bits)?;
        // The compressed form is never larger than the list it holds by much; refuse early.
        if lst.len() > MAX_LIST_BYTES {
            return Err(StatusListError::TooLarge);
        }
        let compressed = URL_SAFE_NO_PAD
            .decode(lst)
            .map_err(|_| StatusListError::Base64)?;
        let bytes =
            decompress_to_vec_zlib_with_limit(&compressed, MAX_LIST_BYTES).map_err(|e| match e
                .status
            {
                miniz_oxide::inflate::TINFLStatus::HasMoreOutput => StatusListError::TooLarge,
                _ => StatusListError::Compression,
            })?;
        Ok(Self { bits, bytes })
    }
}
