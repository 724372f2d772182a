//! Multi-scalar multiplication (G1 and G2) and number-theoretic transforms over
//! BN254, behind one [`Backend`] trait, chosen at run time.
//!
//! This crate knows nothing of circuits or proofs: the prover hands it slices
//! it owns and gets group elements or transformed slices back. Backends:
//! - [`CpuBackend`]: multi-threaded bucket MSM with signed digits and
//!   batch-affine bucket accumulation, and a radix-2 NTT with precomputed
//!   twiddles; on CPUs with AVX-512 IFMA their field arithmetic runs eight
//!   elements at a time (`ifma`, `msm_ifma`, `ntt_ifma`, `subgroup_ifma`),
//!   elsewhere one element at a time ([`msm::msm`]'s bucket method, the
//!   radix-2 [`ntt::ntt`]), with MULX/ADX assembly for the products where
//!   the CPU has it (`adx`) and arkworks' arithmetic otherwise (`products`).
//!   One CPU check per process decides which (`arithmetic()`); the vector
//!   and assembly entry points take the token only that check makes. Portable and vector
//!   modules do not import each other: both build on the lower tier
//!   (`bucket` for the MSM, `twiddles` for the NTT, `curve_ifma` for point
//!   coordinates in vector lanes), and `msm`/`ntt` dispatch between them.
//! - [`IcicleBackend`]: ICICLE's MSM and NTT through its C ABI, loaded at run
//!   time from an installed ICICLE (CUDA device where present, else its CPU device).
//!   Besides the [`Backend`] calls (which move everything across at each
//!   call), it keeps data on the device ([`icicle::DeviceBuffer`]): bases
//!   uploaded once, MSMs and NTTs on resident data, and the vector
//!   operations a witness map needs ([`Backend::resident`] hands it to a prover).
//!
//! Beside the backends: [`subgroup`] checks many G2 points' subgroups at once,
//! [`scale`] multiplies many G1 points by one scalar (a ceremony's
//! contribution) and [`columns`] sums a sparse matrix's columns over points (a
//! ceremony's initial key), all in batch-affine steps that share their
//! inversions: eight lanes at a time with AVX-512 IFMA, one at a time on the
//! scalar path's products elsewhere (`columns_affine` plans the steps).
//!
//! Every backend must agree with arkworks on every input; the tests check it.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};

#[cfg(target_arch = "x86_64")]
mod adx;
mod bucket;
pub mod columns;
mod columns_affine;
#[cfg(target_arch = "x86_64")]
mod columns_ifma;
pub mod cpu;
#[cfg(target_arch = "x86_64")]
mod curve_ifma;
pub mod icicle;
#[cfg(target_arch = "x86_64")]
pub(crate) mod ifma;
mod lockstep;

pub mod msm;
#[cfg(target_arch = "x86_64")]
mod msm_ifma;
pub mod ntt;
#[cfg(target_arch = "x86_64")]
mod ntt_ifma;
mod products;
pub mod scale;
pub mod subgroup;
#[cfg(target_arch = "x86_64")]
mod subgroup_ifma;
mod twiddles;

pub use cpu::CpuBackend;
pub use icicle::IcicleBackend;

/// The environment variable that keeps `CpuBackend` off its faster paths:
/// `PROOFMINT_PORTABLE=1` runs the scalar path even on a CPU with AVX-512
/// IFMA (MULX/ADX assembly where the CPU has it), `PROOFMINT_PORTABLE=generic`
/// runs arkworks' portable arithmetic whatever the CPU.
pub const PORTABLE_ENV: &str = "PROOFMINT_PORTABLE";

/// The field arithmetic `CpuBackend` runs on this CPU, decided once per
/// process by one CPU check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arithmetic {
    /// One element at a time ([`Scalar`]).
    Portable(Scalar),
    /// Eight elements at a time in 52-bit limbs, with the check's token.
    #[cfg(target_arch = "x86_64")]
    Ifma(ifma::Ifma),
}

/// The arithmetic of the scalar paths: what a CPU without AVX-512 IFMA runs,
/// and what the vector paths fall back to for small inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    /// arkworks' portable Rust (any CPU).
    Generic,
    /// MULX/ADCX/ADOX assembly, with the check's token.
    #[cfg(target_arch = "x86_64")]
    Adx(adx::Adx),
}

pub(crate) fn arithmetic() -> Arithmetic {
    #[cfg(target_arch = "x86_64")]
    if let Some(token) = ifma::detect() {
        return Arithmetic::Ifma(token);
    }
    Arithmetic::Portable(scalar_arithmetic())
}

pub(crate) fn scalar_arithmetic() -> Scalar {
    #[cfg(target_arch = "x86_64")]
    if let Some(token) = adx::detect() {
        return Scalar::Adx(token);
    }
    Scalar::Generic
}

/// Every arithmetic this CPU can run, fastest first, whatever
/// [`PORTABLE_ENV`] says (for [`CpuBackend::every_path`]).
pub(crate) fn every_arithmetic() -> Vec<Arithmetic> {
    let mut all = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        all.extend(ifma::cpu_check().map(Arithmetic::Ifma));
        all.extend(adx::cpu_check().map(|token| Arithmetic::Portable(Scalar::Adx(token))));
    }
    all.push(Arithmetic::Portable(Scalar::Generic));
    all
}

/// Every scalar arithmetic this CPU can run (for tests of the scalar paths).
#[cfg(test)]
pub(crate) fn every_scalar_arithmetic() -> Vec<Scalar> {
    every_arithmetic()
        .into_iter()
        .filter_map(|a| match a {
            Arithmetic::Portable(scalar) => Some(scalar),
            #[cfg(target_arch = "x86_64")]
            Arithmetic::Ifma(_) => None,
        })
        .collect()
}

/// Which way a transform goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NttDirection {
    /// Coefficients to evaluations (at `offset * ω^i` for a coset transform).
    Forward,
    /// Evaluations back to coefficients.
    Inverse,
}

/// Why a backend could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    #[error("{bases} bases but {scalars} scalars")]
    LengthMismatch { bases: usize, scalars: usize },
    #[error("NTT size {0} is not a power of two")]
    NotPowerOfTwo(usize),
    #[error("NTT size 2^{log_size} exceeds the largest this backend supports, 2^{max_log_size}")]
    TooLarge { log_size: u32, max_log_size: u32 },
    #[error("the coset offset is zero")]
    ZeroOffset,
    #[error("{backend}: {message}")]
    Device {
        backend: &'static str,
        message: String,
    },
    /// The caller asked the computation to stop (a cancelled job, a lost
    /// lease): raised between operations, never inside one.
    #[error("stopped: {0}")]
    Stopped(String),
}

/// Refuses an MSM whose slices differ in length.
pub(crate) fn check_lengths(bases: usize, scalars: usize) -> Result<(), BackendError> {
    if bases != scalars {
        return Err(BackendError::LengthMismatch { bases, scalars });
    }
    Ok(())
}

/// MSM and NTT over BN254, on slices the caller owns.
pub trait Backend: Send + Sync {
    /// A short name for logs ("cpu", "icicle-cuda", ...).
    fn name(&self) -> &str;

    /// `Σ scalars[i] · bases[i]` in G1.
    fn msm_g1(&self, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective, BackendError>;

    /// `Σ scalars[i] · bases[i]` in G2.
    fn msm_g2(&self, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective, BackendError>;

    /// In-place NTT over the subgroup of order `values.len()` (a power of two),
    /// natural order in and out.
    fn ntt(&self, values: &mut [Fr], direction: NttDirection) -> Result<(), BackendError>;

    /// In-place NTT over the coset `offset · H`: forward evaluates the
    /// polynomial with coefficients `values` at `offset · ω^i`; inverse undoes it.
    fn coset_ntt(
        &self,
        values: &mut [Fr],
        offset: Fr,
        direction: NttDirection,
    ) -> Result<(), BackendError>;

    /// The backend that keeps data on its device between calls (ICICLE):
    /// a prover uploads a key's bases to it once and runs the witness map
    /// and the MSMs on resident data. `None` for a backend without a device.
    fn resident(&self) -> Option<&IcicleBackend> {
        None
    }
}

/// Which backend a user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// ICICLE when it is installed and its CUDA device is available; the CPU
    /// backend otherwise (ICICLE's CPU device is slower than [`CpuBackend`]).
    #[default]
    Auto,
    /// [`CpuBackend`].
    Cpu,
    /// [`IcicleBackend`] on its CUDA device if available, else its CPU device.
    Icicle,
}

impl std::str::FromStr for BackendChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "icicle" => Ok(Self::Icicle),
            other => Err(format!(
                "unknown backend {other:?}: expected auto, cpu or icicle"
            )),
        }
    }
}

/// The backend for `choice`, and a sentence saying what was picked and why.
/// `icicle_dir` is ICICLE's install directory (else `PROOFMINT_ICICLE_DIR`).
pub fn select_backend(
    choice: BackendChoice,
    icicle_dir: Option<&std::path::Path>,
) -> Result<(Box<dyn Backend>, String), BackendError> {
    let cpu = || -> Box<dyn Backend> { Box::new(CpuBackend::new()) };
    let dir = icicle::install_dir(icicle_dir);
    match choice {
        BackendChoice::Cpu => Ok((
            cpu(),
            format!("backend: cpu ({}; as asked)", CpuBackend::new().summary()),
        )),
        BackendChoice::Icicle => {
            let dir = dir.ok_or_else(|| BackendError::Device {
                backend: "icicle",
                message: format!(
                    "ICICLE not found: install it (see ICICLE's documentation) and set {} or --icicle-dir to its directory",
                    icicle::ICICLE_DIR_ENV
                ),
            })?;
            let backend = IcicleBackend::load(&dir)?;
            let why = format!(
                "backend: {} (as asked, from {})",
                backend.name(),
                dir.display()
            );
            Ok((Box::new(backend), why))
        }
        BackendChoice::Auto => {
            let Some(dir) = dir else {
                return Ok((
                    cpu(),
                    format!(
                        "backend: cpu ({}; auto: ICICLE not installed)",
                        CpuBackend::new().summary()
                    ),
                ));
            };
            match IcicleBackend::load(&dir) {
                Ok(backend) if backend.device() == "CUDA" => {
                    let why = format!("backend: icicle-cuda (auto: CUDA device available, ICICLE from {})", dir.display());
                    Ok((Box::new(backend), why))
                }
                Ok(_) => Ok((cpu(), format!("backend: cpu ({}; auto: ICICLE has no CUDA device here, and its CPU device is slower)", CpuBackend::new().summary()))),
                Err(e) => Ok((cpu(), format!("backend: cpu ({}; auto: ICICLE could not be used: {e})", CpuBackend::new().summary()))),
            }
        }
    }
}
