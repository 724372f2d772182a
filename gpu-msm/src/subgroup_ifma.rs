//! The G2 subgroup check's batched scalar multiplication on AVX-512 IFMA:
//! `[k]·P` for many points at once ([`multiply_each`]), in batch-affine steps
//! whose field inversions are shared across the points.

use ark_bn254::FqConfig;
use ark_ec::short_weierstrass::{Affine, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{MontConfig, Zero};
use rayon::prelude::*;

use crate::curve_ifma::{affine_from_52, negate_limbs, Coordinate};
use crate::ifma::{self, Consts8, Field52, LANES, LIMBS};
use crate::lockstep::naf;

/// `[k]·P` for every point, all points advancing together through the bits of
/// `k` (most significant first, in non-adjacent form): every step is one
/// affine doubling or addition per point, eight per vector, with the field
/// inversions of a step shared across the points. Entries are `None` where an
/// exceptional case arose (a zero denominator: the multiple passed through the
/// identity, or met ±P), which only a point of small order can cause when
/// `1 < k` is below its group's order; the caller decides those otherwise.
/// `None` for a curve with a ≠ 0 or for k < 2.
pub(crate) fn multiply_each<P, C>(
    _ifma: ifma::Ifma,
    points: &[Affine<P>],
    k: u128,
) -> Option<Vec<Option<Affine<P>>>>
where
    P: SWCurveConfig,
    C: Coordinate<Ark = P::BaseField>,
{
    if !P::COEFF_A.is_zero() || k < 2 {
        return None;
    }
    let field = Field52::new(FqConfig::MODULUS.0);
    let digits = naf(k);
    let mut out = vec![None; points.len()];
    out.par_chunks_mut(2048)
        .zip(points.par_chunks(2048))
        .for_each(|(out, points)| {
            // SAFETY: the `Ifma` token proves the CPU has the instructions.
            unsafe { multiply_chunk::<P, C>(points, &digits, &field, out) }
        });
    Some(out)
}

/// One doubling or addition step of [`multiply_chunk`], over all rows, in
/// three passes (kept as separate functions so that the field arithmetic is
/// inlined into each).
struct Step {
    ax: *mut u64,
    ay: *mut u64,
    bx: *const u64,
    by: *const u64,
    m: usize,
    rows: usize,
    doubling: bool,
    denominators: *mut u64,
    prefix: *mut u64,
}

impl Step {
    /// Denominators (2y, or bx - x) and each lane chain's running products;
    /// a zero denominator marks its point exceptional and is replaced by 1.
    /// Returns the chains' products.
    ///
    /// # Safety
    /// IFMA present; every pointer holds whole columns of `m` entries.
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn denominators<C: Coordinate>(
        &self,
        exceptional: &mut [bool],
        c: &Consts8,
    ) -> C::Vector {
        let m = self.m;
        let mut product = C::one(c);
        for row in 0..self.rows {
            let at = row * LANES;
            let x = C::load(self.ax, m, at);
            let y = C::load(self.ay, m, at);
            let mut d = if self.doubling {
                C::add(&y, &y, c)
            } else {
                C::sub(&C::load(self.bx, m, at), &x, c)
            };
            let zero = C::zero_lanes(&d);
            if zero != 0 {
                d = C::select(zero, &C::one(c), &d);
                for l in 0..LANES {
                    if zero >> l & 1 == 1 {
                        exceptional[at + l] = true;
                    }
                }
            }
            C::store(&d, self.denominators, m, at);
            C::store(&product, self.prefix, m, at);
            product = C::mul(&product, &d, c);
        }
        product
    }

    /// Every denominator's inverse, from the inverse of the chains' products.
    ///
    /// # Safety
    /// As for [`Step::denominators`].
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn inverses<C: Coordinate>(&self, inverse: &C::Vector, c: &Consts8) {
        let m = self.m;
        let mut inverse = *inverse;
        for row in (0..self.rows).rev() {
            let at = row * LANES;
            let d = C::load(self.denominators, m, at);
            let before = C::load(self.prefix, m, at);
            C::store(&C::mul(&inverse, &before, c), self.denominators, m, at);
            inverse = C::mul(&inverse, &d, c);
        }
    }

    /// The new accumulators. Doubling: λ = 3x² / 2y, x3 = λ² - 2x. Addition:
    /// λ = (by - y) / (bx - x), x3 = λ² - x - bx. Both: y3 = λ(x - x3) - y.
    ///
    /// # Safety
    /// As for [`Step::denominators`].
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn results<C: Coordinate>(&self, c: &Consts8) {
        let m = self.m;
        for row in 0..self.rows {
            let at = row * LANES;
            let x = C::load(self.ax, m, at);
            let y = C::load(self.ay, m, at);
            let inverse = C::load(self.denominators, m, at);
            let (numerator, other_x) = if self.doubling {
                let square = C::square(&x, c);
                (C::add(&C::add(&square, &square, c), &square, c), x)
            } else {
                (
                    C::sub(&C::load(self.by, m, at), &y, c),
                    C::load(self.bx, m, at),
                )
            };
            let lambda = C::mul(&numerator, &inverse, c);
            let x3 = C::sub(&C::sub(&C::square(&lambda, c), &x, c), &other_x, c);
            let y3 = C::sub(&C::mul(&lambda, &C::sub(&x, &x3, c), c), &y, c);
            C::store(&x3, self.ax, m, at);
            C::store(&y3, self.ay, m, at);
        }
    }
}

/// [`multiply_each`] for one chunk, column-wise: accumulators and bases as
/// WIDTH columns of `m` (the chunk rounded up to whole vectors).
#[target_feature(enable = "avx512f,avx512ifma")]
fn multiply_chunk<P, C>(
    points: &[Affine<P>],
    digits: &[i8],
    field: &Field52,
    out: &mut [Option<Affine<P>>],
) where
    P: SWCurveConfig,
    C: Coordinate<Ark = P::BaseField>,
{
    let c = Consts8::new(field);
    let (n, w) = (points.len(), C::WIDTH);
    let m = n.next_multiple_of(LANES);
    // The identity has no affine form: a stand-in point runs in its lane
    // (padding lanes too), and its result is not used.
    let stand_in = points
        .iter()
        .find(|p| !p.is_zero())
        .copied()
        .unwrap_or_else(Affine::<P>::generator);
    let column_pair = |values: &mut Vec<u64>, j: usize, point: &Affine<P>, negate: bool| {
        let mut limbs = vec![0u64; 2 * w];
        C::to_52(&point.x, &mut limbs[..w]);
        C::to_52(&point.y, &mut limbs[w..]);
        if negate {
            for part in (w..2 * w).step_by(LIMBS) {
                let y = negate_limbs(&field.p, &limbs[part..part + LIMBS]);
                limbs[part..part + LIMBS].copy_from_slice(&y);
            }
        }
        for (k, limb) in limbs.iter().enumerate() {
            values[k * m + j] = *limb;
        }
    };
    // Columns: x then y, WIDTH each, of m entries.
    let mut base = vec![0u64; 2 * w * m];
    let mut negated = vec![0u64; 2 * w * m];
    for j in 0..m {
        let point = points.get(j).filter(|p| !p.is_zero()).unwrap_or(&stand_in);
        column_pair(&mut base, j, point, false);
        column_pair(&mut negated, j, point, true);
    }
    let mut acc = base.clone();
    let mut exceptional = vec![false; m];
    let mut denominators = vec![0u64; w * m];
    let mut prefix = vec![0u64; w * m];
    let rows = m / LANES;
    // SAFETY (all loads and stores): every array holds whole columns of m
    // entries (x at 0, y at w·m), and row·8 + 8 <= m.
    unsafe {
        let (ax, ay) = (acc.as_mut_ptr(), acc.as_mut_ptr().add(w * m));
        // Every digit after the first (which is 1: the accumulators start as
        // the points): a doubling (0), then an addition of ±P if non-zero.
        let steps = digits[1..]
            .iter()
            .flat_map(|&d| std::iter::once(0i8).chain((d != 0).then_some(d)));
        for digit in steps {
            let doubling = digit == 0;
            let source = if digit < 0 { &negated } else { &base };
            let (bx, by) = (source.as_ptr(), source.as_ptr().add(w * m));
            let step = Step {
                ax,
                ay,
                bx,
                by,
                m,
                rows,
                doubling,
                denominators: denominators.as_mut_ptr(),
                prefix: prefix.as_mut_ptr(),
            };
            let product = step.denominators::<C>(&mut exceptional, &c);
            step.inverses::<C>(&C::invert_lanes(&product, &c), &c);
            step.results::<C>(&c);
        }
    }
    let mut limbs = vec![0u64; 2 * w];
    for (j, out) in out.iter_mut().enumerate() {
        if points[j].is_zero() {
            *out = Some(Affine::identity()); // [k]O = O
        } else if !exceptional[j] {
            for k in 0..2 * w {
                limbs[k] = acc[k * m + j];
            }
            *out = Some(affine_from_52::<P, C>(&limbs));
        }
    }
}
