//! NTT twiddle tables, stage by stage and contiguous, built once per size and
//! direction and shared: the lower tier of the portable transform
//! ([`crate::ntt`]) and the vector one (`ntt_ifma`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use ark_bn254::Fr;
use ark_ff::{FftField, Field, One};
use rayon::prelude::*;

/// Precomputed twiddles for one size and direction.
pub(crate) struct Twiddles {
    pub(crate) log_size: u32,
    /// Stage s (half-size m = 2^s) occupies `[m - 1, 2m - 1)`.
    table: Vec<Fr>,
    /// The same twiddles as columns of 52-bit limbs, built on first use by the
    /// AVX-512 IFMA transform.
    #[cfg(target_arch = "x86_64")]
    ifma: OnceLock<Vec<u64>>,
}

impl Twiddles {
    fn new(log_size: u32, inverse: bool) -> Self {
        let n = 1usize << log_size;
        let mut table = Vec::with_capacity(n.max(2) - 1);
        for s in 0..log_size {
            let m = 1usize << s;
            let mut root = Fr::get_root_of_unity(2 * m as u64).expect("2m divides 2^28");
            if inverse {
                root = root.inverse().expect("a root of unity is non-zero");
            }
            // root^0 .. root^(m-1): ones scaled by the powers.
            let start = table.len();
            table.resize(start + m, Fr::one());
            scale_by_powers(&mut table[start..], root);
        }
        Self {
            log_size,
            table,
            #[cfg(target_arch = "x86_64")]
            ifma: OnceLock::new(),
        }
    }

    /// Every stage's twiddles, stage after stage.
    pub(crate) fn all(&self) -> &[Fr] {
        &self.table
    }

    /// The twiddles in the vector transform's layout, made by `build` on
    /// first use and kept with the table.
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn ifma_columns(&self, build: impl FnOnce(&Self) -> Vec<u64>) -> &[u64] {
        self.ifma.get_or_init(|| build(self))
    }

    pub(crate) fn stage(&self, s: u32) -> &[Fr] {
        let m = 1usize << s;
        &self.table[m - 1..2 * m - 1]
    }
}

/// Twiddle tables by (log size, inverse).
type TwiddleCache = Mutex<HashMap<(u32, bool), Arc<Twiddles>>>;

/// Twiddle tables by (log size, inverse), built once and shared.
pub(crate) fn twiddles(log_size: u32, inverse: bool) -> Arc<Twiddles> {
    static CACHE: OnceLock<TwiddleCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    map.entry((log_size, inverse))
        .or_insert_with(|| Arc::new(Twiddles::new(log_size, inverse)))
        .clone()
}

/// Multiplies `values[i]` by `factor^i`, in parallel chunks.
pub(crate) fn scale_by_powers(values: &mut [Fr], factor: Fr) {
    const CHUNK: usize = 1 << 12;
    values
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(k, chunk)| {
            let mut power = factor.pow([(k * CHUNK) as u64]);
            for v in chunk {
                *v *= power;
                power *= factor;
            }
        });
}
