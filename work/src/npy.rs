//! int8 matrices in numpy's `.npy` format, the way users hand matrices to
//! `proofmint work gemm`.
//!
//! A file is the magic `\x93NUMPY`, a major and minor version byte, the
//! header's length (u16 little-endian in version 1, u32 in versions 2 and
//! 3), the header (a Python dict literal such as
//! `{'descr': '|i1', 'fortran_order': False, 'shape': (3, 4), }`, padded
//! with spaces and a newline so that the data starts at a multiple of 64),
//! then the entries. Only what the GEMM kernel takes is read: dtype int8
//! (`|i1`, or `<i1`/`>i1`, the same bytes), two dimensions, C order; anything
//! else is refused with one line saying what and how to fix it. The data
//! must be exactly rows·columns bytes, checked before anything is allocated.

/// The largest dimension accepted (a 2^16 × 2^16 int8 matrix is 4 GiB).
pub const MAX_DIMENSION: usize = 1 << 16;
const MAGIC: &[u8] = b"\x93NUMPY";
/// Longest header read (numpy's own are under 200 bytes).
const MAX_HEADER: usize = 1 << 16;

/// A row-major int8 matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    pub rows: usize,
    pub columns: usize,
    pub entries: Vec<i8>,
}

/// Why a `.npy` file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NpyError {
    #[error("not a .npy file (no \\x93NUMPY magic)")]
    Magic,
    #[error(".npy version {0}.{1} is not supported (1.0, 2.0 or 3.0)")]
    Version(u8, u8),
    #[error("the file ends inside its header")]
    TruncatedHeader,
    #[error("the header is not a numpy header dict: {0}")]
    Header(String),
    #[error(
        "dtype {0} is not int8: convert with a.astype(np.int8) (values must fit in -128..=127)"
    )]
    Dtype(String),
    #[error("dtype {0} is not little-endian int64 (<i8): convert with c.astype('<i8')")]
    WideDtype(String),
    #[error("the array is in Fortran order: save np.ascontiguousarray(a) instead")]
    FortranOrder,
    #[error("shape {0} is not a matrix: it needs exactly two dimensions")]
    Shape(String),
    #[error("dimension {0} is outside 1..={MAX_DIMENSION}")]
    Dimension(usize),
    #[error("the data has {found} bytes; shape {rows}x{columns} needs {expected}")]
    DataLength {
        rows: usize,
        columns: usize,
        expected: usize,
        found: usize,
    },
}

/// The value of `key` in a numpy header dict (the text up to the next `,`
/// outside parentheses, trimmed).
fn field<'a>(header: &'a str, key: &str) -> Result<&'a str, NpyError> {
    let quoted = [format!("'{key}'"), format!("\"{key}\"")];
    let start = quoted
        .iter()
        .find_map(|k| header.find(k.as_str()).map(|at| at + k.len()))
        .ok_or_else(|| NpyError::Header(format!("no '{key}'")))?;
    let rest = header[start..].trim_start();
    let rest = rest
        .strip_prefix(':')
        .ok_or_else(|| NpyError::Header(format!("no ':' after '{key}'")))?
        .trim_start();
    let mut depth = 0usize;
    for (at, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    return Ok(rest[..=at].trim());
                }
            }
            ',' | '}' if depth == 0 => return Ok(rest[..at].trim()),
            _ => {}
        }
    }
    Err(NpyError::Header(format!("'{key}' has no end")))
}

/// A `.npy` file's header, checked, and its data.
struct Parsed<'a> {
    descr: &'a str,
    rows: usize,
    columns: usize,
    data: &'a [u8],
}

impl<'a> Parsed<'a> {
    /// The data, which must be `size` bytes per entry.
    fn data(&self, size: usize) -> Result<&'a [u8], NpyError> {
        let expected = self.rows * self.columns * size;
        if self.data.len() != expected {
            return Err(NpyError::DataLength {
                rows: self.rows,
                columns: self.columns,
                expected,
                found: self.data.len(),
            });
        }
        Ok(self.data)
    }
}

impl Matrix {
    /// Parses a `.npy` file's bytes.
    pub fn from_npy(bytes: &[u8]) -> Result<Self, NpyError> {
        let parsed = parse(bytes)?;
        if !matches!(parsed.descr, "|i1" | "<i1" | ">i1" | "i1" | "b") {
            return Err(NpyError::Dtype(parsed.descr.to_string()));
        }
        let data = parsed.data(1)?;
        Ok(Self {
            rows: parsed.rows,
            columns: parsed.columns,
            entries: data.iter().map(|b| *b as i8).collect(),
        })
    }

    /// The matrix as a version 1.0 `.npy` file, laid out as numpy writes it.
    pub fn to_npy(&self) -> Vec<u8> {
        assert_eq!(
            self.entries.len(),
            self.rows * self.columns,
            "a whole matrix"
        );
        let mut out = header("|i1", self.rows, self.columns, self.entries.len());
        out.extend(self.entries.iter().map(|e| *e as u8));
        out
    }
}

/// A row-major int64 matrix (a product `C`, whose entries outgrow int8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WideMatrix {
    pub rows: usize,
    pub columns: usize,
    pub entries: Vec<i64>,
}

impl WideMatrix {
    /// Parses a `.npy` file of little-endian int64 (`<i8`).
    pub fn from_npy(bytes: &[u8]) -> Result<Self, NpyError> {
        let parsed = parse(bytes)?;
        if parsed.descr != "<i8" {
            return Err(NpyError::WideDtype(parsed.descr.to_string()));
        }
        let data = parsed.data(8)?;
        Ok(Self {
            rows: parsed.rows,
            columns: parsed.columns,
            entries: data
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect(),
        })
    }

    /// The matrix as a version 1.0 `.npy` file of `<i8`.
    pub fn to_npy(&self) -> Vec<u8> {
        assert_eq!(
            self.entries.len(),
            self.rows * self.columns,
            "a whole matrix"
        );
        let mut out = header("<i8", self.rows, self.columns, 8 * self.entries.len());
        for e in &self.entries {
            out.extend_from_slice(&e.to_le_bytes());
        }
        out
    }
}

/// A version 1.0 header for `descr` and a shape, padded as numpy pads it,
/// in a buffer with room for `data` bytes more.
fn header(descr: &str, rows: usize, columns: usize, data: usize) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {columns}), }}");
    // Pad so that magic, version, length and header end at a multiple of 64.
    let unpadded = MAGIC.len() + 2 + 2 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out
}

/// Checks a `.npy` file's magic, version, header dict, order and shape (two
/// dimensions, each within bounds); the dtype and data length are the
/// caller's to check.
fn parse(bytes: &[u8]) -> Result<Parsed<'_>, NpyError> {
    if bytes.len() < 8 || &bytes[..6] != MAGIC {
        return Err(NpyError::Magic);
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (length, start) = match (major, minor) {
        (1, 0) if bytes.len() >= 10 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        (2 | 3, 0) if bytes.len() >= 12 => (
            u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize,
            12,
        ),
        (1..=3, 0) => return Err(NpyError::TruncatedHeader),
        _ => return Err(NpyError::Version(major, minor)),
    };
    if length > MAX_HEADER || bytes.len() < start + length {
        return Err(NpyError::TruncatedHeader);
    }
    let header = std::str::from_utf8(&bytes[start..start + length])
        .map_err(|_| NpyError::Header("not text".into()))?;
    let header = header.trim();
    if !(header.starts_with('{') && header.ends_with('}')) {
        return Err(NpyError::Header("not a dict".into()));
    }
    let descr = field(header, "descr")?.trim_matches(|c| c == '\'' || c == '"');
    match field(header, "fortran_order")? {
        "False" => {}
        "True" => return Err(NpyError::FortranOrder),
        other => return Err(NpyError::Header(format!("fortran_order is {other}"))),
    }
    let shape_text = field(header, "shape")?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| NpyError::Header(format!("shape {shape_text} is not a tuple")))?;
    let dimensions = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim_end_matches('L')
                .parse::<usize>()
                .map_err(|_| NpyError::Header(format!("shape {shape_text} has {s:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let [rows, columns] = dimensions[..] else {
        return Err(NpyError::Shape(shape_text.to_string()));
    };
    for dimension in [rows, columns] {
        if dimension == 0 || dimension > MAX_DIMENSION {
            return Err(NpyError::Dimension(dimension));
        }
    }
    Ok(Parsed {
        descr,
        rows,
        columns,
        data: &bytes[start + length..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file as numpy 1.26 writes `np.save(f, np.arange(-3, 3, dtype=np.int8).reshape(2, 3))`.
    fn numpy_file() -> Vec<u8> {
        let mut header = "{'descr': '|i1', 'fortran_order': False, 'shape': (2, 3), }".to_string();
        let unpadded = 10 + header.len() + 1;
        header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&[0xfd, 0xfe, 0xff, 0, 1, 2]);
        bytes
    }

    #[test]
    fn wide_matrices_round_trip_and_other_dtypes_are_refused() {
        let wide = WideMatrix {
            rows: 2,
            columns: 2,
            entries: vec![-1, 1 << 40, i64::MIN, 7],
        };
        let bytes = wide.to_npy();
        assert_eq!(WideMatrix::from_npy(&bytes), Ok(wide));
        assert_eq!(
            bytes.len() % 64,
            32,
            "header padded to 64, then 32 bytes of data"
        );
        assert!(matches!(
            WideMatrix::from_npy(&numpy_file()),
            Err(NpyError::WideDtype(d)) if d == "|i1"
        ));
        assert!(matches!(
            Matrix::from_npy(&bytes),
            Err(NpyError::Dtype(d)) if d == "<i8"
        ));
        assert!(matches!(
            WideMatrix::from_npy(&bytes[..bytes.len() - 1]),
            Err(NpyError::DataLength {
                expected: 32,
                found: 31,
                ..
            })
        ));
    }

    #[test]
    fn reads_numpy_layout_and_writes_it_back() {
        let matrix = Matrix::from_npy(&numpy_file()).unwrap();
        assert_eq!((matrix.rows, matrix.columns), (2, 3));
        assert_eq!(matrix.entries, vec![-3, -2, -1, 0, 1, 2]);
        assert_eq!(matrix.to_npy(), numpy_file());
        let big = Matrix {
            rows: 70,
            columns: 3,
            entries: (0..210).map(|i| (i % 256) as u8 as i8).collect(),
        };
        let bytes = big.to_npy();
        assert_eq!(
            (bytes.len() - 210) % 64,
            0,
            "data starts on a 64-byte boundary"
        );
        assert_eq!(Matrix::from_npy(&bytes).unwrap(), big);
    }

    #[test]
    fn other_dtypes_shapes_and_damage_are_refused_with_the_reason() {
        let good = numpy_file();
        // The file with `from` replaced by `to` (the same length) in its header.
        let with_header = |from: &str, to: &str| {
            assert_eq!(from.len(), to.len());
            let mut bytes = good.clone();
            let at = bytes
                .windows(from.len())
                .position(|w| w == from.as_bytes())
                .expect("in the header");
            bytes[at..at + to.len()].copy_from_slice(to.as_bytes());
            bytes
        };
        let refused = |bytes: &[u8]| Matrix::from_npy(bytes).unwrap_err();
        assert_eq!(refused(b"PK\x03\x04zip"), NpyError::Magic);
        assert_eq!(refused(&good[..9]), NpyError::TruncatedHeader);
        assert_eq!(refused(&good[..40]), NpyError::TruncatedHeader);
        let mut version = good.clone();
        version[6] = 4;
        assert_eq!(refused(&version), NpyError::Version(4, 0));
        for dtype in ["<f4", "<i2", "|u1", "|b1", "<i8"] {
            let error = refused(&with_header("|i1", dtype));
            assert_eq!(error, NpyError::Dtype(dtype.into()));
            assert!(error.to_string().contains("astype(np.int8)"));
        }
        assert_eq!(
            refused(&with_header("False", "True ")),
            NpyError::FortranOrder
        );
        assert!(matches!(
            refused(&with_header("(2, 3)", "(6,)  ")),
            NpyError::Shape(_)
        ));
        assert!(matches!(
            refused(&with_header("(2, 3), }", "(1,1,1),}")),
            NpyError::Shape(_)
        ));
        assert_eq!(
            refused(&with_header("(2, 3)", "(0, 3)")),
            NpyError::Dimension(0)
        );
        assert!(matches!(
            refused(&with_header("(2, 3)", "(2, x)")),
            NpyError::Header(_)
        ));
        assert_eq!(
            refused(&with_header("(2, 3)", "(3, 3)")),
            NpyError::DataLength {
                rows: 3,
                columns: 3,
                expected: 9,
                found: 6
            }
        );
        assert!(matches!(
            refused(&good[..good.len() - 1]),
            NpyError::DataLength { found: 5, .. }
        ));
        let mut extra = good.clone();
        extra.push(7);
        assert!(matches!(
            refused(&extra),
            NpyError::DataLength { found: 7, .. }
        ));
        // Same header length as the original, so only the value changes.
        let huge = with_header("'shape': (2, 3), }", "'shape':(99999,1)}");
        assert_eq!(refused(&huge), NpyError::Dimension(99999));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = Matrix::from_npy(&bytes);
            let mut file = numpy_file();
            let cut = bytes.len().min(file.len());
            file[..cut].copy_from_slice(&bytes[..cut]);
            let _ = Matrix::from_npy(&file);
        }
    }
}
