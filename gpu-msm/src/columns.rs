//! The sums of a sparse matrix's columns over points: for each column s,
//! Σ cᵢ·Pᵢ over its terms. A phase-2 ceremony's initial key is four of these
//! (A, B and C of every variable over the Lagrange basis, in G1 and in G2):
//! millions of terms with general coefficients, in columns of one to a few
//! hundred terms, too short for an MSM each.
//!
//! Columns longer than [`LARGE_COLUMN`] take a parallel MSM each
//! ([`crate::msm`]). The rest go in chunks whose every group operation is
//! batch-affine (`columns_affine` plans them): eight lanes wide with AVX-512
//! IFMA (`columns_ifma`), one at a time elsewhere ([`ScalarBatches`], on the MULX/ADX
//! products where the CPU has them). A chunk that meets an exceptional case
//! there is summed one column per thread with Straus's method ([`combine`]),
//! in arkworks' projective arithmetic.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInteger, One, PrimeField, Zero};
use rayon::prelude::*;

use crate::columns_affine::{AffineBatches, Exceptional, Op, Ref};
use crate::products::{Generic, Products};

/// Columns with more terms than this are summed one at a time, each with a
/// parallel MSM (an MSM's own parallelism inside a parallel loop nests
/// rayon's work stealing until the stack overflows).
pub const LARGE_COLUMN: usize = 256;

/// Columns handed to one parallel task.
const BLOCK: usize = 1024;

/// Table memory of one vector chunk (sixteen points a term), which bounds
/// its terms: about 14,000 in G1 and 7,000 in G2 (fewer points where
/// columns share them).
const CHUNK_BYTES: usize = 16 << 20;

/// Each column's sum in G1; `terms(s)` gives column s's (point, coefficient)
/// pairs.
pub fn column_sums_g1(
    columns: usize,
    terms: impl Fn(usize) -> Vec<(G1Affine, Fr)> + Sync,
) -> Vec<G1Projective> {
    match crate::arithmetic() {
        #[cfg(target_arch = "x86_64")]
        crate::Arithmetic::Ifma(token) => sums(columns, terms, crate::msm::msm_g1, |chunk| {
            crate::columns_ifma::sums::<ark_bn254::g1::Config, crate::curve_ifma::OverFq>(
                token, chunk,
            )
        }),
        crate::Arithmetic::Portable(scalar) => sums(columns, terms, crate::msm::msm_g1, |chunk| {
            scalar_sums(scalar, chunk)
        }),
    }
}

/// Each column's sum in G2, as [`column_sums_g1`].
pub fn column_sums_g2(
    columns: usize,
    terms: impl Fn(usize) -> Vec<(G2Affine, Fr)> + Sync,
) -> Vec<G2Projective> {
    match crate::arithmetic() {
        #[cfg(target_arch = "x86_64")]
        crate::Arithmetic::Ifma(token) => sums(columns, terms, crate::msm::msm_g2, |chunk| {
            crate::columns_ifma::sums::<ark_bn254::g2::Config, crate::curve_ifma::OverFq2>(
                token, chunk,
            )
        }),
        crate::Arithmetic::Portable(scalar) => sums(columns, terms, crate::msm::msm_g2, |chunk| {
            scalar_sums(scalar, chunk)
        }),
    }
}

/// Each column's sum with arkworks' arithmetic alone, in any group: large
/// columns by arkworks' MSM, the rest in parallel with [`combine`].
pub fn column_sums_portable<G: CurveGroup<ScalarField = Fr>>(
    columns: usize,
    terms: impl Fn(usize) -> Vec<(G::Affine, Fr)> + Sync,
) -> Vec<G> {
    let msm = |bases: &[G::Affine], scalars: &[Fr]| G::msm(bases, scalars).expect("equal lengths");
    sums(columns, terms, msm, |_| None)
}

/// A chunk's sums in batch-affine steps on the scalar path's products
/// (`None`: an exceptional case, as [`crate::columns_affine::sums`]).
#[cfg(target_arch = "x86_64")]
pub(crate) fn scalar_sums<P>(
    scalar: crate::Scalar,
    chunk: &[Vec<(Affine<P>, Fr)>],
) -> Option<Vec<Projective<P>>>
where
    P: SWCurveConfig<ScalarField = Fr> + ark_ec::scalar_mul::glv::GLVConfig,
    crate::adx::Adx: Products<P::BaseField>,
{
    match scalar {
        crate::Scalar::Adx(token) => crate::columns_affine::sums(ScalarBatches::new(token), chunk),
        crate::Scalar::Generic => crate::columns_affine::sums(ScalarBatches::new(Generic), chunk),
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn scalar_sums<P>(
    _: crate::Scalar,
    chunk: &[Vec<(Affine<P>, Fr)>],
) -> Option<Vec<Projective<P>>>
where
    P: SWCurveConfig<ScalarField = Fr> + ark_ec::scalar_mul::glv::GLVConfig,
{
    crate::columns_affine::sums(ScalarBatches::new(Generic), chunk)
}

/// The batches of [`crate::columns_affine`] one operation at a time, on the
/// products `A`: a batch's denominators share one inversion (Montgomery's
/// trick), so an addition costs about six products and a doubling seven.
/// Coordinates are kept apart (x's, then y's), without arkworks' flag.
pub(crate) struct ScalarBatches<P: SWCurveConfig, A> {
    products: A,
    xs: Vec<P::BaseField>,
    ys: Vec<P::BaseField>,
    denominators: Vec<P::BaseField>,
    prefix: Vec<P::BaseField>,
}

impl<P: SWCurveConfig, A: Products<P::BaseField>> ScalarBatches<P, A> {
    pub(crate) fn new(products: A) -> Self {
        Self {
            products,
            xs: Vec::new(),
            ys: Vec::new(),
            denominators: Vec::new(),
            prefix: Vec::new(),
        }
    }

    /// The y of a point, negated where asked.
    #[inline(always)]
    fn y(&self, r: Ref) -> P::BaseField {
        let y = self.ys[r.at as usize];
        if r.negate {
            -y
        } else {
            y
        }
    }
}

impl<P: SWCurveConfig, A: Products<P::BaseField>> AffineBatches<P> for ScalarBatches<P, A> {
    fn resize(&mut self, count: usize) {
        self.xs.resize(count, P::BaseField::zero());
        self.ys.resize(count, P::BaseField::zero());
    }

    fn set(&mut self, at: u32, point: &Affine<P>) {
        debug_assert!(!point.is_zero());
        self.xs[at as usize] = point.x;
        self.ys[at as usize] = point.y;
    }

    fn get(&self, at: u32) -> Affine<P> {
        Affine::new_unchecked(self.xs[at as usize], self.ys[at as usize])
    }

    fn batch(&mut self, ops: &[Op], doubling: bool) -> Result<(), Exceptional> {
        let f = self.products;
        self.denominators.clear();
        for op in ops {
            let d = if doubling {
                let y = &self.ys[op.a.at as usize];
                f.add(y, y)
            } else {
                f.sub(&self.xs[op.b.at as usize], &self.xs[op.a.at as usize])
            };
            if d.is_zero() {
                return Err(Exceptional);
            }
            self.denominators.push(d);
        }
        f.invert_all(&mut self.denominators, &mut self.prefix);
        let a_is_zero = P::COEFF_A.is_zero();
        for (op, inverse) in ops.iter().zip(&self.denominators) {
            let (x, y) = (self.xs[op.a.at as usize], self.y(op.a));
            let (numerator, other_x) = if doubling {
                let square = f.square(&x);
                let triple = f.add(&f.add(&square, &square), &square);
                let numerator = if a_is_zero {
                    triple
                } else {
                    f.add(&triple, &P::COEFF_A)
                };
                (numerator, x)
            } else {
                (f.sub(&self.y(op.b), &y), self.xs[op.b.at as usize])
            };
            let lambda = f.mul(&numerator, inverse);
            let x3 = f.sub(&f.sub(&f.square(&lambda), &x), &other_x);
            let y3 = f.sub(&f.mul(&lambda, &f.sub(&x, &x3)), &y);
            self.xs[op.dest as usize] = x3;
            self.ys[op.dest as usize] = y3;
        }
        Ok(())
    }

    fn endomorphism(&mut self, pairs: &[Op], beta: &P::BaseField) {
        for op in pairs {
            let (a, dest) = (op.a.at as usize, op.dest as usize);
            self.xs[dest] = self.products.mul(&self.xs[a], beta);
            self.ys[dest] = self.ys[a];
        }
    }
}

/// Blocks of columns in parallel; in each, the small columns in chunks of
/// bounded size through `vector` (`None`: each column with [`combine`]),
/// then the large columns one by one with the parallel `msm`.
fn sums<G: CurveGroup<ScalarField = Fr>>(
    columns: usize,
    terms: impl Fn(usize) -> Vec<(G::Affine, Fr)> + Sync,
    msm: impl Fn(&[G::Affine], &[Fr]) -> G,
    vector: impl Fn(&[Vec<(G::Affine, Fr)>]) -> Option<Vec<G>> + Sync,
) -> Vec<G> {
    let chunk_terms = CHUNK_BYTES / (16 * std::mem::size_of::<G::Affine>());
    let blocks: Vec<(usize, usize)> = (0..columns)
        .step_by(BLOCK)
        .map(|start| (start, (start + BLOCK).min(columns)))
        .collect();
    let small: Vec<Vec<Option<G>>> = blocks
        .into_par_iter()
        .map(|(start, end)| {
            let mut out = vec![None; end - start];
            let mut chunk: Vec<Vec<(G::Affine, Fr)>> = Vec::new();
            let mut members: Vec<usize> = Vec::new();
            let mut size = 0;
            let mut flush = |chunk: &mut Vec<Vec<_>>, members: &mut Vec<usize>| {
                let summed = vector(chunk).unwrap_or_else(|| {
                    chunk
                        .iter()
                        .map(|terms| combine::<G>(terms.iter().copied()))
                        .collect()
                });
                for (&s, sum) in members.iter().zip(summed) {
                    out[s - start] = Some(sum);
                }
                chunk.clear();
                members.clear();
            };
            for s in start..end {
                let terms = terms(s);
                if terms.len() > LARGE_COLUMN {
                    continue;
                }
                size += terms.len();
                chunk.push(terms);
                members.push(s);
                if size >= chunk_terms {
                    flush(&mut chunk, &mut members);
                    size = 0;
                }
            }
            if !chunk.is_empty() {
                flush(&mut chunk, &mut members);
            }
            out
        })
        .collect();
    small
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(s, sum)| {
            sum.unwrap_or_else(|| {
                let (bases, scalars): (Vec<_>, Vec<_>) = terms(s).into_iter().unzip();
                msm(&bases, &scalars)
            })
        })
        .collect()
}

/// Σ coefficient·point on this thread. A coefficient of ±1 costs an
/// addition; the others share one chain of doublings (Straus's method),
/// each scalar in width-5 NAF over a table of its point's odd multiples up
/// to 15, so that a column of k terms costs 254 doublings and about 50·k
/// additions, not k scalar multiplications.
pub fn combine<G: CurveGroup<ScalarField = Fr>>(terms: impl Iterator<Item = (G::Affine, Fr)>) -> G {
    const WIDTH: usize = 5;
    const TABLE: usize = 1 << (WIDTH - 2);
    let mut sum = G::zero();
    let mut nafs = Vec::new();
    let mut multiples: Vec<G> = Vec::new();
    let mut single = None;
    for (point, coefficient) in terms {
        if coefficient.is_one() {
            sum += point;
        } else if (-coefficient).is_one() {
            sum -= point;
        } else if !coefficient.is_zero() {
            single = Some((point, coefficient));
            let naf = coefficient
                .into_bigint()
                .find_wnaf(WIDTH)
                .expect("a width between 2 and 64");
            nafs.push(naf);
            let twice = point.into_group().double();
            let mut multiple = point.into_group();
            for _ in 0..TABLE {
                multiples.push(multiple);
                multiple += twice;
            }
        }
    }
    match nafs.len() {
        0 => return sum,
        // One term: the curve's own multiplication (GLV in G1).
        1 => {
            let (point, coefficient) = single.expect("one term");
            return sum + point * coefficient;
        }
        _ => {}
    }
    let table = G::normalize_batch(&multiples);
    let length = nafs.iter().map(Vec::len).max().unwrap_or(0);
    let mut acc = G::zero();
    for i in (0..length).rev() {
        acc.double_in_place();
        for (naf, table) in nafs.iter().zip(table.chunks_exact(TABLE)) {
            match naf.get(i).copied().unwrap_or(0) {
                0 => {}
                d if d > 0 => acc += table[(d / 2) as usize],
                d => acc -= table[(-d / 2) as usize],
            }
        }
    }
    sum + acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use rand::{Rng, SeedableRng};

    /// Straus's sum equals the sum of the scalar multiplications, in both
    /// groups, for columns of every mix: none, one and many general
    /// coefficients, ±1, zero.
    #[test]
    fn combine_is_the_sum_of_the_multiples() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        for count in [0usize, 1, 2, 3, 9] {
            let mut coefficients: Vec<Fr> = (0..count).map(|_| Fr::rand(&mut rng)).collect();
            coefficients.extend([Fr::one(), -Fr::one(), Fr::zero(), Fr::from(2u64)]);
            let g1: Vec<G1Affine> = coefficients
                .iter()
                .map(|_| (G1Affine::generator() * Fr::rand(&mut rng)).into_affine())
                .collect();
            let g2: Vec<G2Affine> = coefficients
                .iter()
                .map(|_| (G2Affine::generator() * Fr::rand(&mut rng)).into_affine())
                .collect();
            let expected1: G1Projective = g1.iter().zip(&coefficients).map(|(p, c)| *p * c).sum();
            let expected2: G2Projective = g2.iter().zip(&coefficients).map(|(p, c)| *p * c).sum();
            let got1: G1Projective = combine(g1.iter().copied().zip(coefficients.iter().copied()));
            let got2: G2Projective = combine(g2.iter().copied().zip(coefficients.iter().copied()));
            assert_eq!(got1, expected1, "{count} general terms, G1");
            assert_eq!(got2, expected2, "{count} general terms, G2");
        }
    }

    /// Columns of every length, from a few repeated coefficients (as a
    /// circuit's are) and random ones, with ±1, 0, small values, the
    /// identity and a long column; points shared between columns, distinct
    /// within one.
    fn columns<A: AffineRepr<ScalarField = Fr>>(
        rng: &mut rand_chacha::ChaCha20Rng,
        basis: &[A],
    ) -> Vec<Vec<(A, Fr)>> {
        let repeated: Vec<Fr> = (0..7).map(|_| Fr::rand(rng)).collect();
        let mut columns: Vec<Vec<(A, Fr)>> = Vec::new();
        for s in 0..1500 {
            let length = match s % 10 {
                0 => 0,
                1..=4 => 1,
                5 | 6 => rng.gen_range(2..6),
                7 | 8 => rng.gen_range(20..90),
                _ if s == 9 => LARGE_COLUMN + 40,
                _ => rng.gen_range(100..=LARGE_COLUMN),
            };
            // Distinct points in a column, as a matrix's rows are.
            let rows = rand::seq::index::sample(rng, basis.len(), length);
            let column = rows
                .into_iter()
                .map(|row| {
                    let point = basis[row];
                    let coefficient = match rng.gen_range(0..8) {
                        0 => Fr::one(),
                        1 => -Fr::one(),
                        2 => Fr::from(rng.gen_range(0u64..40)),
                        3 | 4 => Fr::rand(rng),
                        _ => repeated[rng.gen_range(0..repeated.len())],
                    };
                    (point, coefficient)
                })
                .collect();
            columns.push(column);
        }
        columns
    }

    fn basis<A: AffineRepr<ScalarField = Fr>>(rng: &mut rand_chacha::ChaCha20Rng) -> Vec<A> {
        let mut basis: Vec<A> = (0..400)
            .map(|_| (A::generator() * Fr::rand(rng)).into_affine())
            .collect();
        basis[17] = A::zero();
        basis
    }

    fn expected<G: CurveGroup<ScalarField = Fr>>(columns: &[Vec<(G::Affine, Fr)>]) -> Vec<G> {
        columns
            .iter()
            .map(|c| c.iter().map(|(p, k)| *p * k).sum())
            .collect()
    }

    /// The path this CPU takes equals the sum of the scalar
    /// multiplications, in both groups, and so does arkworks' (Straus's
    /// method throughout).
    #[test]
    fn column_sums_are_the_sums_of_the_multiples() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let g1 = {
            let basis = basis::<G1Affine>(&mut rng);
            columns::<G1Affine>(&mut rng, &basis)
        };
        let want1 = expected::<G1Projective>(&g1);
        assert_eq!(column_sums_g1(g1.len(), |s| g1[s].clone()), want1);
        assert_eq!(
            column_sums_portable::<G1Projective>(g1.len(), |s| g1[s].clone()),
            want1
        );
        let g2 = {
            let basis = basis::<G2Affine>(&mut rng);
            columns::<G2Affine>(&mut rng, &basis)
        };
        let want2 = expected::<G2Projective>(&g2);
        assert_eq!(column_sums_g2(g2.len(), |s| g2[s].clone()), want2);
        assert_eq!(
            column_sums_portable::<G2Projective>(g2.len(), |s| g2[s].clone()),
            want2
        );
    }

    /// Each batch-affine chunk (IFMA's and the MULX/ADX one where this CPU
    /// has them, arkworks' products everywhere) gives the sums itself, not
    /// through its fallback, and meets a column that adds a point to its own
    /// negation (a zero denominator) by refusing the chunk, not by a wrong
    /// sum.
    #[test]
    fn every_batch_affine_chunk_sums_and_refuses_what_it_cannot() {
        type Chunk<'a, A> = &'a [Vec<(A, Fr)>];
        type G1Sums = fn(Chunk<G1Affine>) -> Option<Vec<G1Projective>>;
        type G2Sums = fn(Chunk<G2Affine>) -> Option<Vec<G2Projective>>;
        let mut paths: Vec<(&str, G1Sums, G2Sums)> = vec![(
            "arkworks' products",
            |chunk| crate::columns_affine::sums(ScalarBatches::new(Generic), chunk),
            |chunk| crate::columns_affine::sums(ScalarBatches::new(Generic), chunk),
        )];
        #[cfg(target_arch = "x86_64")]
        {
            if crate::adx::cpu_check().is_some() {
                paths.push((
                    "MULX/ADX",
                    |chunk| {
                        scalar_sums(crate::Scalar::Adx(crate::adx::cpu_check().unwrap()), chunk)
                    },
                    |chunk| {
                        scalar_sums(crate::Scalar::Adx(crate::adx::cpu_check().unwrap()), chunk)
                    },
                ));
            } else {
                eprintln!("no MULX/ADX on this CPU: its chunk is not run");
            }
            if crate::ifma::cpu_check().is_some() {
                paths.push((
                    "AVX-512 IFMA",
                    |chunk| {
                        let token = crate::ifma::cpu_check().unwrap();
                        crate::columns_ifma::sums::<ark_bn254::g1::Config, crate::curve_ifma::OverFq>(
                            token, chunk,
                        )
                    },
                    |chunk| {
                        let token = crate::ifma::cpu_check().unwrap();
                        crate::columns_ifma::sums::<ark_bn254::g2::Config, crate::curve_ifma::OverFq2>(
                            token, chunk,
                        )
                    },
                ));
            } else {
                eprintln!("no AVX-512 IFMA on this CPU: its chunk is not run");
            }
        }
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let mut g1 = {
            let basis = basis::<G1Affine>(&mut rng);
            columns::<G1Affine>(&mut rng, &basis)
        };
        g1.retain(|c| c.len() <= LARGE_COLUMN);
        g1.truncate(300);
        let want1 = expected::<G1Projective>(&g1);
        let mut g2 = {
            let basis = basis::<G2Affine>(&mut rng);
            columns::<G2Affine>(&mut rng, &basis)
        };
        g2.retain(|c| c.len() <= LARGE_COLUMN);
        g2.truncate(300);
        let want2 = expected::<G2Projective>(&g2);
        // P and −P with the same digits at every bit, after a third term:
        // each bit pairs them, and their sum is the identity, which affine
        // form cannot hold.
        let q = (G1Affine::generator() * Fr::from(777u64)).into_affine();
        let p = (G1Affine::generator() * Fr::from(12345u64)).into_affine();
        let k = Fr::rand(&mut rng);
        let bad = vec![vec![(q, k), (p, k), (-p, k)]];
        for (name, sums1, sums2) in paths {
            assert_eq!(sums1(&g1).as_ref(), Some(&want1), "{name}, G1");
            assert_eq!(sums2(&g2).as_ref(), Some(&want2), "{name}, G2");
            assert_eq!(sums1(&bad), None, "{name}");
        }
        assert_eq!(column_sums_g1(1, |_| bad[0].clone()), vec![q * k]);
    }
}
