//! The radix-2 NTT of [`crate::ntt`] with its butterflies on AVX-512 IFMA,
//! eight at a time ([`crate::ifma`]).
//!
//! The transform runs on a column-wise copy of the values (limb k of every
//! element in one array of 52-bit limbs), so eight consecutive elements load as
//! one vector per limb. The elements keep arkworks' Montgomery form (x·2^256)
//! throughout: twiddles are stored in the IFMA form (w·2^260), and the IFMA
//! Montgomery product of the two, x·w·2^256, is again in arkworks' form; the
//! copy in and out is a repacking of bits, not a multiplication.
//!
//! Passes over memory:
//! 1. per block of 2^12 elements (in cache): gather in bit-reversed order, run
//!    the first three stages (butterflies inside groups of eight, across
//!    lanes) in scalar arithmetic, repack into the columns, and run the
//!    remaining stages of the block on vectors;
//! 2. the later stages on the whole columns, each split across threads;
//! 3. repack into the caller's slice (scaling by 1/n for an inverse transform).

use ark_bn254::{Fr, FrConfig};
use ark_ff::{BigInt, Field, MontConfig};
use rayon::prelude::*;

use crate::ifma::{self, Consts8, Fe8, Field52, LANES, LIMBS};
use crate::twiddles::Twiddles;
use std::arch::x86_64::*;

/// log2 of the block whose first stages run while it sits in cache
/// (2^12 elements: 160 KiB of columns, inside a core's L2).
const BLOCK_LOG: u32 = 12;
/// How many groups of eight ahead the bit-reversed gather prefetches.
const PREFETCH_AHEAD: usize = 16;

/// A raw pointer that may cross threads: each thread touches disjoint elements.
#[derive(Clone, Copy)]
struct Shared(*mut u64);
// SAFETY: the pointer is only used for disjoint ranges per thread (see callers).
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    fn get(self) -> *mut u64 {
        self.0
    }
}

/// Twiddles for IFMA: stage s's `ω^j · 2^260` as columns (`limb k` of stage
/// s, index j at `k * (n - 1) + 2^s - 1 + j`), built from the arkworks table.
pub(crate) fn twiddle_columns(table: &Twiddles) -> Vec<u64> {
    let all = table.all();
    let stride = all.len();
    let limbs: Vec<[u64; LIMBS]> = all.par_iter().map(ifma::from_ark_scalar).collect();
    let mut columns = vec![0u64; LIMBS * stride];
    columns
        .par_chunks_mut(stride.max(1))
        .enumerate()
        .for_each(|(k, column)| {
            for (slot, limbs) in column.iter_mut().zip(&limbs) {
                *slot = limbs[k];
            }
        });
    columns
}

/// In-place NTT of `values` (length 2^log_size, log_size >= 3) given its
/// twiddles, on the CPU `_ifma` vouches for.
pub(crate) fn ntt(
    _ifma: ifma::Ifma,
    values: &mut [Fr],
    log_size: u32,
    table: &Twiddles,
    inverse: bool,
) {
    let n = values.len();
    debug_assert!(log_size >= 3 && n == 1 << log_size);
    let field = Field52::new(FrConfig::MODULUS.0);
    let twiddles = table.ifma_columns(twiddle_columns);
    let tw_stride = n - 1;
    let mut columns = vec![0u64; LIMBS * n];
    let shared = Shared(columns.as_mut_ptr());
    let block_log = log_size.min(BLOCK_LOG);
    let block = 1usize << block_log;
    let source: &[Fr] = values;
    (0..n / block).into_par_iter().for_each(|b| {
        // SAFETY: the CPU has IFMA (caller); block b owns elements
        // [b·block, (b+1)·block) of every column.
        unsafe {
            first_stages(
                source,
                shared.get(),
                n,
                b * block,
                block_log,
                log_size,
                &field,
                twiddles.as_ptr(),
                tw_stride,
            )
        };
    });
    let threads = rayon::current_num_threads().max(1);
    let mut s = block_log;
    while s < log_size {
        // Two stages per pass while two remain, else one.
        let fused = s + 1 < log_size;
        let m = 1usize << s;
        let span = if fused { 4 * m } else { 2 * m };
        // Split the pass into pieces of whole groups when there are many,
        // else into runs of j inside each group.
        let piece = (m / (2 * threads).next_power_of_two()).clamp(LANES, m);
        let pieces_per_group = m / piece;
        let groups = n / span;
        (0..groups * pieces_per_group)
            .into_par_iter()
            .for_each(|p| {
                let group = (p / pieces_per_group) * span;
                let j0 = (p % pieces_per_group) * piece;
                // SAFETY: IFMA checked by the caller; the piece touches indices
                // group + [j0, j0 + piece) plus multiples of m inside its
                // group, disjoint from every other piece.
                unsafe {
                    if fused {
                        radix4_run(
                            shared.get(),
                            n,
                            group,
                            m,
                            j0,
                            j0 + piece,
                            twiddles.as_ptr(),
                            tw_stride,
                            &field,
                        )
                    } else {
                        butterfly_run(
                            shared.get(),
                            n,
                            group,
                            m,
                            j0,
                            j0 + piece,
                            twiddles.as_ptr().add(m - 1),
                            tw_stride,
                            &field,
                        )
                    }
                };
            });
        s += if fused { 2 } else { 1 };
    }
    let scale = inverse.then(|| {
        let n_inverse = Fr::from(n as u64).inverse().expect("n is non-zero");
        ifma::from_ark_scalar(&n_inverse)
    });
    let columns = &columns;
    values
        .par_chunks_mut(block)
        .enumerate()
        .for_each(|(b, out)| {
            // SAFETY: IFMA checked by the caller; reads only.
            unsafe { copy_out(columns, n, b * block, out, scale.as_ref(), &field) };
        });
}

/// One radix-2 stage across the lanes of a vector: lanes l and l + m (m = 1, 2
/// or 4, l's bit m clear) are a butterfly pair with twiddle `w[l mod m]`
/// (given per lane in `w`; `None` for stage 0, whose twiddle is 1).
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn stage_in_lanes(v: &Fe8, m: usize, w: Option<&Fe8>, c: &Consts8) -> Fe8 {
    let partner = _mm512_set_epi64(
        (7 ^ m) as i64,
        (6 ^ m) as i64,
        (5 ^ m) as i64,
        (4 ^ m) as i64,
        (3 ^ m) as i64,
        (2 ^ m) as i64,
        (1 ^ m) as i64,
        m as i64,
    );
    // Lanes whose bit m is set hold the pair's second element.
    let high: __mmask8 = match m {
        1 => 0b1010_1010,
        2 => 0b1100_1100,
        _ => 0b1111_0000,
    };
    let swapped = Fe8(v.0.map(|limb| _mm512_permutexvar_epi64(partner, limb)));
    // Every lane gets its pair's first element (a) and second (b).
    let a = Fe8(std::array::from_fn(|k| {
        _mm512_mask_blend_epi64(high, v.0[k], swapped.0[k])
    }));
    let b = Fe8(std::array::from_fn(|k| {
        _mm512_mask_blend_epi64(high, swapped.0[k], v.0[k])
    }));
    let t = match w {
        Some(w) => ifma::mul(&b, w, c),
        None => b,
    };
    let sum = ifma::add(&a, &t, c);
    let difference = ifma::sub(&a, &t, c);
    Fe8(std::array::from_fn(|k| {
        _mm512_mask_blend_epi64(high, sum.0[k], difference.0[k])
    }))
}

/// Bit-reversed gather of one block, stages 0..3 across lanes, then stages
/// 3..block_log on vectors, all while the block is in cache.
#[target_feature(enable = "avx512f,avx512ifma")]
#[allow(clippy::too_many_arguments)]
unsafe fn first_stages(
    source: &[Fr],
    columns: *mut u64,
    n: usize,
    start: usize,
    block_log: u32,
    log_size: u32,
    field: &Field52,
    tw: *const u64,
    tw_stride: usize,
) {
    let c = Consts8::new(field);
    let shift = usize::BITS - log_size;
    // Per-lane twiddles of stages 1 and 2: lane l uses w[l mod m].
    // SAFETY: stages 1 and 2 occupy twiddle indices 1..3 and 3..7.
    let (w4, w8) = unsafe {
        let lane_twiddles = |m: usize| {
            let lanes: [[u64; LIMBS]; LANES] = std::array::from_fn(|l| {
                std::array::from_fn(|k| *tw.add(k * tw_stride + m - 1 + l % m))
            });
            Fe8::from_lanes(&lanes)
        };
        (lane_twiddles(2), lane_twiddles(4))
    };
    let block = 1usize << block_log;
    for g in (start..start + block).step_by(LANES) {
        // The gather reads across the whole input (bit reversal): start
        // fetching a coming group's elements now.
        let ahead = g + PREFETCH_AHEAD * LANES;
        if ahead < start + block {
            for t in 0..LANES {
                crate::bucket::prefetch(&source[(ahead + t).reverse_bits() >> shift]);
            }
        }
        let lanes: [[u64; LIMBS]; LANES] =
            std::array::from_fn(|t| ifma::to_52(source[(g + t).reverse_bits() >> shift].0 .0));
        let v = Fe8::from_lanes(&lanes);
        let v = stage_in_lanes(&v, 1, None, &c);
        let v = stage_in_lanes(&v, 2, Some(&w4), &c);
        let v = stage_in_lanes(&v, 4, Some(&w8), &c);
        // SAFETY: g + 8 <= n.
        unsafe { v.store(columns, n, g) };
    }
    let mut s = 3;
    while s < block_log {
        let m = 1usize << s;
        if s + 1 < block_log {
            for group in (start..start + block).step_by(4 * m) {
                // SAFETY: the group lies inside this block.
                unsafe { radix4_run(columns, n, group, m, 0, m, tw, tw_stride, field) };
            }
            s += 2;
        } else {
            for group in (start..start + block).step_by(2 * m) {
                // SAFETY: the group lies inside this block.
                unsafe {
                    butterfly_run(columns, n, group, m, 0, m, tw.add(m - 1), tw_stride, field)
                };
            }
            s += 1;
        }
    }
}

/// Stages s and s + 1 (m = 2^s) in one visit of the elements
/// x[g + j + {0, m, 2m, 3m}] for j in [from, to): stage s pairs (0, 1) and
/// (2, 3) with ω_{2m}^j, stage s + 1 pairs (0, 2) with ω_{4m}^j and (1, 3)
/// with ω_{4m}^{j+m}. Half the passes over memory of two radix-2 stages, the
/// same multiplications.
///
/// # Safety
/// As for [`butterfly_run`], for the four quarters; `tw` is the whole table.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn radix4_run(
    columns: *mut u64,
    n: usize,
    group: usize,
    m: usize,
    from: usize,
    to: usize,
    tw: *const u64,
    tw_stride: usize,
    field: &Field52,
) {
    let c = Consts8::new(field);
    // SAFETY (the block): by the caller's promise; stage s's twiddles start at
    // m - 1, stage s + 1's at 2m - 1, each inside the table.
    unsafe {
        let (first, second) = (tw.add(m - 1), tw.add(2 * m - 1));
        for j in (from..to).step_by(LANES) {
            let at = group + j;
            let x0 = Fe8::load(columns, n, at);
            let x1 = Fe8::load(columns, n, at + m);
            let x2 = Fe8::load(columns, n, at + 2 * m);
            let x3 = Fe8::load(columns, n, at + 3 * m);
            let w = Fe8::load(first, tw_stride, j);
            let t = ifma::mul(&x1, &w, &c);
            let (x0, x1) = (ifma::add(&x0, &t, &c), ifma::sub(&x0, &t, &c));
            let t = ifma::mul(&x3, &w, &c);
            let (x2, x3) = (ifma::add(&x2, &t, &c), ifma::sub(&x2, &t, &c));
            let u = Fe8::load(second, tw_stride, j);
            let v = Fe8::load(second, tw_stride, j + m);
            let t = ifma::mul(&x2, &u, &c);
            ifma::add(&x0, &t, &c).store(columns, n, at);
            ifma::sub(&x0, &t, &c).store(columns, n, at + 2 * m);
            let t = ifma::mul(&x3, &v, &c);
            ifma::add(&x1, &t, &c).store(columns, n, at + m);
            ifma::sub(&x1, &t, &c).store(columns, n, at + 3 * m);
        }
    }
}

/// Butterflies (x[g + j], x[g + m + j]) for j in [from, to), eight at a time,
/// with twiddles `w[j]` read from the stage's columns.
///
/// # Safety
/// IFMA present; the indices lie inside the columns and no other thread
/// touches them; `from`, `to` are multiples of eight.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn butterfly_run(
    columns: *mut u64,
    n: usize,
    group: usize,
    m: usize,
    from: usize,
    to: usize,
    stage_twiddles: *const u64,
    tw_stride: usize,
    field: &Field52,
) {
    let c = Consts8::new(field);
    for j in (from..to).step_by(LANES) {
        // SAFETY: by the caller's promise.
        unsafe {
            let a = Fe8::load(columns, n, group + j);
            let b = Fe8::load(columns, n, group + m + j);
            let w = Fe8::load(stage_twiddles, tw_stride, j);
            let t = ifma::mul(&b, &w, &c);
            ifma::add(&a, &t, &c).store(columns, n, group + j);
            ifma::sub(&a, &t, &c).store(columns, n, group + m + j);
        }
    }
}

/// Columns back to arkworks elements, times 1/n (given in IFMA form) for an
/// inverse transform.
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn copy_out(
    columns: &[u64],
    n: usize,
    start: usize,
    out: &mut [Fr],
    scale: Option<&[u64; LIMBS]>,
    field: &Field52,
) {
    let c = Consts8::new(field);
    let scale = scale.map(|s| Fe8::from_lanes(&[*s; LANES]));
    for (g, out) in out.chunks_exact_mut(LANES).enumerate() {
        // SAFETY: start + 8g + 8 <= n.
        let mut v = unsafe { Fe8::load(columns.as_ptr(), n, start + g * LANES) };
        if let Some(scale) = &scale {
            v = ifma::mul(&v, scale, &c);
        }
        for (value, limbs) in out.iter_mut().zip(v.to_lanes()) {
            *value = Fr::new_unchecked(BigInt(ifma::to_64(limbs)));
        }
    }
}
