//! iden3's binary container, shared by snarkjs's `.ptau`, `.zkey`, `.r1cs`
//! and `.wtns` files: 4 magic bytes, a u32 version, a u32 section count,
//! then sections of (u32 type, u64 length, bytes), all little-endian; and
//! the point encoding those files use (affine, each coordinate in Montgomery
//! form x·2^256 mod q in 32 little-endian bytes, Fq2 as c0 then c1, all
//! zeros for the point at infinity).
//!
//! Reading bounds the section table by the file's length before anything is
//! read, and every point is checked: canonical coordinates, on the curve,
//! and for G2 in the prime-order subgroup (G1 has cofactor 1).

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, MontConfig};
use rayon::prelude::*;

/// Sections a file may declare; a longer table is refused before it is walked.
pub const MAX_SECTIONS: u32 = 64;
/// Bytes of a G1 point.
pub const G1_BYTES: u64 = 64;
/// Bytes of a G2 point.
pub const G2_BYTES: u64 = 128;

/// Why a container or a point in it was refused.
#[derive(Debug, thiserror::Error)]
pub enum BinFileError {
    #[error("reading the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a .{expected} file (magic bytes {found:?})")]
    BadMagic {
        expected: &'static str,
        found: [u8; 4],
    },
    #[error("version {found} is not supported (only {supported})")]
    Version { found: u32, supported: &'static str },
    #[error("the file declares {0} sections (at most {MAX_SECTIONS})")]
    TooManySections(u32),
    #[error("section {section} claims {size} bytes at offset {offset}, past the end of the file ({file} bytes)")]
    SectionPastEnd {
        section: u32,
        offset: u64,
        size: u64,
        file: u64,
    },
    #[error("section {0} appears twice")]
    DuplicateSection(u32),
    #[error("section {0} ({1}) is missing")]
    MissingSection(u32, &'static str),
    #[error("section {section} ({name}) has {found} bytes; {expected} expected")]
    SectionSize {
        section: u32,
        name: &'static str,
        expected: u64,
        found: u64,
    },
    #[error("section {section} ({name}), point {index}: {reason}")]
    BadPoint {
        section: u32,
        name: &'static str,
        index: usize,
        reason: &'static str,
    },
}

/// A container's version and where each section's bytes lie.
#[derive(Debug, Clone)]
pub struct BinFile {
    pub version: u32,
    sections: BTreeMap<u32, (u64, u64)>,
}

/// The little-endian u32 at byte `at` (the caller has checked the length).
pub fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// Writes a container: `magic`, `version`, then each (type, bytes) section.
pub fn write<W: std::io::Write>(
    out: &mut W,
    magic: &[u8; 4],
    version: u32,
    sections: &[(u32, Vec<u8>)],
) -> std::io::Result<()> {
    write_start(out, magic, version, sections.len() as u32)?;
    for (id, bytes) in sections {
        write_section(out, *id, bytes.len() as u64, |w| {
            std::io::Write::write_all(w, bytes)
        })?;
    }
    Ok(())
}

/// Starts a container of `sections` sections, each then written with
/// [`write_section`]: the file is written as it is made, never held whole.
pub fn write_start<W: std::io::Write>(
    out: &mut W,
    magic: &[u8; 4],
    version: u32,
    sections: u32,
) -> std::io::Result<()> {
    out.write_all(magic)?;
    out.write_all(&version.to_le_bytes())?;
    out.write_all(&sections.to_le_bytes())
}

/// Writes one section of `size` bytes, which `body` writes; a body that
/// writes another number of bytes is an error (the section table would lie).
/// The body's error type is the caller's, so that a body that also checks
/// what it writes returns its own errors.
pub fn write_section<W: std::io::Write, E: From<std::io::Error>>(
    out: &mut W,
    id: u32,
    size: u64,
    body: impl FnOnce(&mut Counted<&mut W>) -> Result<(), E>,
) -> Result<(), E> {
    out.write_all(&id.to_le_bytes())?;
    out.write_all(&size.to_le_bytes())?;
    let mut counted = Counted {
        inner: out,
        written: 0,
    };
    body(&mut counted)?;
    if counted.written != size {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "section {id}: {} bytes written where its header says {size}",
                counted.written
            ),
        )
        .into());
    }
    Ok(())
}

/// A writer that counts what passes through it.
pub struct Counted<W> {
    inner: W,
    written: u64,
}

impl<W: std::io::Write> std::io::Write for Counted<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes G1 points in this encoding ([`put_g1`]), a bounded chunk at a time.
pub fn write_g1s<W: std::io::Write + ?Sized>(
    out: &mut W,
    points: &[G1Affine],
) -> std::io::Result<()> {
    write_points(out, points, G1_BYTES as usize, put_g1)
}

/// Writes G2 points in this encoding ([`put_g2`]), a bounded chunk at a time.
pub fn write_g2s<W: std::io::Write + ?Sized>(
    out: &mut W,
    points: &[G2Affine],
) -> std::io::Result<()> {
    write_points(out, points, G2_BYTES as usize, put_g2)
}

fn write_points<W: std::io::Write + ?Sized, P>(
    out: &mut W,
    points: &[P],
    size: usize,
    put: fn(&P, &mut Vec<u8>),
) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(WRITE_CHUNK * size);
    for chunk in points.chunks(WRITE_CHUNK) {
        bytes.clear();
        chunk.iter().for_each(|p| put(p, &mut bytes));
        out.write_all(&bytes)?;
    }
    Ok(())
}

/// Points encoded per write by [`write_g1s`] and [`write_g2s`].
const WRITE_CHUNK: usize = 4096;

impl BinFile {
    /// Walks the section table of a file of kind `magic` ("ptau", "zkey"),
    /// accepting the versions `supported` allows (named in errors as
    /// `supported_text`).
    pub fn read<R: Read + Seek>(
        file: &mut R,
        magic: &'static str,
        supported: impl Fn(u32) -> bool,
        supported_text: &'static str,
    ) -> Result<Self, BinFileError> {
        let length = file.seek(SeekFrom::End(0))?;
        file.seek(SeekFrom::Start(0))?;
        let mut head = [0u8; 12];
        file.read_exact(&mut head)?;
        let found: [u8; 4] = head[0..4].try_into().expect("4 bytes");
        if found != magic.as_bytes() {
            return Err(BinFileError::BadMagic {
                expected: magic,
                found,
            });
        }
        let version = u32_at(&head, 4);
        if !supported(version) {
            return Err(BinFileError::Version {
                found: version,
                supported: supported_text,
            });
        }
        let count = u32_at(&head, 8);
        if count > MAX_SECTIONS {
            return Err(BinFileError::TooManySections(count));
        }
        let mut sections = BTreeMap::new();
        let mut at = 12u64;
        for _ in 0..count {
            let mut entry = [0u8; 12];
            file.seek(SeekFrom::Start(at))?;
            file.read_exact(&mut entry)?;
            let section = u32_at(&entry, 0);
            let size = u64::from_le_bytes(entry[4..12].try_into().expect("8 bytes"));
            let offset = at + 12;
            if offset.checked_add(size).is_none_or(|end| end > length) {
                return Err(BinFileError::SectionPastEnd {
                    section,
                    offset,
                    size,
                    file: length,
                });
            }
            if sections.insert(section, (offset, size)).is_some() {
                return Err(BinFileError::DuplicateSection(section));
            }
            at = offset + size;
        }
        Ok(Self { version, sections })
    }

    /// Section `id`'s (offset, length).
    pub fn section(&self, id: u32, name: &'static str) -> Result<(u64, u64), BinFileError> {
        self.sections
            .get(&id)
            .copied()
            .ok_or(BinFileError::MissingSection(id, name))
    }

    /// Section `id`, refused unless it has exactly `expected` bytes.
    pub fn sized(
        &self,
        id: u32,
        name: &'static str,
        expected: u64,
    ) -> Result<(u64, u64), BinFileError> {
        let (offset, size) = self.section(id, name)?;
        if size != expected {
            return Err(BinFileError::SectionSize {
                section: id,
                name,
                expected,
                found: size,
            });
        }
        Ok((offset, size))
    }
}

/// A coordinate in Montgomery form, refused unless canonical.
fn coordinate(bytes: &[u8]) -> Option<Fq> {
    let limbs: [u64; 4] = std::array::from_fn(|i| {
        u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"))
    });
    (BigInt(limbs) < <ark_bn254::FqConfig as MontConfig<4>>::MODULUS)
        .then(|| Fq::new_unchecked(BigInt(limbs)))
}

/// A G1 point that must not be the point at infinity.
pub fn g1(bytes: &[u8]) -> Result<G1Affine, &'static str> {
    if bytes.iter().all(|b| *b == 0) {
        return Err("the point at infinity");
    }
    g1_or_infinity(bytes)
}

/// A G1 point, the point at infinity allowed (all zeros).
pub fn g1_or_infinity(bytes: &[u8]) -> Result<G1Affine, &'static str> {
    if bytes.iter().all(|b| *b == 0) {
        return Ok(G1Affine::zero());
    }
    let x = coordinate(&bytes[0..32]).ok_or("non-canonical x")?;
    let y = coordinate(&bytes[32..64]).ok_or("non-canonical y")?;
    let point = G1Affine::new_unchecked(x, y);
    // G1 has cofactor 1: on the curve is in the group.
    point
        .is_on_curve()
        .then_some(point)
        .ok_or("not on the curve")
}

/// A G2 point that must not be the point at infinity.
pub fn g2(bytes: &[u8]) -> Result<G2Affine, &'static str> {
    if bytes.iter().all(|b| *b == 0) {
        return Err("the point at infinity");
    }
    g2_or_infinity(bytes)
}

/// A G2 point on the curve, not at infinity, whose subgroup the caller
/// checks (in a batch).
pub fn g2_on_curve(bytes: &[u8]) -> Result<G2Affine, &'static str> {
    if bytes.iter().all(|b| *b == 0) {
        return Err("the point at infinity");
    }
    let c = |i: usize| coordinate(&bytes[32 * i..32 * i + 32]).ok_or("non-canonical coordinate");
    let point = G2Affine::new_unchecked(Fq2::new(c(0)?, c(1)?), Fq2::new(c(2)?, c(3)?));
    point
        .is_on_curve()
        .then_some(point)
        .ok_or("not on the curve")
}

/// A G2 point on the curve or at infinity (all zeros), whose subgroup the
/// caller checks (in a batch).
pub fn g2_on_curve_or_infinity(bytes: &[u8]) -> Result<G2Affine, &'static str> {
    if bytes.iter().all(|b| *b == 0) {
        return Ok(G2Affine::zero());
    }
    g2_on_curve(bytes)
}

/// A G2 point, the point at infinity allowed (all zeros).
pub fn g2_or_infinity(bytes: &[u8]) -> Result<G2Affine, &'static str> {
    if bytes.iter().all(|b| *b == 0) {
        return Ok(G2Affine::zero());
    }
    let point = g2_on_curve(bytes)?;
    point
        .is_in_correct_subgroup_assuming_on_curve()
        .then_some(point)
        .ok_or("not in the prime-order subgroup")
}

/// Reads `count` points of `size` bytes from `offset`, checked in parallel;
/// the caller has bounded `count` by the section's length.
pub fn read_points<R: Read + Seek, T: Send>(
    file: &mut R,
    offset: u64,
    section: (u32, &'static str),
    count: usize,
    size: u64,
    parse: fn(&[u8]) -> Result<T, &'static str>,
) -> Result<Vec<T>, BinFileError> {
    let mut bytes = vec![0u8; count * size as usize];
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(&mut bytes)?;
    parse_points(&bytes, section, 0, size, parse)
}

/// Points of `size` bytes each, parsed in parallel by `parse`; `first` is
/// the first one's index in `section`, which errors name.
pub fn parse_points<T: Send>(
    bytes: &[u8],
    (id, name): (u32, &'static str),
    first: usize,
    size: u64,
    parse: fn(&[u8]) -> Result<T, &'static str>,
) -> Result<Vec<T>, BinFileError> {
    bytes
        .par_chunks_exact(size as usize)
        .enumerate()
        .map(|(index, chunk)| {
            parse(chunk).map_err(|reason| BinFileError::BadPoint {
                section: id,
                name,
                index: first + index,
                reason,
            })
        })
        .collect()
}

/// The little-endian bytes of a point in this encoding (inverse of [`g1`]).
pub fn put_g1(point: &G1Affine, out: &mut Vec<u8>) {
    use ark_ff::BigInteger;
    if point.is_zero() {
        out.extend_from_slice(&[0u8; 64]);
        return;
    }
    for c in [point.x, point.y] {
        out.extend_from_slice(&c.0.to_bytes_le());
    }
}

/// The little-endian bytes of a G2 point (inverse of [`g2`]).
pub fn put_g2(point: &G2Affine, out: &mut Vec<u8>) {
    use ark_ff::BigInteger;
    if point.is_zero() {
        out.extend_from_slice(&[0u8; 128]);
        return;
    }
    for c in [point.x.c0, point.x.c1, point.y.c0, point.y.c1] {
        out.extend_from_slice(&c.0.to_bytes_le());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::CurveGroup;

    #[test]
    fn streamed_sections_read_back_and_a_short_body_is_refused() {
        let points: Vec<G1Affine> = (1..=5u64)
            .map(|k| (G1Affine::generator() * ark_bn254::Fr::from(k)).into_affine())
            .collect();
        let mut file = Vec::new();
        write_start(&mut file, b"test", 1, 2).unwrap();
        write_section(&mut file, 1, 4, |w| {
            std::io::Write::write_all(w, &7u32.to_le_bytes())
        })
        .unwrap();
        write_section(&mut file, 2, 5 * G1_BYTES, |w| write_g1s(w, &points)).unwrap();
        let mut reader = std::io::Cursor::new(&file);
        let sections = BinFile::read(&mut reader, "test", |v| v == 1, "1").unwrap();
        let (at, size) = sections.section(2, "points").unwrap();
        assert_eq!(size, 5 * G1_BYTES);
        let read = read_points(&mut reader, at, (2, "points"), 5, G1_BYTES, g1).unwrap();
        assert_eq!(read, points);

        // A section whose body writes fewer bytes than its header says.
        let error =
            write_section(&mut Vec::new(), 3, 6 * G1_BYTES, |w| write_g1s(w, &points)).unwrap_err();
        assert!(error.to_string().contains("section 3"), "{error}");
    }
}
