//! Reading and writing TPM 2.0 marshaled structures (TPM 2.0 Library Part 2 §5: big-endian
//! integers, sized buffers `TPM2B_*` as a u16 length then the bytes).

use super::TpmError;

/// A cursor over marshaled bytes; every read fails instead of panicking on short input.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader { bytes, what }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], TpmError> {
        if self.bytes.len() < n {
            return Err(TpmError::Malformed(format!("{}: truncated", self.what)));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, TpmError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, TpmError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, TpmError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, TpmError> {
        let hi = u64::from(self.u32()?);
        let lo = u64::from(self.u32()?);
        Ok(hi << 32 | lo)
    }

    /// A `TPM2B_*`: u16 size, then that many bytes.
    pub(crate) fn sized(&mut self) -> Result<&'a [u8], TpmError> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    /// Trailing bytes would mean the structure is not what it claims to be.
    pub(crate) fn finish(self) -> Result<(), TpmError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(TpmError::Malformed(format!(
                "{}: trailing bytes",
                self.what
            )))
        }
    }
}

/// Marshals `bytes` as a `TPM2B_*`.
pub(crate) fn sized(bytes: &[u8]) -> Result<Vec<u8>, TpmError> {
    let n = u16::try_from(bytes.len())
        .map_err(|_| TpmError::Malformed("buffer longer than a TPM2B can hold".into()))?;
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(out)
}
