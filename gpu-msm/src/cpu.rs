//! The default backend: everything on the CPU's cores, through rayon.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};

use crate::{check_lengths, msm, ntt, Backend, BackendError, NttDirection};

/// Multi-threaded CPU MSM and NTT (uses rayon's global pool).
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuBackend;

impl CpuBackend {
    /// Which arithmetic this CPU gets and how many threads, for logs:
    /// "AVX-512 IFMA, 2 threads" or "portable arithmetic, 2 threads".
    pub fn summary() -> String {
        format!(
            "{}, {} threads",
            if crate::vector_arithmetic() {
                "AVX-512 IFMA"
            } else {
                "portable arithmetic"
            },
            rayon::current_num_threads()
        )
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &str {
        "cpu"
    }

    fn msm_g1(&self, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective, BackendError> {
        check_lengths(bases.len(), scalars.len())?;
        Ok(msm::msm_g1(bases, scalars))
    }

    fn msm_g2(&self, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective, BackendError> {
        check_lengths(bases.len(), scalars.len())?;
        Ok(msm::msm_g2(bases, scalars))
    }

    fn ntt(&self, values: &mut [Fr], direction: NttDirection) -> Result<(), BackendError> {
        ntt::ntt(values, direction)
    }

    fn coset_ntt(
        &self,
        values: &mut [Fr],
        offset: Fr,
        direction: NttDirection,
    ) -> Result<(), BackendError> {
        ntt::coset_ntt(values, offset, direction)
    }
}
