//! Column sums in batch-affine steps ([`crate::columns`]): for a chunk of
//! columns, Σ cⱼ·Pⱼ per column, every group operation affine, with one field
//! inversion shared by each batch of independent operations. This module
//! plans the operations; an [`AffineBatches`] carries them out, eight lanes
//! to an AVX-512 IFMA vector (`columns_ifma`) or one at a time on the scalar
//! path's products (`columns::Scalar`).
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

use std::collections::hash_map::{Entry, HashMap};

use ark_bn254::Fr;
use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AdditiveGroup, AffineRepr, CurveGroup};
use ark_ff::{PrimeField, Zero};

/// NAF width of each GLV half: odd digits up to ±15, eight multiples a table.
const WIDTH: usize = 5;
pub(crate) const MULTIPLES: usize = 1 << (WIDTH - 2);
/// A term's table: the multiples of P, then those of φ(P).
const TABLE: usize = 2 * MULTIPLES;

/// A point of the chunk's buffer, and whether its y is to be negated.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ref {
    pub at: u32,
    pub negate: bool,
}

/// One batch-affine operation: `dest = a + b`, or `dest = 2a` in a doubling
/// batch (`b` unused there).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Op {
    pub a: Ref,
    pub b: Ref,
    pub dest: u32,
}

/// A zero denominator: the chunk is summed another way.
#[derive(Debug)]
pub(crate) struct Exceptional;

/// A buffer of affine points and the batches of operations on them.
pub(crate) trait AffineBatches<P: SWCurveConfig> {
    /// Room for `count` points, numbered from 0.
    fn resize(&mut self, count: usize);

    fn set(&mut self, at: u32, point: &Affine<P>);

    fn get(&self, at: u32) -> Affine<P>;

    /// Every operation's result (an operation may write its own first
    /// operand, but no destination is another operation's operand; every
    /// index is below the buffer's size), or `Exceptional`
    /// where a denominator is zero (the buffer then holds partial results).
    fn batch(&mut self, ops: &[Op], doubling: bool) -> Result<(), Exceptional>;

    /// `dest = φ(a) = (β·a.x, a.y)` for each pair.
    fn endomorphism(&mut self, pairs: &[Op], beta: &P::BaseField);
}

/// A GLV half's non-zero width-5 NAF digits as (bit, digit), the half's sign
/// folded into the digits; `None` for a half of 128 bits or more (BN254's
/// decompositions give halves of about 127).
pub(crate) fn digits(sign: bool, k: Fr) -> Option<Vec<(u8, i8)>> {
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
pub(crate) fn sums<P, B>(
    mut points: B,
    columns: &[Vec<(Affine<P>, Fr)>],
) -> Option<Vec<Projective<P>>>
where
    P: SWCurveConfig<ScalarField = Fr> + GLVConfig,
    B: AffineBatches<P>,
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
    points.resize(scratch + t.max(widest));
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
        points.set((i * TABLE) as u32, point);
    }
    drop(distinct);
    // Every index is below the buffer's size; destinations are fresh.
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
    let offset = P::GENERATOR * Fr::from(0x9e37_79b9_7f4a_7c15u64);
    let offset = offset.into_affine();
    for column in 0..columns.len() {
        points.set((accumulators + column) as u32, &offset);
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
        // Each doubling writes its own accumulator.
        points.batch(&doubling, true).ok()?;
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
            // Destinations are the first operands' own (writable) points or
            // fresh scratch, each written once.
            points.batch(&ops, false).ok()?;
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
                let sum = points.get((accumulators + column) as u32);
                sum.into_group() - removed[starts[column]]
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::G1Affine;
    use ark_ff::UniformRand;
    use rand::SeedableRng;

    /// The cost of a scalar batch-affine doubling in G1 through the
    /// operation lists, on the MULX/ADX products, and of the products
    /// themselves (`cargo test --release -p proofmint-gpu
    /// columns_affine::tests::timing -- --ignored --nocapture`).
    #[cfg(target_arch = "x86_64")]
    #[test]
    #[ignore]
    fn timing() {
        use crate::products::Products;
        let Some(token) = crate::adx::detect() else {
            return;
        };
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let n = 2048;
        let values: Vec<ark_bn254::Fq> = (0..n).map(|_| ark_bn254::Fq::rand(&mut rng)).collect();
        let mut products = values.clone();
        let start = std::time::Instant::now();
        for _ in 0..100 {
            for (a, v) in products.iter_mut().zip(&values) {
                *a = token.mul(a, v);
            }
        }
        let product = start.elapsed().as_nanos() as f64 / (100 * n) as f64;
        std::hint::black_box(products);
        let mut batches = crate::columns::ScalarBatches::new(token);
        AffineBatches::<ark_bn254::g1::Config>::resize(&mut batches, n);
        for at in 0..n as u32 {
            let point = (G1Affine::generator() * Fr::rand(&mut rng)).into_affine();
            batches.set(at, &point);
        }
        let doubling: Vec<Op> = (0..n as u32)
            .map(|at| Op {
                a: Ref { at, negate: false },
                b: Ref { at, negate: false },
                dest: at,
            })
            .collect();
        for _ in 0..3 {
            let start = std::time::Instant::now();
            for _ in 0..100 {
                AffineBatches::<ark_bn254::g1::Config>::batch(&mut batches, &doubling, true)
                    .unwrap();
            }
            let step = start.elapsed().as_nanos() as f64 / (100 * n) as f64;
            println!("a doubling: {step:.1} ns; a product: {product:.1} ns");
        }
    }
}
