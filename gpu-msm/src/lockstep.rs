//! Many points times one multiplier on the scalar path: a contribution
//! divides every C and H point of a key by its secret ([`crate::scale`]), and
//! the G2 subgroup check needs \[x\]P for every G2 point of a key
//! ([`crate::subgroup`]). The digits are the multiplier's, not the point's, so
//! every point takes the same steps ([`Schedule`]) and a chunk of points
//! advances through them together: each step is one affine doubling, or one
//! addition of a table entry, for every point of the chunk, their
//! denominators inverted together (Montgomery's trick: three products an
//! element and one inversion a step).
//!
//! The coordinates sit in arrays and a step is a loop over them. The column
//! sums' planner (`columns_affine`), which these multiplications went
//! through before, needs lists of operations for columns of different
//! shapes; building them and following their indices cost it about a
//! quarter of a step. Between steps the values stay lazily reduced where the
//! arithmetic allows it (below 2p on MULX/ADX: `Products::mul_lazy` and the
//! like), and are made canonical once, at the end.
//!
//! A zero denominator (an addition of ±Q to Q, or the doubling of a point of
//! order 2) makes the whole chunk `None`, and the caller decides it another
//! way. For a point of the prime-order subgroup, that needs a partial
//! multiple equal to ± a table entry, which for a secret multiplier has
//! negligible odds; points of small order (a subgroup check's suspects) can
//! meet one.

use std::cmp::Reverse;

use ark_bn254::Fr;
use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ec::short_weierstrass::{Affine, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{Field, Zero};

use crate::columns_affine::{digits, MULTIPLES};
use crate::products::{Generic, Products};

/// Non-adjacent form of `k`, most significant digit first (digits -1, 0, 1;
/// no two adjacent non-zero), so about a third of the steps are additions.
pub(crate) fn naf(mut k: u128) -> Vec<i8> {
    let mut digits = Vec::new();
    while k != 0 {
        let digit = if k & 1 == 1 {
            let d = 2 - (k % 4) as i8; // 1 if k = 1 mod 4, -1 if k = 3 mod 4
            if d == 1 {
                k -= 1;
            } else {
                k += 1;
            }
            d
        } else {
            0
        };
        digits.push(digit);
        k >>= 1;
    }
    digits.reverse();
    digits
}

/// A table entry: the odd multiple `2·index + 1` of the point, or, from
/// `index = multiples` on, of φ(point); negated or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    index: usize,
    negate: bool,
}

/// One step of every point of a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Double,
    Add(Entry),
    /// A doubling, then the entry's addition, in two batches that need 11
    /// products where the two steps need 13 ([`double_add`]).
    DoubleAdd(Entry),
}

/// Appends an addition, merged with the doubling before it where there is one.
fn push_add(steps: &mut Vec<Step>, entry: Entry) {
    if steps.last() == Some(&Step::Double) {
        steps.pop();
        steps.push(Step::DoubleAdd(entry));
    } else {
        steps.push(Step::Add(entry));
    }
}

/// The steps of one multiplier, the same for every point: start at a table
/// entry, then double and add table entries.
#[derive(Clone, Debug)]
pub(crate) struct Schedule<F> {
    /// Odd multiples in a point's table (1: the point alone).
    multiples: usize,
    /// β of the endomorphism φ(x, y) = (β·x, y), where the table has φ's
    /// entries too.
    beta: Option<F>,
    start: Entry,
    steps: Vec<Step>,
}

impl<F: Field> Schedule<F> {
    /// \[k\]P by `k`'s non-adjacent form over P alone: no endomorphism, so
    /// the multiple is exact for points outside the prime-order subgroup too
    /// (a subgroup check's). `None` for `k < 2`.
    pub(crate) fn naf(k: u128) -> Option<Self> {
        if k < 2 {
            return None;
        }
        let digits = naf(k);
        let mut steps = Vec::new();
        // The top digit is 1: the start.
        for &digit in &digits[1..] {
            steps.push(Step::Double);
            if digit != 0 {
                let entry = Entry {
                    index: 0,
                    negate: digit < 0,
                };
                push_add(&mut steps, entry);
            }
        }
        Some(Self {
            multiples: 1,
            beta: None,
            start: Entry {
                index: 0,
                negate: false,
            },
            steps,
        })
    }

    /// \[k\]P = \[k₁\]P + \[k₂\]φ(P) (GLV, both halves about 127 bits), each
    /// half in width-5 NAF over the odd multiples of P or of φ(P) up to 15:
    /// about 127 doublings and 43 additions, after the table's one doubling
    /// and seven additions. Exact in the prime-order subgroup only. `None`
    /// for `k = 0` or halves of 128 bits or more (BN254's decompositions
    /// give about 127).
    pub(crate) fn glv<P>(k: Fr) -> Option<Self>
    where
        P: GLVConfig<BaseField = F, ScalarField = Fr>,
    {
        let ((s1, k1), (s2, k2)) = P::scalar_decomposition(k);
        let halves = [digits(s1, k1)?, digits(s2, k2)?];
        let mut events: Vec<(u8, Entry)> = halves
            .iter()
            .enumerate()
            .flat_map(|(half, digits)| {
                digits.iter().map(move |&(bit, d)| {
                    let entry = Entry {
                        index: half * MULTIPLES + (d.unsigned_abs() as usize - 1) / 2,
                        negate: d < 0,
                    };
                    (bit, entry)
                })
            })
            .collect();
        events.sort_by_key(|&(bit, _)| Reverse(bit));
        let (&(top, start), rest) = events.split_first()?;
        let mut steps = Vec::new();
        let mut bit = top;
        for &(at, entry) in rest {
            while bit > at {
                steps.push(Step::Double);
                bit -= 1;
            }
            push_add(&mut steps, entry);
        }
        steps.extend((0..bit).map(|_| Step::Double));
        Some(Self {
            multiples: MULTIPLES,
            beta: Some(P::ENDO_COEFFS[0]),
            start,
            steps,
        })
    }

    /// The batches a point takes part in: the table's, then the schedule's.
    #[cfg(test)]
    fn batches(&self) -> usize {
        let merged = self
            .steps
            .iter()
            .filter(|s| matches!(s, Step::DoubleAdd(_)))
            .count();
        self.multiples + self.steps.len() + merged
    }
}

/// The second operand of an addition: a table entry's coordinates for every
/// point, and whether its y's are to be negated.
struct Operand<'a, F> {
    xs: &'a [F],
    ys: &'a [F],
    negate: bool,
}

/// The denominators of a step and the inversion's scratch, and the slopes
/// and middle x's of [`double_add`].
struct Work<F> {
    denominators: Vec<F>,
    prefix: Vec<F>,
    slopes: Vec<F>,
    middles: Vec<F>,
}

impl<F: Field> Work<F> {
    /// Each `bx − x` in the denominators, inverted; `None` where one is zero.
    fn invert_differences<A: Products<F>>(&mut self, f: A, xs: &[F], bx: &[F]) -> Option<()> {
        for ((d, x), b) in self.denominators.iter_mut().zip(xs).zip(bx) {
            *d = f.sub_lazy(b, x);
        }
        f.invert_all_lazy(&mut self.denominators, &mut self.prefix)
            .then_some(())
    }
}

/// Every point times the schedule's multiplier, in affine form, the identity
/// staying the identity; `None` where a zero denominator arose.
pub(crate) fn multiply_each<P, A>(
    f: A,
    points: &[Affine<P>],
    schedule: &Schedule<P::BaseField>,
) -> Option<Vec<Affine<P>>>
where
    P: SWCurveConfig,
    A: Products<P::BaseField>,
{
    let live: Vec<usize> = (0..points.len())
        .filter(|&i| !points[i].is_zero())
        .collect();
    let n = live.len();
    let m = schedule.multiples;
    let zero = P::BaseField::zero();
    // The table, entry by entry: xs[e·n + j] is the x of entry e of live
    // point j.
    let mut xs = vec![zero; m * n];
    let mut ys = vec![zero; m * n];
    for (j, &i) in live.iter().enumerate() {
        xs[j] = points[i].x;
        ys[j] = points[i].y;
    }
    let mut work = Work {
        denominators: vec![zero; n],
        prefix: Vec::with_capacity(n),
        slopes: vec![zero; n],
        middles: vec![zero; n],
    };
    let (mut ax, mut ay) = (xs[..n].to_vec(), ys[..n].to_vec());
    if m > 1 {
        // 2P in the accumulators, then each odd multiple from the one before.
        double::<P, A>(f, (&mut ax, &mut ay), &mut work)?;
        for e in 1..m {
            let (done, rest) = xs.split_at_mut(e * n);
            let (done_y, rest_y) = ys.split_at_mut(e * n);
            let (x, y) = (&mut rest[..n], &mut rest_y[..n]);
            x.copy_from_slice(&done[(e - 1) * n..]);
            y.copy_from_slice(&done_y[(e - 1) * n..]);
            let doubled = Operand {
                xs: &ax,
                ys: &ay,
                negate: false,
            };
            add(f, (x, y), doubled, &mut work)?;
        }
    }
    let phi: Vec<P::BaseField> = match schedule.beta {
        Some(beta) => xs.iter().map(|x| f.mul_lazy(x, &beta)).collect(),
        None => Vec::new(),
    };
    let x_of = |index: usize| match index.checked_sub(m) {
        None => &xs[index * n..(index + 1) * n],
        Some(index) => &phi[index * n..(index + 1) * n],
    };
    let y_of = |index: usize| &ys[(index % m) * n..(index % m + 1) * n];
    let start = schedule.start;
    ax.copy_from_slice(x_of(start.index));
    for (a, y) in ay.iter_mut().zip(y_of(start.index)) {
        *a = if start.negate {
            f.sub_lazy(&zero, y)
        } else {
            *y
        };
    }
    let operand = |e: Entry| Operand {
        xs: x_of(e.index),
        ys: y_of(e.index),
        negate: e.negate,
    };
    for step in &schedule.steps {
        let accumulators = (&mut ax[..], &mut ay[..]);
        match *step {
            Step::Double => double::<P, A>(f, accumulators, &mut work)?,
            Step::Add(e) => add(f, accumulators, operand(e), &mut work)?,
            Step::DoubleAdd(e) => double_add(f, accumulators, operand(e), &mut work)?,
        }
    }
    let mut out = vec![Affine::<P>::identity(); points.len()];
    for ((&i, mut x), mut y) in live.iter().zip(ax).zip(ay) {
        f.normalize(&mut x);
        f.normalize(&mut y);
        out[i] = Affine::new_unchecked(x, y);
    }
    Some(out)
}

/// (x, y) ← 2·(x, y) for every point: λ = (3x² + a)/2y, x₃ = λ² − 2x,
/// y₃ = λ(x − x₃) − y.
fn double<P: SWCurveConfig, A: Products<P::BaseField>>(
    f: A,
    (xs, ys): (&mut [P::BaseField], &mut [P::BaseField]),
    work: &mut Work<P::BaseField>,
) -> Option<()> {
    let denominators = &mut work.denominators;
    for (d, y) in denominators.iter_mut().zip(ys.iter()) {
        *d = f.add_lazy(y, y);
    }
    if !f.invert_all_lazy(denominators, &mut work.prefix) {
        return None;
    }
    let a = P::COEFF_A;
    for ((x, y), inverse) in xs.iter_mut().zip(ys.iter_mut()).zip(denominators.iter()) {
        let square = f.square_lazy(x);
        let mut numerator = f.add_lazy(&f.add_lazy(&square, &square), &square);
        if !a.is_zero() {
            numerator = f.add_lazy(&numerator, &a);
        }
        let lambda = f.mul_lazy(&numerator, inverse);
        let x3 = f.sub_lazy(&f.sub_lazy(&f.square_lazy(&lambda), x), x);
        *y = f.sub_lazy(&f.mul_lazy(&lambda, &f.sub_lazy(x, &x3)), y);
        *x = x3;
    }
    Some(())
}

/// The negated slope of (x, y) + (bx, ±by), s = −λ = (y ∓ by)/(bx − x)
/// (`inverse` = 1/(bx − x)), and the sum's x, x₃ = λ² − x − bx.
#[inline(always)]
fn negated_slope_and_x<F: Field, A: Products<F>>(
    f: A,
    (x, y): (&F, &F),
    (bx, by): (&F, &F),
    negate: bool,
    inverse: &F,
) -> (F, F) {
    let rise = if negate {
        f.add_lazy(y, by)
    } else {
        f.sub_lazy(y, by)
    };
    let s = f.mul_lazy(&rise, inverse);
    (s, f.sub_lazy(&f.sub_lazy(&f.square_lazy(&s), x), bx))
}

/// (x, y) ← (x, y) + (bx, ±by) for every point: with s = −λ
/// ([`negated_slope_and_x`]), y₃ = λ(x − x₃) − y = s(x₃ − x) − y.
fn add<F: Field, A: Products<F>>(
    f: A,
    (xs, ys): (&mut [F], &mut [F]),
    b: Operand<F>,
    work: &mut Work<F>,
) -> Option<()> {
    work.invert_differences(f, xs, b.xs)?;
    let points = xs.iter_mut().zip(ys.iter_mut());
    let others = b.xs.iter().zip(b.ys).zip(work.denominators.iter());
    for ((x, y), (other, inverse)) in points.zip(others) {
        let (s, x3) = negated_slope_and_x(f, (x, y), other, b.negate, inverse);
        *y = f.sub_lazy(&f.mul_lazy(&s, &f.sub_lazy(&x3, x)), y);
        *x = x3;
    }
    Some(())
}

/// (x, y) ← 2·(x, y) + (bx, ±by) for every point, as the sum of
/// (x, y) + (bx, ±by) and (x, y), without the middle sum's y (Eisenträger,
/// Lauter and Montgomery): with s the negated slope of the first sum and x₃
/// its x ([`negated_slope_and_x`]), the second sum's slope is
/// λ = (y₃ − y)/(x₃ − x) = s − 2y/(x₃ − x); then x₄ = λ² − x − x₃ and
/// y₄ = λ(x − x₄) − y. Five products and six, against seven for the
/// doubling and six for the addition. A zero denominator: the point is
/// ±(bx, by) (first batch), or the middle sum is ±(x, y), (bx, ±by) being
/// the identity or −2·(x, y) (second).
fn double_add<F: Field, A: Products<F>>(
    f: A,
    (xs, ys): (&mut [F], &mut [F]),
    b: Operand<F>,
    work: &mut Work<F>,
) -> Option<()> {
    work.invert_differences(f, xs, b.xs)?;
    let Work {
        denominators,
        prefix,
        slopes,
        middles,
    } = work;
    let firsts = slopes.iter_mut().zip(middles.iter_mut());
    let points = xs.iter().zip(ys.iter());
    let others = b.xs.iter().zip(b.ys).zip(denominators.iter_mut());
    for (((s, middle), (x, y)), (other, d)) in firsts.zip(points).zip(others) {
        (*s, *middle) = negated_slope_and_x(f, (x, y), other, b.negate, d);
        *d = f.sub_lazy(middle, x);
    }
    if !f.invert_all_lazy(denominators, prefix) {
        return None;
    }
    let points = xs.iter_mut().zip(ys.iter_mut());
    let firsts = slopes.iter().zip(middles.iter()).zip(denominators.iter());
    for ((x, y), ((s, middle), inverse)) in points.zip(firsts) {
        let lambda = f.sub_lazy(s, &f.mul_lazy(&f.add_lazy(y, y), inverse));
        let x4 = f.sub_lazy(&f.sub_lazy(&f.square_lazy(&lambda), x), middle);
        *y = f.sub_lazy(&f.mul_lazy(&lambda, &f.sub_lazy(x, &x4)), y);
        *x = x4;
    }
    Some(())
}

/// [`multiply_each`] on the scalar arithmetic `scalar`.
#[cfg(target_arch = "x86_64")]
pub(crate) fn multiply_each_on<P>(
    scalar: crate::Scalar,
    points: &[Affine<P>],
    schedule: &Schedule<P::BaseField>,
) -> Option<Vec<Affine<P>>>
where
    P: SWCurveConfig,
    crate::adx::Adx: Products<P::BaseField>,
{
    match scalar {
        crate::Scalar::Adx(token) => multiply_each(token, points, schedule),
        crate::Scalar::Generic => multiply_each(Generic, points, schedule),
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn multiply_each_on<P: SWCurveConfig>(
    _: crate::Scalar,
    points: &[Affine<P>],
    schedule: &Schedule<P::BaseField>,
) -> Option<Vec<Affine<P>>> {
    multiply_each(Generic, points, schedule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{G1Affine, G2Affine};
    use ark_ec::CurveGroup;
    use ark_ff::UniformRand;
    use rand::SeedableRng;

    fn g1_points(rng: &mut rand_chacha::ChaCha20Rng, n: usize) -> Vec<G1Affine> {
        (0..n)
            .map(|_| (G1Affine::generator() * Fr::rand(rng)).into_affine())
            .collect()
    }

    /// The NAF schedule's multiple equals arkworks' in both groups, the
    /// identity included, on every scalar arithmetic.
    #[test]
    fn naf_schedule_gives_each_multiple() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        let mut g1 = g1_points(&mut rng, 50);
        g1[7] = G1Affine::zero();
        let mut g2: Vec<G2Affine> = (0..20)
            .map(|_| (G2Affine::generator() * Fr::rand(&mut rng)).into_affine())
            .collect();
        g2[0] = G2Affine::zero();
        for k in [2u128, 3, 0x44e9_92b4_4a69_09f1, u128::MAX >> 2] {
            let want = |p: &G1Affine| p.mul_bigint([k as u64, (k >> 64) as u64]).into_affine();
            let want_g1: Vec<G1Affine> = g1.iter().map(want).collect();
            let want_g2: Vec<G2Affine> = g2
                .iter()
                .map(|p| p.mul_bigint([k as u64, (k >> 64) as u64]).into_affine())
                .collect();
            for scalar in crate::every_scalar_arithmetic() {
                let schedule = Schedule::naf(k).unwrap();
                assert_eq!(
                    multiply_each_on(scalar, &g1, &schedule).unwrap(),
                    want_g1,
                    "k = {k}, {scalar:?}"
                );
                let schedule = Schedule::naf(k).unwrap();
                assert_eq!(
                    multiply_each_on(scalar, &g2, &schedule).unwrap(),
                    want_g2,
                    "k = {k}, {scalar:?}"
                );
            }
        }
        assert!(Schedule::<ark_bn254::Fq>::naf(1).is_none());
        assert!(Schedule::<ark_bn254::Fq>::naf(0).is_none());
        // No points, or only the identity.
        let schedule = Schedule::naf(5).unwrap();
        for scalar in crate::every_scalar_arithmetic() {
            assert_eq!(
                multiply_each_on::<ark_bn254::g1::Config>(scalar, &[], &schedule),
                Some(vec![])
            );
            let identity = [G1Affine::zero(); 3];
            assert_eq!(
                multiply_each_on(scalar, &identity, &schedule),
                Some(identity.to_vec())
            );
        }
    }

    /// The GLV schedule's multiple equals arkworks' for random scalars and
    /// small ones, negative ones, and scalars with a zero half.
    #[test]
    fn glv_schedule_gives_each_multiple() {
        type Config = ark_bn254::g1::Config;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let mut points = g1_points(&mut rng, 300);
        points[0] = G1Affine::zero();
        points[299] = -points[1];
        let lambda = Config::LAMBDA;
        let mut scalars: Vec<Fr> = (0..6).map(|_| Fr::rand(&mut rng)).collect();
        scalars.extend([
            Fr::from(1u64),
            Fr::from(2u64),
            Fr::from(15u64),
            Fr::from(17u64),
            -Fr::from(1u64),
            -Fr::from(31u64),
            lambda,
            -lambda,
            lambda * Fr::from(3u64) + Fr::from(5u64),
        ]);
        for k in scalars {
            let schedule = Schedule::glv::<Config>(k).unwrap();
            let want: Vec<G1Affine> = points.iter().map(|p| (*p * k).into_affine()).collect();
            for scalar in crate::every_scalar_arithmetic() {
                assert_eq!(
                    multiply_each_on(scalar, &points, &schedule).unwrap(),
                    want,
                    "k = {k}, {scalar:?}"
                );
            }
        }
        assert!(Schedule::<ark_bn254::Fq>::glv::<Config>(Fr::zero()).is_none());
    }

    /// A schedule that adds P, or −P, to P, alone or after a doubling, meets
    /// a zero denominator (x₂ − x₁ = 0): the chunk is `None`.
    #[test]
    fn a_zero_denominator_refuses_the_chunk() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(4);
        let points = g1_points(&mut rng, 10);
        // Start at P, add P: x₂ − x₁ = 0.
        let schedule = Schedule::<ark_bn254::Fq> {
            multiples: 1,
            beta: None,
            start: Entry {
                index: 0,
                negate: false,
            },
            steps: vec![Step::Add(Entry {
                index: 0,
                negate: false,
            })],
        };
        let with = |step| Schedule {
            steps: vec![step],
            ..schedule.clone()
        };
        let negated = Entry {
            index: 0,
            negate: true,
        };
        // P − P; 2P + P's first sum, P + P; 2P − P's, P − P.
        let others = [
            with(Step::Add(negated)),
            with(Step::DoubleAdd(schedule.start)),
            with(Step::DoubleAdd(negated)),
        ];
        for scalar in crate::every_scalar_arithmetic() {
            assert_eq!(multiply_each_on(scalar, &points, &schedule), None);
            for other in &others {
                assert_eq!(multiply_each_on(scalar, &points, other), None);
            }
            // Alone, the identity has no denominators.
            assert!(multiply_each_on(scalar, &[G1Affine::zero()], &schedule).is_some());
        }
    }

    /// Not a check: the cost of a G1 point's scaling and of one of its steps
    /// on the MULX/ADX products (`cargo test --release -p proofmint-gpu
    /// lockstep::tests::timing -- --ignored --nocapture`).
    #[cfg(target_arch = "x86_64")]
    #[test]
    #[ignore]
    fn timing() {
        type Config = ark_bn254::g1::Config;
        let Some(token) = crate::adx::detect() else {
            return;
        };
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let k = Fr::rand(&mut rng);
        let schedule = Schedule::glv::<Config>(k).unwrap();
        for n in [512, 1024, 2048, 4096] {
            let points = g1_points(&mut rng, n);
            for _ in 0..2 {
                let start = std::time::Instant::now();
                let out = multiply_each(token, &points, &schedule).unwrap();
                let point = start.elapsed().as_nanos() as f64 / n as f64;
                std::hint::black_box(out);
                println!(
                    "{n} points: {:.2} µs a point, {:.1} ns a batch step ({} a point)",
                    point / 1000.0,
                    point / schedule.batches() as f64,
                    schedule.batches()
                );
            }
        }
    }
}
