//! The BN254 G1 bucket MSM of [`crate::msm`] with its bucket accumulation on
//! AVX-512 IFMA: the same signed digits, windows and batch-affine additions,
//! with the batch's field arithmetic done eight additions at a time
//! ([`crate::ifma`]). Bucket reduction and the combination of windows stay in
//! arkworks' projective arithmetic.
//!
//! A batch is kept column-wise (limb k of every pending addition's coordinate
//! in one array), so that eight consecutive additions load as one vector per
//! limb. The batch inversion runs as eight interleaved chains, one per lane,
//! whose eight products share a single field inversion.

use ark_bn254::{Fq, FqConfig, Fr, G1Affine, G1Projective};
use ark_ec::AffineRepr;
use ark_ff::{AdditiveGroup, BigInt, Field, MontConfig, Zero};
use rayon::prelude::*;
use std::sync::LazyLock;

use crate::ifma::{self, Consts8, Fe8, Field52, LANES, LIMBS};
use crate::msm::{horner, prefetch, signed_digits, weighted_sum, BATCH};

/// How many points ahead a coming point's bucket is prefetched.
const PREFETCH_AHEAD: usize = 64;

/// A point in IFMA form: x limbs then y limbs.
type Point52 = [u64; 2 * LIMBS];

/// Columns of a batch: px, py, qx, qy, each five limbs.
const COLUMNS: usize = 4 * LIMBS;
const PX: usize = 0;
const PY: usize = LIMBS;
const QX: usize = 2 * LIMBS;
const QY: usize = 3 * LIMBS;

/// `Σ scalars[i] · bases[i]` with window size `c`; `None` when the CPU lacks
/// AVX-512 IFMA (the caller then takes the portable path).
pub(crate) fn msm(bases: &[G1Affine], scalars: &[Fr], c: usize) -> Option<G1Projective> {
    if !ifma::available() {
        return None;
    }
    let field = Field52::new(FqConfig::MODULUS.0);
    let n = bases.len();
    let points = to_ifma_form(bases, &field);
    let digits = signed_digits(scalars, c);
    let windows = digits.len() / n;
    let sums: Vec<G1Projective> = (0..windows)
        .into_par_iter()
        .map(|w| {
            // SAFETY: `ifma::available()` was checked above.
            unsafe { window_sum(bases, &points, &digits[w * n..(w + 1) * n], c, &field) }
        })
        .collect();
    Some(horner(&sums, c))
}

/// arkworks' field element (x·2^256 in its limbs) to this form (x·2^260), scalar.
fn fq_to_52(x: &Fq) -> [u64; LIMBS] {
    // The element 16x has raw limbs 16x·2^256 = x·2^260.
    let sixteen = x.double().double().double().double();
    ifma::to_52(sixteen.0 .0)
}

/// This form back to arkworks, scalar: limbs V = x·2^260 read as arkworks' raw
/// limbs are the element 16x.
fn fq_from_52(v: &[u64; LIMBS]) -> Fq {
    static INVERSE_16: LazyLock<Fq> =
        LazyLock::new(|| Fq::from(16u64).inverse().expect("16 is invertible"));
    Fq::new_unchecked(BigInt(ifma::to_64(*v))) * *INVERSE_16
}

fn affine_from_52(p: &Point52) -> G1Affine {
    let x: [u64; LIMBS] = p[..LIMBS].try_into().expect("five limbs");
    let y: [u64; LIMBS] = p[LIMBS..].try_into().expect("five limbs");
    G1Affine::new_unchecked(fq_from_52(&x), fq_from_52(&y))
}

/// Every base in IFMA form, eight at a time (the point at infinity as zeros; the
/// window loop skips it by its flag).
fn to_ifma_form(bases: &[G1Affine], field: &Field52) -> Vec<Point52> {
    let mut points = vec![[0u64; 2 * LIMBS]; bases.len()];
    points
        .par_chunks_mut(LANES * 256)
        .zip(bases.par_chunks(LANES * 256))
        .for_each(|(out, bases)| {
            // SAFETY: only reached after `ifma::available()` in `msm`.
            unsafe { convert_chunk(out, bases, field) }
        });
    points
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn convert_chunk(out: &mut [Point52], bases: &[G1Affine], field: &Field52) {
    let c = Consts8::new(field);
    for (out, bases) in out.chunks_mut(LANES).zip(bases.chunks(LANES)) {
        let mut xs = [[0u64; LIMBS]; LANES];
        let mut ys = [[0u64; LIMBS]; LANES];
        for (i, base) in bases.iter().enumerate() {
            xs[i] = ifma::to_52(base.x.0 .0);
            ys[i] = ifma::to_52(base.y.0 .0);
        }
        let xs = ifma::from_ark(&Fe8::from_lanes(&xs), &c).to_lanes();
        let ys = ifma::from_ark(&Fe8::from_lanes(&ys), &c).to_lanes();
        for (i, point) in out.iter_mut().enumerate() {
            point[..LIMBS].copy_from_slice(&xs[i]);
            point[LIMBS..].copy_from_slice(&ys[i]);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Empty,
    Full,
    /// Full, with an addition in the current batch: a second one must wait,
    /// since the batch reads the bucket's value once.
    Busy,
}

struct Buckets<'a> {
    field: &'a Field52,
    c: Consts8,
    sums: Vec<Point52>,
    state: Vec<State>,
    /// The batch: bucket of each pending addition, and its operands column-wise
    /// (`columns[(coordinate * LIMBS + k) * BATCH + j]`).
    len: usize,
    bucket: Vec<u32>,
    columns: Vec<u64>,
    denominators: Vec<u64>,
    prefix: Vec<u64>,
    waiting: Vec<(u32, Point52)>,
    /// Projective spill-over for buckets too hot to batch, as in `crate::msm`.
    spill: Vec<(usize, G1Projective)>,
}

impl<'a> Buckets<'a> {
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn new(count: usize, field: &'a Field52) -> Self {
        Self {
            field,
            c: Consts8::new(field),
            sums: vec![[0; 2 * LIMBS]; count],
            state: vec![State::Empty; count],
            len: 0,
            bucket: vec![0; BATCH],
            columns: vec![0; COLUMNS * BATCH],
            denominators: vec![0; LIMBS * BATCH],
            prefix: vec![0; LIMBS * BATCH],
            waiting: Vec::new(),
            spill: Vec::new(),
        }
    }

    /// `sums[bucket] += q`, now or in a later batch.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn add(&mut self, bucket: usize, q: &Point52) {
        match self.state[bucket] {
            State::Busy => self.waiting.push((bucket as u32, *q)),
            State::Empty => {
                self.sums[bucket] = *q;
                self.state[bucket] = State::Full;
            }
            State::Full => {
                let p = &self.sums[bucket];
                if p[..LIMBS] == q[..LIMBS] {
                    // Same x (elements are fully reduced, so equal limbs): a
                    // doubling or a cancellation, rare enough to do in arkworks.
                    if p[LIMBS..] == q[LIMBS..] {
                        let doubled: G1Affine = (affine_from_52(p).into_group().double()).into();
                        self.sums[bucket] = to_52_point(&doubled);
                    } else {
                        self.state[bucket] = State::Empty;
                    }
                    return;
                }
                let j = self.len;
                for k in 0..2 * LIMBS {
                    self.columns[k * BATCH + j] = p[k];
                    self.columns[(QX + k) * BATCH + j] = q[k];
                }
                self.bucket[j] = bucket as u32;
                self.state[bucket] = State::Busy;
                self.len += 1;
                if self.len == BATCH {
                    self.flush();
                }
            }
        }
    }

    /// Applies every batched addition with one inversion.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn flush(&mut self) {
        if self.len == 0 {
            return;
        }
        let c = self.c;
        let rows = self.len.div_ceil(LANES);
        // Padding lanes add (0, 0) to (1, 0): a non-zero denominator, results unused.
        for j in self.len..rows * LANES {
            for k in 0..COLUMNS {
                self.columns[k * BATCH + j] = 0;
            }
            for k in 0..LIMBS {
                self.columns[(QX + k) * BATCH + j] = self.field.one[k];
            }
        }
        let columns = self.columns.as_ptr();
        let denominators = self.denominators.as_mut_ptr();
        let prefix = self.prefix.as_mut_ptr();
        // SAFETY (all loads and stores below): every array holds LIMBS (or
        // COLUMNS) columns of BATCH entries, and `at + LANES <= rows * LANES <= BATCH`.
        unsafe {
            // Denominators qx - px (never zero: equal x never enters a batch),
            // and the running products of each lane's chain.
            let mut product = c.one;
            for row in 0..rows {
                let at = row * LANES;
                let px = Fe8::load(columns.add(PX * BATCH), BATCH, at);
                let qx = Fe8::load(columns.add(QX * BATCH), BATCH, at);
                let d = ifma::sub(&qx, &px, &c);
                d.store(denominators, BATCH, at);
                product.store(prefix, BATCH, at);
                product = ifma::mul(&product, &d, &c);
            }
            // Walk back: the inverse of the running product gives each inverse.
            let mut inverse = invert_lanes(&product, &c);
            for row in (0..rows).rev() {
                let at = row * LANES;
                let d = Fe8::load(denominators, BATCH, at);
                let before = Fe8::load(prefix, BATCH, at);
                ifma::mul(&inverse, &before, &c).store(denominators, BATCH, at);
                inverse = ifma::mul(&inverse, &d, &c);
            }
            for row in 0..rows {
                let at = row * LANES;
                let px = Fe8::load(columns.add(PX * BATCH), BATCH, at);
                let py = Fe8::load(columns.add(PY * BATCH), BATCH, at);
                let qx = Fe8::load(columns.add(QX * BATCH), BATCH, at);
                let qy = Fe8::load(columns.add(QY * BATCH), BATCH, at);
                let inverse = Fe8::load(denominators, BATCH, at);
                // λ = (qy - py) / (qx - px); x3 = λ² - px - qx; y3 = λ(px - x3) - py.
                let lambda = ifma::mul(&ifma::sub(&qy, &py, &c), &inverse, &c);
                let x3 = ifma::sub(&ifma::sub(&ifma::square(&lambda, &c), &px, &c), &qx, &c);
                let y3 = ifma::sub(&ifma::mul(&lambda, &ifma::sub(&px, &x3, &c), &c), &py, &c);
                let xs = x3.to_lanes();
                let ys = y3.to_lanes();
                for lane in 0..LANES.min(self.len - at) {
                    let bucket = self.bucket[at + lane] as usize;
                    let sum = &mut self.sums[bucket];
                    sum[..LIMBS].copy_from_slice(&xs[lane]);
                    sum[LIMBS..].copy_from_slice(&ys[lane]);
                    self.state[bucket] = State::Full;
                }
            }
        }
        self.len = 0;
    }

    /// Applies everything, including additions that had to wait (as in `crate::msm`).
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn finish(&mut self) {
        self.flush();
        while !self.waiting.is_empty() {
            let before = self.waiting.len();
            for (bucket, point) in std::mem::take(&mut self.waiting) {
                self.add(bucket as usize, &point);
            }
            self.flush();
            if self.waiting.len() * 2 > before {
                let mut spill = vec![G1Projective::zero(); self.sums.len()];
                for (bucket, point) in self.waiting.drain(..) {
                    spill[bucket as usize] += affine_from_52(&point);
                }
                self.spill = spill
                    .into_iter()
                    .enumerate()
                    .filter(|(_, p)| !p.is_zero())
                    .collect();
            }
        }
    }

    /// The buckets in arkworks' form, for the reduction.
    fn to_affine(&self) -> Vec<G1Affine> {
        self.sums
            .iter()
            .zip(&self.state)
            .map(|(p, state)| match state {
                State::Empty => G1Affine::identity(),
                _ => affine_from_52(p),
            })
            .collect()
    }
}

fn to_52_point(p: &G1Affine) -> Point52 {
    let mut out = [0u64; 2 * LIMBS];
    out[..LIMBS].copy_from_slice(&fq_to_52(&p.x));
    out[LIMBS..].copy_from_slice(&fq_to_52(&p.y));
    out
}

/// Inverts each lane (none is zero) with one arkworks inversion for all eight.
#[target_feature(enable = "avx512f,avx512ifma")]
fn invert_lanes(v: &Fe8, c: &Consts8) -> Fe8 {
    let lanes = ifma::to_ark(v, c).to_lanes();
    let mut values: [Fq; LANES] =
        std::array::from_fn(|i| Fq::new_unchecked(BigInt(ifma::to_64(lanes[i]))));
    ark_ff::batch_inversion(&mut values);
    let raw: [[u64; LIMBS]; LANES] = std::array::from_fn(|i| ifma::to_52(values[i].0 .0));
    ifma::from_ark(&Fe8::from_lanes(&raw), c)
}

/// Σ over points of digit · point for one window.
#[target_feature(enable = "avx512f,avx512ifma")]
fn window_sum(
    bases: &[G1Affine],
    points: &[Point52],
    digits: &[i32],
    c: usize,
    field: &Field52,
) -> G1Projective {
    let mut buckets = Buckets::new(1 << (c - 1), field);
    for (i, ((base, point), &digit)) in bases.iter().zip(points).zip(digits).enumerate() {
        // Buckets are hit at random (a miss to L3 each): fetch a coming one's now.
        if let Some(&ahead) = digits.get(i + PREFETCH_AHEAD) {
            if ahead != 0 {
                let bucket = ahead.unsigned_abs() as usize - 1;
                prefetch(&buckets.sums[bucket][0]);
                prefetch(&buckets.sums[bucket][2 * LIMBS - 1]);
                prefetch(&buckets.state[bucket]);
            }
        }
        if digit == 0 || base.is_zero() {
            continue;
        }
        let bucket = digit.unsigned_abs() as usize - 1;
        if digit < 0 {
            // -P = (x, p - y); y is never zero on BN254's G1 (odd order).
            let mut negated = *point;
            let y: [u64; LIMBS] = point[LIMBS..].try_into().expect("five limbs");
            negated[LIMBS..].copy_from_slice(&ifma::sub_limbs(&field.p, &y));
            buckets.add(bucket, &negated);
        } else {
            buckets.add(bucket, point);
        }
    }
    buckets.finish();
    weighted_sum(&buckets.to_affine(), &buckets.spill)
}
