//! Column sums on AVX-512 IFMA ([`crate::columns`]): for a chunk of columns,
//! Σ cⱼ·Pⱼ per column, every group operation in batch-affine form, eight
//! lanes at a time, with one field inversion per batch.
//!
//! Each coefficient is split by GLV (c = k₁ + λ·k₂, both halves about 128
//! bits) and each half written in width-5 NAF, so that a term contributes
//! about 43 non-zero digits, each an odd multiple (1 to 15) of P or of
//! φ(P). Each distinct point of the chunk gets a table of its sixteen
//! multiples, made once (one doubling, seven additions, then x·β for φ).
//! Then, from the top bit down, the accumulator of every column that has
//! started (at its own top digit) is doubled, and the digits of that bit are
//! added to it: per column, the accumulator and the bit's table entries are
//! summed as a binary tree, so that one bit costs a handful of batches (the
//! tree's depth), not one batch per digit, whatever the column's length.
//!
//! An affine accumulator cannot be the identity: each starts at a fixed point
//! R, and 2^L·R is subtracted at the end, L the column's number of doublings.
//! A zero denominator (an addition of ±Q to Q, which points of unknown
//! logarithm meet with negligible odds) makes the whole chunk `None`, and the
//! caller sums it another way.

use std::arch::x86_64::*;
use std::collections::hash_map::{Entry, HashMap};

use ark_bn254::{FqConfig, Fr};
use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AdditiveGroup, AffineRepr, CurveGroup};
use ark_ff::{MontConfig, PrimeField, Zero};

use crate::curve_ifma::{affine_from_52, Coordinate};
use crate::ifma::{self, Consts8, Field52, LANES};

/// NAF width of each GLV half: odd digits up to ±15, eight multiples a table.
const WIDTH: usize = 5;
const MULTIPLES: usize = 1 << (WIDTH - 2);
/// A term's table: the multiples of P, then those of φ(P).
const TABLE: usize = 2 * MULTIPLES;

/// A point of the chunk's buffer, and whether its y is to be negated.
#[derive(Clone, Copy, Debug)]
struct Ref {
    at: u32,
    negate: bool,
}

/// One batch-affine operation: `dest = a + b`, or `dest = 2a` in a doubling
/// batch (`b` unused there).
#[derive(Clone, Copy, Debug)]
struct Op {
    a: Ref,
    b: Ref,
    dest: u32,
}

/// A zero denominator: the chunk is summed another way.
struct Exceptional;

/// The chunk's points, each `2·WIDTH` limbs (x then y) in one buffer, and
/// the scratch of one batch.
struct Points<C: Coordinate> {
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

    fn set(&mut self, at: u32, x: &C::Ark, y: &C::Ark) {
        let w = C::WIDTH;
        let start = at as usize * Self::stride();
        C::to_52(x, &mut self.buffer[start..start + w]);
        C::to_52(y, &mut self.buffer[start + w..start + 2 * w]);
    }

    fn get(&self, at: u32) -> &[u64] {
        let start = at as usize * Self::stride();
        &self.buffer[start..start + Self::stride()]
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

/// A GLV half's non-zero width-5 NAF digits as (bit, digit), the half's sign
/// folded into the digits; `None` for a half of 128 bits or more (BN254's
/// decompositions give halves of about 127).
fn digits(sign: bool, k: Fr) -> Option<Vec<(u8, i8)>> {
    let limbs = k.into_bigint().0;
    if limbs[2] != 0 || limbs[3] != 0 || limbs[1] >> 63 != 0 {
        return None;
    }
    let mut k = limbs[0] as u128 | (limbs[1] as u128) << 64;
    let mut out = Vec::new();
    let mut bit = 0u8;
    while k != 0 {
        if k & 1 == 1 {
            let mut d = (k % (1 << WIDTH)) as i8;
            if d >= 1 << (WIDTH - 1) {
                d -= 1 << WIDTH;
            }
            // Below 2^127, k + 15 cannot overflow.
            k = if d < 0 {
                k + d.unsigned_abs() as u128
            } else {
                k - d as u128
            };
            out.push((bit, if sign { d } else { -d }));
        }
        k >>= 1;
        bit += 1;
    }
    Some(out)
}

/// Each column's sum, or `None` where a zero denominator arose (the caller
/// sums the chunk another way). Terms of the identity or a zero coefficient
/// are dropped.
pub(crate) fn sums<P, C>(
    _ifma: ifma::Ifma,
    columns: &[Vec<(Affine<P>, Fr)>],
) -> Option<Vec<Projective<P>>>
where
    P: SWCurveConfig<ScalarField = Fr> + GLVConfig,
    C: Coordinate<Ark = P::BaseField>,
{
    // SAFETY: the token proves the CPU has the instructions.
    unsafe { sums_ifma::<P, C>(columns) }
}

#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn sums_ifma<P, C>(columns: &[Vec<(Affine<P>, Fr)>]) -> Option<Vec<Projective<P>>>
where
    P: SWCurveConfig<ScalarField = Fr> + GLVConfig,
    C: Coordinate<Ark = P::BaseField>,
{
    // Each distinct coefficient's digits, once (a circuit's coefficients
    // repeat: the claim circuit's 1.5 million terms of B have 1,850 values),
    // and each distinct point's table, once (a point is a row of the
    // matrix, which several columns of a chunk share).
    let mut coefficients: HashMap<Fr, u32> = HashMap::new();
    let mut decomposed: Vec<[Vec<(u8, i8)>; 2]> = Vec::new();
    let mut bases: HashMap<Affine<P>, u32> = HashMap::new();
    let mut distinct: Vec<Affine<P>> = Vec::new();
    // (column, point, coefficient), as indices.
    let mut terms: Vec<(u32, u32, u32)> = Vec::new();
    for (column, entries) in columns.iter().enumerate() {
        for &(point, coefficient) in entries {
            if point.is_zero() || coefficient.is_zero() {
                continue;
            }
            let k = match coefficients.entry(coefficient) {
                Entry::Occupied(k) => *k.get(),
                Entry::Vacant(slot) => {
                    let ((s1, k1), (s2, k2)) = P::scalar_decomposition(coefficient);
                    decomposed.push([digits(s1, k1)?, digits(s2, k2)?]);
                    *slot.insert(decomposed.len() as u32 - 1)
                }
            };
            let i = *bases.entry(point).or_insert_with(|| {
                distinct.push(point);
                distinct.len() as u32 - 1
            });
            terms.push((column as u32, i, k));
        }
    }
    drop((coefficients, bases));
    let top_of = |k: u32| {
        decomposed[k as usize]
            .iter()
            .filter_map(|d| d.last().map(|(bit, _)| *bit as usize + 1))
            .max()
            .unwrap_or(0)
    };
    // Each column starts doubling at its own top bit (a column of ±1 needs
    // one step, not 128).
    let mut starts = vec![0usize; columns.len()];
    for &(column, _, k) in &terms {
        starts[column as usize] = starts[column as usize].max(top_of(k));
    }
    let top = starts.iter().copied().max().unwrap_or(0);
    // Events per bit, in column order within a bit (counting sort).
    let mut per_bit = vec![0usize; top + 1];
    for &(_, _, k) in &terms {
        for half in &decomposed[k as usize] {
            for (bit, _) in half {
                per_bit[*bit as usize + 1] += 1;
            }
        }
    }
    let widest = per_bit.iter().copied().max().unwrap_or(0);
    for b in 0..top {
        per_bit[b + 1] += per_bit[b];
    }
    let mut events = vec![
        (
            0u32,
            Ref {
                at: 0,
                negate: false
            }
        );
        per_bit[top]
    ];
    let mut next = per_bit.clone();
    for &(column, i, k) in &terms {
        for (half, digits) in decomposed[k as usize].iter().enumerate() {
            for &(bit, d) in digits {
                let multiple = (d.unsigned_abs() as usize - 1) / 2;
                let at = (i as usize * TABLE + half * MULTIPLES + multiple) as u32;
                events[next[bit as usize]] = (column, Ref { at, negate: d < 0 });
                next[bit as usize] += 1;
            }
        }
    }
    drop(terms);
    // The buffer: the tables, the accumulators, then scratch (a doubled
    // point per base while the tables are made; then a bit's partial sums).
    let t = distinct.len();
    let accumulators = t * TABLE;
    let scratch = accumulators + columns.len();
    let total = scratch + t.max(widest);
    let field = Field52::new(FqConfig::MODULUS.0);
    let mut points = Points::<C> {
        buffer: vec![0u64; total * Points::<C>::stride()],
        columns: Vec::new(),
        consts: Consts8::new(&field),
        _coordinate: std::marker::PhantomData,
    };
    let plain = |at: usize| Ref {
        at: at as u32,
        negate: false,
    };
    let op = |a: usize, b: usize, dest: usize| Op {
        a: plain(a),
        b: plain(b),
        dest: dest as u32,
    };
    for (i, point) in distinct.iter().enumerate() {
        points.set((i * TABLE) as u32, &point.x, &point.y);
    }
    drop(distinct);
    // SAFETY (batches): every index is below `total`; destinations are fresh.
    unsafe {
        let doubled: Vec<Op> = (0..t).map(|i| op(i * TABLE, 0, scratch + i)).collect();
        points.batch(&doubled, true).ok()?;
        for j in 1..MULTIPLES {
            let step: Vec<Op> = (0..t)
                .map(|i| op(i * TABLE + j - 1, scratch + i, i * TABLE + j))
                .collect();
            points.batch(&step, false).ok()?;
        }
        let phi: Vec<Op> = (0..t)
            .flat_map(|i| (0..MULTIPLES).map(move |j| (i, j)))
            .map(|(i, j)| op(i * TABLE + j, 0, i * TABLE + MULTIPLES + j))
            .collect();
        points.endomorphism(&phi, &P::ENDO_COEFFS[0]);
    }
    let offset = P::GENERATOR * Fr::from(0x9e37_79b9_7f4a_7c15u64);
    let offset = offset.into_affine();
    for column in 0..columns.len() {
        points.set((accumulators + column) as u32, &offset.x, &offset.y);
    }
    // The columns in order of their start, latest first: at each bit, those
    // started are a prefix.
    let mut by_start: Vec<usize> = (0..columns.len()).filter(|&c| starts[c] > 0).collect();
    by_start.sort_by_key(|&c| std::cmp::Reverse(starts[c]));
    let mut doubling: Vec<Op> = Vec::new();
    let mut items: Vec<Ref> = Vec::new();
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut next_items: Vec<Ref> = Vec::new();
    let mut next_groups: Vec<(usize, usize)> = Vec::new();
    let mut ops: Vec<Op> = Vec::new();
    let mut started = 0;
    for bit in (0..top).rev() {
        while started < by_start.len() && starts[by_start[started]] > bit {
            let c = accumulators + by_start[started];
            doubling.push(op(c, 0, c));
            started += 1;
        }
        // SAFETY: as above; each doubling writes its own accumulator.
        unsafe { points.batch(&doubling, true).ok()? };
        // The bit's groups: a column's accumulator, then its digits' points.
        items.clear();
        groups.clear();
        let bit_events = &events[per_bit[bit]..per_bit[bit + 1]];
        let mut i = 0;
        while i < bit_events.len() {
            let column = bit_events[i].0;
            let start = items.len();
            items.push(plain(accumulators + column as usize));
            while i < bit_events.len() && bit_events[i].0 == column {
                items.push(bit_events[i].1);
                i += 1;
            }
            groups.push((start, items.len() - start));
        }
        // Pairwise sums until each group is one point: its accumulator (the
        // first item of each group stays first, and sums into itself).
        let mut free = scratch;
        while groups.iter().any(|&(_, len)| len > 1) {
            ops.clear();
            next_items.clear();
            next_groups.clear();
            for &(start, len) in &groups {
                let group = &items[start..start + len];
                let begin = next_items.len();
                for pair in group.chunks(2) {
                    match *pair {
                        [a, b] => {
                            let dest = if a.at as usize >= accumulators && !a.negate {
                                a.at
                            } else {
                                free += 1;
                                (free - 1) as u32
                            };
                            ops.push(Op { a, b, dest });
                            next_items.push(Ref {
                                at: dest,
                                negate: false,
                            });
                        }
                        [a] => next_items.push(a),
                        _ => unreachable!("chunks of two"),
                    }
                }
                next_groups.push((begin, next_items.len() - begin));
            }
            // SAFETY: destinations are the first operands' own (writable)
            // points or fresh scratch, each written once.
            unsafe { points.batch(&ops, false).ok()? };
            std::mem::swap(&mut items, &mut next_items);
            std::mem::swap(&mut groups, &mut next_groups);
        }
    }
    // 2^j·R for every start j.
    let mut removed = Vec::with_capacity(top + 1);
    let mut multiple = offset.into_group();
    for _ in 0..=top {
        removed.push(multiple);
        multiple.double_in_place();
    }
    Some(
        (0..columns.len())
            .map(|column| {
                if starts[column] == 0 {
                    return Projective::<P>::zero();
                }
                let sum = affine_from_52::<P, C>(points.get((accumulators + column) as u32));
                sum.into_group() - removed[starts[column]]
            })
            .collect(),
    )
}
