//! Column sums on AVX-512 IFMA ([`crate::columns`]): the batches that
//! [`crate::columns_affine`] plans, eight lanes at a time in 52-bit limbs,
//! with one field inversion per batch.

use std::arch::x86_64::*;

use ark_bn254::{FqConfig, Fr};
use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ff::MontConfig;

use crate::columns_affine::{AffineBatches, Exceptional, Op};
use crate::curve_ifma::{affine_from_52, Coordinate};
use crate::ifma::{self, Consts8, Field52, LANES};

/// The chunk's points, each `2·WIDTH` limbs (x then y) in one buffer, and
/// the scratch of one batch.
struct Points<C: Coordinate> {
    /// Proof that the CPU has the instructions.
    _ifma: ifma::Ifma,
    buffer: Vec<u64>,
    /// A batch's operands and scratch, in columns.
    columns: Vec<u64>,
    consts: Consts8,
    _coordinate: std::marker::PhantomData<C>,
}

impl<C: Coordinate> Points<C> {
    fn stride() -> usize {
        2 * C::WIDTH
    }

    /// The limb offsets of eight operations' points (`pick` of each), the
    /// lanes past `ops` repeating the first (their results are not stored).
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn offsets(ops: &[Op], pick: impl Fn(&Op) -> u32) -> __m512i {
        let stride = Self::stride() as i64;
        let at: [i64; LANES] =
            std::array::from_fn(|l| pick(ops.get(l).unwrap_or(&ops[0])) as i64 * stride);
        // SAFETY: eight i64 are read from the array.
        unsafe { _mm512_loadu_si512(at.as_ptr().cast()) }
    }

    /// One batch: every operation's result, the inversions shared (a chain
    /// of products per lane, one inversion of the eight chains). The
    /// operands are first copied into columns (limb k of lane j at
    /// `k·m + j`), so that the arithmetic reads memory in order: the points
    /// lie scattered over the tables, and vector gathers straight from them
    /// measured slower than these copies.
    ///
    /// # Safety
    /// IFMA present (the caller holds the token); every index in `ops` is a
    /// point of the buffer, and no destination is another operation's
    /// operand.
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn batch(&mut self, ops: &[Op], doubling: bool) -> Result<(), Exceptional> {
        if ops.is_empty() {
            return Ok(());
        }
        let c = self.consts;
        let (w, stride) = (C::WIDTH, Self::stride());
        let rows = ops.len().div_ceil(LANES);
        let m = rows * LANES;
        let columns = &mut self.columns;
        columns.clear();
        columns.resize(6 * w * m, 0);
        let (ax, rest) = columns.split_at_mut(w * m);
        let (ay, rest) = rest.split_at_mut(w * m);
        let (bx, rest) = rest.split_at_mut(w * m);
        let (by, rest) = rest.split_at_mut(w * m);
        let (dens, prefix) = rest.split_at_mut(w * m);
        let mut negate_a = vec![0u8; rows];
        let mut negate_b = vec![0u8; rows];
        // The padding lanes repeat the first operation (a valid one); their
        // results are not stored.
        for j in 0..m {
            let op = ops.get(j).unwrap_or(&ops[0]);
            let a = &self.buffer[op.a.at as usize * stride..][..stride];
            for k in 0..w {
                ax[k * m + j] = a[k];
                ay[k * m + j] = a[w + k];
            }
            negate_a[j / LANES] |= (op.a.negate as u8) << (j % LANES);
            if !doubling {
                let b = &self.buffer[op.b.at as usize * stride..][..stride];
                for k in 0..w {
                    bx[k * m + j] = b[k];
                    by[k * m + j] = b[w + k];
                }
                negate_b[j / LANES] |= (op.b.negate as u8) << (j % LANES);
            }
        }
        let (ax, ay, bx, by) = (ax.as_mut_ptr(), ay.as_mut_ptr(), bx.as_ptr(), by.as_ptr());
        let (dens, prefix) = (dens.as_mut_ptr(), prefix.as_mut_ptr());
        // SAFETY (loads and stores): every column holds whole rows of m.
        unsafe {
            let zero = C::sub(&C::one(&c), &C::one(&c), &c);
            let mut product = C::one(&c);
            for row in 0..rows {
                let at = row * LANES;
                let d = if doubling {
                    let y = C::load(ay, m, at);
                    C::add(&y, &y, &c)
                } else {
                    C::sub(&C::load(bx, m, at), &C::load(ax, m, at), &c)
                };
                if C::zero_lanes(&d) != 0 {
                    return Err(Exceptional);
                }
                C::store(&d, dens, m, at);
                C::store(&product, prefix, m, at);
                product = C::mul(&product, &d, &c);
            }
            let mut inverse = C::invert_lanes(&product, &c);
            for row in (0..rows).rev() {
                let at = row * LANES;
                let d = C::load(dens, m, at);
                let before = C::load(prefix, m, at);
                C::store(&C::mul(&inverse, &before, &c), dens, m, at);
                inverse = C::mul(&inverse, &d, &c);
            }
            for row in 0..rows {
                let at = row * LANES;
                let x = C::load(ax, m, at);
                let mut y = C::load(ay, m, at);
                if negate_a[row] != 0 {
                    y = C::select(negate_a[row], &C::sub(&zero, &y, &c), &y);
                }
                let inverse = C::load(dens, m, at);
                let (numerator, other_x) = if doubling {
                    let square = C::square(&x, &c);
                    (C::add(&C::add(&square, &square, &c), &square, &c), x)
                } else {
                    let mut b_y = C::load(by, m, at);
                    if negate_b[row] != 0 {
                        b_y = C::select(negate_b[row], &C::sub(&zero, &b_y, &c), &b_y);
                    }
                    (C::sub(&b_y, &y, &c), C::load(bx, m, at))
                };
                let lambda = C::mul(&numerator, &inverse, &c);
                let x3 = C::sub(&C::sub(&C::square(&lambda, &c), &x, &c), &other_x, &c);
                let y3 = C::sub(&C::mul(&lambda, &C::sub(&x, &x3, &c), &c), &y, &c);
                C::store(&x3, ax, m, at);
                C::store(&y3, ay, m, at);
            }
        }
        let columns = &self.columns;
        for (j, op) in ops.iter().enumerate() {
            let dest = &mut self.buffer[op.dest as usize * stride..][..stride];
            for k in 0..w {
                dest[k] = columns[k * m + j];
                dest[w + k] = columns[(w + k) * m + j];
            }
        }
        Ok(())
    }

    /// `dest.x = β·src.x`, `dest.y = src.y` for each pair: φ of each point.
    ///
    /// # Safety
    /// IFMA present; every index is a point of the buffer.
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn endomorphism(&mut self, pairs: &[Op], beta: &C::Ark) {
        let c = self.consts;
        let w = C::WIDTH;
        let mut splat = vec![0u64; w];
        C::to_52(beta, &mut splat);
        let base = self.buffer.as_mut_ptr();
        // SAFETY: as for `batch`; the β limbs are read at offset 0 by every lane.
        unsafe {
            let beta = C::gather(splat.as_ptr(), _mm512_setzero_si512());
            for ops in pairs.chunks(LANES) {
                let live: __mmask8 = if ops.len() >= LANES {
                    0xff
                } else {
                    (1u8 << ops.len()) - 1
                };
                let a = Self::offsets(ops, |op| op.a.at);
                let dest = Self::offsets(ops, |op| op.dest);
                let x = C::mul(&C::gather(base, a), &beta, &c);
                let y = C::gather(base.add(w), a);
                C::scatter(&x, base, dest, live);
                C::scatter(&y, base.add(w), dest, live);
            }
        }
    }
}

impl<P, C> AffineBatches<P> for Points<C>
where
    P: SWCurveConfig,
    C: Coordinate<Ark = P::BaseField>,
{
    fn resize(&mut self, count: usize) {
        self.buffer.resize(count * Self::stride(), 0);
    }

    fn set(&mut self, at: u32, point: &Affine<P>) {
        let w = C::WIDTH;
        let start = at as usize * Self::stride();
        C::to_52(&point.x, &mut self.buffer[start..start + w]);
        C::to_52(&point.y, &mut self.buffer[start + w..start + 2 * w]);
    }

    fn get(&self, at: u32) -> Affine<P> {
        let start = at as usize * Self::stride();
        affine_from_52::<P, C>(&self.buffer[start..start + Self::stride()])
    }

    fn batch(&mut self, ops: &[Op], doubling: bool) -> Result<(), Exceptional> {
        // SAFETY: the token shows the CPU has IFMA; `batch` reaches the
        // buffer through bounds-checked slices and its own columns only.
        unsafe { Points::batch(self, ops, doubling) }
    }

    fn endomorphism(&mut self, pairs: &[Op], beta: &P::BaseField) {
        // The gathers and scatters are not bounds-checked: check here.
        let count = (self.buffer.len() / Self::stride()) as u32;
        assert!(
            pairs.iter().all(|op| op.a.at < count && op.dest < count),
            "a point outside the buffer"
        );
        // SAFETY: IFMA present (the token); every index is a point of the
        // buffer (just checked).
        unsafe { Points::endomorphism(self, pairs, beta) }
    }
}

/// Each column's sum, or `None` where a zero denominator arose (the caller
/// sums the chunk another way).
pub(crate) fn sums<P, C>(
    token: ifma::Ifma,
    columns: &[Vec<(Affine<P>, Fr)>],
) -> Option<Vec<Projective<P>>>
where
    P: SWCurveConfig<ScalarField = Fr> + GLVConfig,
    C: Coordinate<Ark = P::BaseField>,
{
    let field = Field52::new(FqConfig::MODULUS.0);
    let points = Points::<C> {
        _ifma: token,
        buffer: Vec::new(),
        columns: Vec::new(),
        // SAFETY: the token shows the CPU has IFMA.
        consts: unsafe { Consts8::new(&field) },
        _coordinate: std::marker::PhantomData,
    };
    crate::columns_affine::sums(points, columns)
}
