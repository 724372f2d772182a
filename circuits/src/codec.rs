//! The canonical binary form shared by every proofmint artifact: 4 magic bytes,
//! a one-byte version, then fixed-width big-endian fields (see FORMATS.md).
//!
//! [`Reader`] never reads past its input and never allocates on the strength
//! of a length it has not bounded first; every failure is a [`DecodeError`].

use ark_bn254::Fr;

use crate::field::{fr_from_be_bytes, fr_to_be_bytes, FieldError};

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not a {expected} (magic bytes {found:?})")]
    BadMagic {
        expected: &'static str,
        found: [u8; 4],
    },
    #[error("unknown {artifact} version {found} (this build reads version {supported})")]
    UnknownVersion {
        artifact: &'static str,
        found: u8,
        supported: u8,
    },
    #[error("truncated: {field} needs {needed} more bytes, {available} left")]
    Truncated {
        field: &'static str,
        needed: usize,
        available: usize,
    },
    #[error("{field}: {source}")]
    Field {
        field: &'static str,
        source: FieldError,
    },
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{count} trailing bytes after the end of the {artifact}")]
    TrailingBytes {
        artifact: &'static str,
        count: usize,
    },
}

/// A bounds-checked cursor over untrusted bytes.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// Checks the magic and version that open every artifact.
    pub fn header(
        &mut self,
        artifact: &'static str,
        magic: &[u8; 4],
        version: u8,
    ) -> Result<(), DecodeError> {
        let found: [u8; 4] = self.array("magic")?;
        if &found != magic {
            return Err(DecodeError::BadMagic {
                expected: artifact,
                found,
            });
        }
        let found = self.u8("version")?;
        if found != version {
            return Err(DecodeError::UnknownVersion {
                artifact,
                found,
                supported: version,
            });
        }
        Ok(())
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    pub fn take(&mut self, field: &'static str, len: usize) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < len {
            return Err(DecodeError::Truncated {
                field,
                needed: len,
                available: self.bytes.len(),
            });
        }
        let (head, tail) = self.bytes.split_at(len);
        self.bytes = tail;
        Ok(head)
    }

    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let slice = self.take(field, N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// A u32 count of entries of `size` bytes each, refused unless that many
    /// fit in the bytes left: nothing is allocated on the strength of a
    /// length the input cannot hold.
    pub fn count(&mut self, field: &'static str, size: usize) -> Result<usize, DecodeError> {
        let count = self.u32(field)? as usize;
        let needed = count
            .checked_mul(size)
            .ok_or_else(|| DecodeError::Invalid {
                field,
                reason: "count overflows".into(),
            })?;
        if needed > self.bytes.len() {
            return Err(DecodeError::Truncated {
                field,
                needed,
                available: self.bytes.len(),
            });
        }
        Ok(count)
    }

    /// A 32-byte big-endian field element, rejected unless canonical.
    pub fn fr(&mut self, field: &'static str) -> Result<Fr, DecodeError> {
        let bytes = self.array::<32>(field)?;
        fr_from_be_bytes(&bytes).map_err(|source| DecodeError::Field { field, source })
    }

    /// Fails unless every byte was consumed.
    pub fn finish(self, artifact: &'static str) -> Result<(), DecodeError> {
        match self.bytes.len() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes { artifact, count }),
        }
    }
}

/// Appends a field element as 32 big-endian bytes.
pub fn put_fr(out: &mut Vec<u8>, value: &Fr) {
    out.extend_from_slice(&fr_to_be_bytes(value));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_refuses_to_overrun() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u8("a").unwrap(), 1);
        assert!(matches!(
            r.u32("b"),
            Err(DecodeError::Truncated {
                field: "b",
                needed: 4,
                available: 2
            })
        ));
    }

    #[test]
    fn header_checks_magic_and_version() {
        assert!(Reader::new(b"PMRC\x01")
            .header("receipt", b"PMRC", 1)
            .is_ok());
        assert!(matches!(
            Reader::new(b"PMRC\x02").header("receipt", b"PMRC", 1),
            Err(DecodeError::UnknownVersion { found: 2, .. })
        ));
        assert!(matches!(
            Reader::new(b"XXXX\x01").header("receipt", b"PMRC", 1),
            Err(DecodeError::BadMagic { .. })
        ));
    }
}
