//! The default backend: everything on the CPU's cores, through rayon.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};

use crate::{check_lengths, msm, ntt, Arithmetic, Backend, BackendError, NttDirection, Scalar};

/// Multi-threaded CPU MSM and NTT (uses rayon's global pool), on the field
/// arithmetic it was made with: AVX-512 IFMA lanes, MULX/ADX assembly, or
/// arkworks' portable Rust. Only a CPU check makes the first two, so a
/// `CpuBackend` never runs instructions its CPU lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuBackend {
    arithmetic: Arithmetic,
}

impl CpuBackend {
    /// The fastest arithmetic this CPU has, unless `PROOFMINT_PORTABLE`
    /// ([`crate::PORTABLE_ENV`]) asks for a slower one (one check per process).
    pub fn new() -> Self {
        Self {
            arithmetic: crate::arithmetic(),
        }
    }

    /// One backend for each arithmetic this CPU can run, fastest first, whatever
    /// `PROOFMINT_PORTABLE` says: tests hold every path to the same answers
    /// in one process, and benchmarks time each.
    pub fn every_path() -> Vec<Self> {
        crate::every_arithmetic()
            .into_iter()
            .map(|arithmetic| Self { arithmetic })
            .collect()
    }

    /// The arithmetic's name: "AVX-512 IFMA", "MULX/ADX" or "portable".
    pub fn arithmetic_name(&self) -> &'static str {
        match self.arithmetic {
            #[cfg(target_arch = "x86_64")]
            Arithmetic::Ifma(_) => "AVX-512 IFMA",
            #[cfg(target_arch = "x86_64")]
            Arithmetic::Portable(Scalar::Adx(_)) => "MULX/ADX",
            Arithmetic::Portable(Scalar::Generic) => "portable",
        }
    }

    /// A short tag for the arithmetic, for benchmark names: "ifma", "adx" or
    /// "portable".
    pub fn arithmetic_tag(&self) -> &'static str {
        match self.arithmetic {
            #[cfg(target_arch = "x86_64")]
            Arithmetic::Ifma(_) => "ifma",
            #[cfg(target_arch = "x86_64")]
            Arithmetic::Portable(Scalar::Adx(_)) => "adx",
            Arithmetic::Portable(Scalar::Generic) => "portable",
        }
    }

    /// Which arithmetic and how many threads, for logs: "AVX-512 IFMA
    /// arithmetic, 2 threads".
    pub fn summary(&self) -> String {
        format!(
            "{} arithmetic, {} threads",
            self.arithmetic_name(),
            rayon::current_num_threads()
        )
    }
}

impl Default for CpuBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &str {
        "cpu"
    }

    fn msm_g1(&self, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective, BackendError> {
        check_lengths(bases.len(), scalars.len())?;
        Ok(msm::msm_g1_on(self.arithmetic, bases, scalars, None))
    }

    fn msm_g2(&self, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective, BackendError> {
        check_lengths(bases.len(), scalars.len())?;
        Ok(msm::msm_g2_on(self.arithmetic, bases, scalars, None))
    }

    fn ntt(&self, values: &mut [Fr], direction: NttDirection) -> Result<(), BackendError> {
        ntt::ntt_on(self.arithmetic, values, direction)
    }

    fn coset_ntt(
        &self,
        values: &mut [Fr],
        offset: Fr,
        direction: NttDirection,
    ) -> Result<(), BackendError> {
        ntt::coset_ntt_on(self.arithmetic, values, offset, direction)
    }
}
