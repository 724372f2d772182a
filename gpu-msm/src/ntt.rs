//! Radix-2 NTT over BN254's scalar field (2-adicity 28).
//!
//! Iterative Cooley–Tukey: a bit-reversal permutation, then log2(n) butterfly
//! stages. Twiddles are precomputed once per size, stage by stage and
//! contiguous (stage with half-size m reads ω_{2m}^0..ω_{2m}^{m-1} in order),
//! so every stage streams through memory instead of striding through one
//! table. Stages with many small blocks run block-parallel; the last stages,
//! with few large blocks, split each block's butterflies across threads.

use ark_bn254::Fr;
use ark_ff::Field;
use rayon::prelude::*;

use crate::products::{Generic, Products};
use crate::twiddles::{scale_by_powers, twiddles};
use crate::{Arithmetic, BackendError, NttDirection, Scalar};

/// Largest transform: 2^28 is the field's two-adicity.
pub const MAX_LOG_SIZE: u32 = 28;
/// Below this many butterflies in a stage, threads cost more than they save.
const PARALLEL_MIN: usize = 1 << 12;
/// log2 of the block whose first stages run while it sits in cache
/// (2^12 elements = 128 KiB, inside a core's L2).
const BLOCK_LOG: u32 = 12;

/// log2 of a transform size, refusing sizes that are not powers of two or
/// exceed the field's two-adicity (shared by every backend).
pub(crate) fn log_size_of(n: usize) -> Result<u32, BackendError> {
    if !n.is_power_of_two() {
        return Err(BackendError::NotPowerOfTwo(n));
    }
    let log_size = n.trailing_zeros();
    if log_size > MAX_LOG_SIZE {
        return Err(BackendError::TooLarge {
            log_size,
            max_log_size: MAX_LOG_SIZE,
        });
    }
    Ok(log_size)
}

/// A raw pointer that may cross threads: each thread touches disjoint elements.
#[derive(Clone, Copy)]
struct SharedSlice(*mut Fr);
unsafe impl Send for SharedSlice {}
unsafe impl Sync for SharedSlice {}

/// The bit-reversal permutation, in parallel for large slices.
fn bit_reverse(values: &mut [Fr], log_size: u32) {
    if log_size == 0 {
        return;
    }
    let shift = usize::BITS - log_size;
    let n = values.len();
    if n < PARALLEL_MIN {
        for i in 0..n {
            let j = i.reverse_bits() >> shift;
            if i < j {
                values.swap(i, j);
            }
        }
        return;
    }
    let shared = SharedSlice(values.as_mut_ptr());
    (0..n)
        .into_par_iter()
        .with_min_len(1 << 12)
        .for_each(move |i| {
            let j = i.reverse_bits() >> shift;
            if i < j {
                let base = shared;
                // SAFETY: i and j are below n, and the pair {i, j} is swapped only
                // by the iteration with the smaller index, so no two iterations
                // touch the same element.
                unsafe { std::ptr::swap(base.0.add(i), base.0.add(j)) };
            }
        });
}

#[inline]
fn butterflies<A: Products<Fr>>(products: A, lo: &mut [Fr], hi: &mut [Fr], twiddles: &[Fr]) {
    for ((a, b), w) in lo.iter_mut().zip(hi.iter_mut()).zip(twiddles) {
        products.butterfly(a, b, w);
    }
}

/// In-place NTT of a power-of-two slice, natural order in and out: on AVX-512
/// IFMA where the CPU has it (`crate::ntt_ifma`), else one element at a time
/// with MULX/ADX products where it has those.
pub fn ntt(values: &mut [Fr], direction: NttDirection) -> Result<(), BackendError> {
    ntt_on(crate::arithmetic(), values, direction)
}

/// [`ntt`] on `arithmetic`.
pub(crate) fn ntt_on(
    arithmetic: Arithmetic,
    values: &mut [Fr],
    direction: NttDirection,
) -> Result<(), BackendError> {
    let log_size = log_size_of(values.len())?;
    let scalar = match arithmetic {
        #[cfg(target_arch = "x86_64")]
        Arithmetic::Ifma(token) => {
            if log_size >= 3 {
                let inverse = direction == NttDirection::Inverse;
                crate::ntt_ifma::ntt(
                    token,
                    values,
                    log_size,
                    &twiddles(log_size, inverse),
                    inverse,
                );
                return Ok(());
            }
            crate::scalar_arithmetic()
        }
        Arithmetic::Portable(scalar) => scalar,
    };
    match scalar {
        #[cfg(target_arch = "x86_64")]
        Scalar::Adx(token) => radix2(token, values, direction),
        Scalar::Generic => radix2(Generic, values, direction),
    }
}

/// The radix-2 transform with the products from `products`.
fn radix2<A: Products<Fr>>(
    products: A,
    values: &mut [Fr],
    direction: NttDirection,
) -> Result<(), BackendError> {
    let log_size = log_size_of(values.len())?;
    let inverse = direction == NttDirection::Inverse;
    let table = twiddles(log_size, inverse);
    debug_assert_eq!(table.log_size, log_size);
    bit_reverse(values, log_size);
    let n = values.len();
    // The first stages work inside blocks that fit in cache: each block runs
    // all of them in one visit instead of one pass over memory per stage.
    let block_log = log_size.min(BLOCK_LOG);
    let block = 1usize << block_log;
    let first_stages = |chunk: &mut [Fr]| {
        // Stage 0's only twiddle is 1: add and subtract, no multiplication.
        if block_log > 0 {
            for pair in chunk.chunks_exact_mut(2) {
                let (a, b) = pair.split_at_mut(1);
                products.add_sub(&mut a[0], &mut b[0]);
            }
        }
        for s in 1..block_log {
            let m = 1usize << s;
            let stage = table.stage(s);
            chunk.chunks_mut(2 * m).for_each(|pair| {
                let (lo, hi) = pair.split_at_mut(m);
                butterflies(products, lo, hi, stage);
            });
        }
    };
    if n < PARALLEL_MIN {
        values.chunks_mut(block).for_each(first_stages);
    } else {
        values.par_chunks_mut(block).for_each(first_stages);
    }
    for s in block_log..log_size {
        let m = 1usize << s;
        let stage = table.stage(s);
        if n < PARALLEL_MIN {
            values.chunks_mut(2 * m).for_each(|block| {
                let (lo, hi) = block.split_at_mut(m);
                butterflies(products, lo, hi, stage);
            });
        } else if 2 * m <= n / rayon::current_num_threads().max(1) / 2 {
            values.par_chunks_mut(2 * m).for_each(|block| {
                let (lo, hi) = block.split_at_mut(m);
                butterflies(products, lo, hi, stage);
            });
        } else {
            let piece = (m / (4 * rayon::current_num_threads().max(1)))
                .max(1 << 10)
                .min(m);
            values.chunks_mut(2 * m).for_each(|block| {
                let (lo, hi) = block.split_at_mut(m);
                lo.par_chunks_mut(piece)
                    .zip(hi.par_chunks_mut(piece))
                    .zip(stage.par_chunks(piece))
                    .for_each(|((lo, hi), w)| butterflies(products, lo, hi, w));
            });
        }
    }
    // Lazily reduced values (below 2p) become canonical here: the product by
    // 1/n reduces fully (the assembly product takes one factor below 2p), and
    // a forward transform takes one more pass.
    if inverse {
        let n_inverse = Fr::from(n as u64)
            .inverse()
            .expect("n is non-zero in the field");
        values
            .par_iter_mut()
            .for_each(|v| *v = products.mul(v, &n_inverse));
    } else if A::LAZY {
        values.par_iter_mut().for_each(|v| products.normalize(v));
    }
    Ok(())
}

/// In-place NTT over the coset `offset · H`.
pub fn coset_ntt(
    values: &mut [Fr],
    offset: Fr,
    direction: NttDirection,
) -> Result<(), BackendError> {
    coset_ntt_on(crate::arithmetic(), values, offset, direction)
}

/// [`coset_ntt`] on `arithmetic`.
pub(crate) fn coset_ntt_on(
    arithmetic: Arithmetic,
    values: &mut [Fr],
    offset: Fr,
    direction: NttDirection,
) -> Result<(), BackendError> {
    let offset_inverse = offset.inverse().ok_or(BackendError::ZeroOffset)?;
    match direction {
        NttDirection::Forward => {
            log_size_of(values.len())?;
            scale_by_powers(values, offset);
            ntt_on(arithmetic, values, NttDirection::Forward)
        }
        NttDirection::Inverse => {
            ntt_on(arithmetic, values, NttDirection::Inverse)?;
            scale_by_powers(values, offset_inverse);
            Ok(())
        }
    }
}
