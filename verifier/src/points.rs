//! Checked encoding of BN254 points and of point vectors inside key files.
//!
//! Every point read here is on the curve and in the prime-order subgroup
//! (`Validate::Yes`, or a parallel batch check before the vector is returned),
//! and every vector length is bounded by the bytes actually present before
//! anything is allocated.

use ark_ec::short_weierstrass::{Affine, SWCurveConfig};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Valid, Validate};
use proofmint_circuits::codec::{DecodeError, Reader};
use rayon::prelude::*;

fn invalid(field: &'static str, e: impl std::fmt::Display) -> DecodeError {
    DecodeError::Invalid {
        field,
        reason: e.to_string(),
    }
}

/// Appends one point in the given compression.
pub fn put_point<T: CanonicalSerialize>(out: &mut Vec<u8>, point: &T, compress: Compress) {
    point
        .serialize_with_mode(&mut *out, compress)
        .expect("writing to a Vec cannot fail");
}

/// Reads one point, checked to be on the curve and in the subgroup.
pub fn read_point<T: CanonicalDeserialize + CanonicalSerialize + Default>(
    reader: &mut Reader<'_>,
    field: &'static str,
    compress: Compress,
) -> Result<T, DecodeError> {
    let size = T::default().serialized_size(compress);
    let bytes = reader.take(field, size)?;
    T::deserialize_with_mode(bytes, compress, Validate::Yes).map_err(|e| invalid(field, e))
}

/// Appends a u32 count and the points.
pub fn put_points<T: CanonicalSerialize>(out: &mut Vec<u8>, points: &[T], compress: Compress) {
    out.extend_from_slice(&(points.len() as u32).to_be_bytes());
    for p in points {
        put_point(out, p, compress);
    }
}

/// Reads a u32 count and that many points, unvalidated; the count is checked
/// against the bytes left before anything is allocated.
fn read_unvalidated<T: CanonicalDeserialize + CanonicalSerialize + Default + Send>(
    reader: &mut Reader<'_>,
    field: &'static str,
    compress: Compress,
) -> Result<Vec<T>, DecodeError> {
    let size = T::default().serialized_size(compress);
    let count = reader.count(field, size)?;
    let bytes = reader.take(field, count * size)?;
    // An indexed collect, straight into the vector: rayon's collect into a
    // `Result` is not indexed, and would gather pieces and copy them again
    // (a gigabyte and more for a large key). The first error is kept aside.
    let error = std::sync::Mutex::new(None);
    let points = bytes
        .par_chunks_exact(size)
        .map(
            |chunk| match T::deserialize_with_mode(chunk, compress, Validate::No) {
                Ok(point) => point,
                Err(e) => {
                    let mut first = error.lock().unwrap_or_else(|p| p.into_inner());
                    first.get_or_insert(e);
                    T::default()
                }
            },
        )
        .collect::<Vec<T>>();
    match error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(invalid(field, e)),
        None => Ok(points),
    }
}

/// Reads a vector of points without checking that they lie on the curve or
/// in the subgroup: only for bytes whose validity is already established
/// (a key file this machine validated before, recognized by its SHA-256).
/// Lengths are still bounded and coordinates still must be canonical.
pub fn read_points_trusted<T: CanonicalDeserialize + CanonicalSerialize + Default + Send>(
    reader: &mut Reader<'_>,
    field: &'static str,
    compress: Compress,
) -> Result<Vec<T>, DecodeError> {
    read_unvalidated(reader, field, compress)
}

/// Reads a u32 count and that many points; the count is checked against the
/// bytes left before allocating, and the points are validated as a batch.
pub fn read_points<T: CanonicalDeserialize + CanonicalSerialize + Valid + Default + Sync + Send>(
    reader: &mut Reader<'_>,
    field: &'static str,
    compress: Compress,
) -> Result<Vec<T>, DecodeError> {
    let points = read_unvalidated::<T>(reader, field, compress)?;
    // Validate in parallel over slices (rayon's `par_iter`), which spreads the
    // subgroup checks evenly; arkworks' own batch check bridges a serial iterator.
    points
        .par_iter()
        .try_for_each(Valid::check)
        .map_err(|e| invalid(field, e))?;
    Ok(points)
}

/// [`read_points`] for callers with a faster subgroup test of their own (a
/// batch test on vector hardware): the points are checked to be on the curve
/// here, and `subgroup` must return the index of the first point outside the
/// prime-order subgroup, if any.
pub fn read_points_with_subgroup_check<P: SWCurveConfig>(
    reader: &mut Reader<'_>,
    field: &'static str,
    compress: Compress,
    subgroup: impl FnOnce(&[Affine<P>]) -> Result<(), usize>,
) -> Result<Vec<Affine<P>>, DecodeError> {
    let points = read_unvalidated::<Affine<P>>(reader, field, compress)?;
    if let Some(index) = points.par_iter().position_first(|p| !p.is_on_curve()) {
        return Err(invalid(field, format!("point {index} is not on the curve")));
    }
    subgroup(&points)
        .map_err(|index| invalid(field, format!("point {index} is not in the subgroup")))?;
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{G1Affine, G2Affine};
    use ark_ec::AffineRepr;

    #[test]
    fn off_curve_point_is_refused() {
        let mut out = Vec::new();
        put_point(&mut out, &G1Affine::generator(), Compress::No);
        out[0] ^= 1; // x changes, y stays: off the curve
        assert!(read_point::<G1Affine>(&mut Reader::new(&out), "a", Compress::No).is_err());
    }

    #[test]
    fn g2_point_outside_the_subgroup_is_refused() {
        // x = 1 + 0u is on the twist for some y; find one and check it is refused
        // unless it happens to be in the subgroup (it is not: cofactor is huge).
        use ark_bn254::{g2::Config, Fq2};
        use ark_ec::short_weierstrass::{Affine, SWCurveConfig};
        use ark_ff::{Field, One};
        let mut x = Fq2::one();
        let point = loop {
            let rhs = x * x * x + Config::COEFF_B;
            if let Some(y) = rhs.sqrt() {
                break Affine::<Config>::new_unchecked(x, y);
            }
            x += Fq2::one();
        };
        assert!(point.is_on_curve());
        assert!(!point.is_in_correct_subgroup_assuming_on_curve());
        let mut out = Vec::new();
        put_points(&mut out, &[G2Affine::generator(), point], Compress::No);
        assert!(read_points::<G2Affine>(&mut Reader::new(&out), "b", Compress::No).is_err());
        // With the caller's subgroup test: its index is reported; points off
        // the curve are refused before it runs.
        let check = |points: &[G2Affine]| match points
            .iter()
            .position(|p| !p.is_in_correct_subgroup_assuming_on_curve())
        {
            Some(i) => Err(i),
            None => Ok(()),
        };
        let err = read_points_with_subgroup_check::<Config>(
            &mut Reader::new(&out),
            "b",
            Compress::No,
            check,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("point 1 is not in the subgroup"),
            "{err}"
        );
        let mut off = out.clone();
        off[4] ^= 1; // the generator's x changes: off the curve
        let err = read_points_with_subgroup_check::<Config>(
            &mut Reader::new(&off),
            "b",
            Compress::No,
            |_| panic!("not reached"),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("point 0 is not on the curve"),
            "{err}"
        );
        let mut good = Vec::new();
        put_points(&mut good, &[G2Affine::generator(); 3], Compress::No);
        let read = read_points_with_subgroup_check::<Config>(
            &mut Reader::new(&good),
            "b",
            Compress::No,
            check,
        )
        .unwrap();
        assert_eq!(read, vec![G2Affine::generator(); 3]);
        let mut one = Vec::new();
        put_point(&mut one, &point, Compress::Yes);
        assert!(read_point::<G2Affine>(&mut Reader::new(&one), "b", Compress::Yes).is_err());
    }

    /// The trusted read (no curve checks) keeps the order of many points
    /// read in parallel, and still refuses a coordinate at or above the
    /// modulus wherever it lies.
    #[test]
    fn trusted_read_keeps_order_and_refuses_non_canonical_coordinates() {
        use ark_ec::CurveGroup;
        let g = G1Affine::generator().into_group();
        let points: Vec<G1Affine> = (1..=5000u64)
            .map(|k| (g * ark_bn254::Fr::from(k)).into_affine())
            .collect();
        let mut out = Vec::new();
        put_points(&mut out, &points, Compress::No);
        let read: Vec<G1Affine> =
            read_points_trusted(&mut Reader::new(&out), "d", Compress::No).unwrap();
        assert_eq!(read, points);
        // Point 3777's x set to all ones (little-endian limbs): above p.
        let at = 4 + 3777 * 64;
        out[at..at + 32].fill(0xff);
        let err =
            read_points_trusted::<G1Affine>(&mut Reader::new(&out), "d", Compress::No).unwrap_err();
        assert!(
            matches!(err, DecodeError::Invalid { field: "d", .. }),
            "{err}"
        );
    }

    #[test]
    fn huge_count_is_refused_before_allocating() {
        let bytes = [0xff, 0xff, 0xff, 0xff, 0, 0];
        assert!(matches!(
            read_points::<G1Affine>(&mut Reader::new(&bytes), "c", Compress::No),
            Err(DecodeError::Truncated { .. })
        ));
    }
}
