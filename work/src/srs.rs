//! halo2's KZG parameters from a Powers of Tau: `[τ^i]G1` for i < 2^k,
//! `G2` and `[τ]G2`, read and checked by [`proofmint_circuits::ptau`].
//!
//! arkworks and halo2curves both keep BN254 coordinates in Montgomery form
//! with R = 2^256, but nothing promises the same memory layout, so points
//! cross through canonical little-endian bytes, and halo2curves checks each
//! coordinate and that each point is on its curve again.

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ff::{BigInteger, PrimeField};
use halo2_proofs::halo2curves::bn256::{self, Bn256};
use halo2_proofs::halo2curves::CurveAffine;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use proofmint_circuits::ptau::{Ptau, PtauError};

/// Why KZG parameters could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SrsError {
    #[error(transparent)]
    Ptau(#[from] PtauError),
    #[error("a point did not convert to halo2curves' form: {0}")]
    Convert(&'static str),
    #[error("k = {k} is outside 1..={max}")]
    Size { k: u32, max: u32 },
}

/// The largest circuit size supported: halo2's extended domain is 2^(k+2)
/// at most for our gates, and BN254's scalar field has 2-adicity 28.
pub const MAX_K: u32 = 26;

fn fq(value: &Fq) -> Result<bn256::Fq, SrsError> {
    let bytes: [u8; 32] = value
        .into_bigint()
        .to_bytes_le()
        .try_into()
        .expect("32 bytes");
    Option::from(bn256::Fq::from_bytes(&bytes)).ok_or(SrsError::Convert("non-canonical coordinate"))
}

fn fq2(value: &Fq2) -> Result<bn256::Fq2, SrsError> {
    Ok(bn256::Fq2 {
        c0: fq(&value.c0)?,
        c1: fq(&value.c1)?,
    })
}

/// An arkworks G1 point as halo2curves' (never the point at infinity here).
pub fn g1(point: &G1Affine) -> Result<bn256::G1Affine, SrsError> {
    let (x, y) = (fq(&point.x)?, fq(&point.y)?);
    Option::from(bn256::G1Affine::from_xy(x, y)).ok_or(SrsError::Convert("G1 point off the curve"))
}

/// An arkworks G2 point as halo2curves'.
pub fn g2(point: &G2Affine) -> Result<bn256::G2Affine, SrsError> {
    let (x, y) = (fq2(&point.x)?, fq2(&point.y)?);
    Option::from(bn256::G2Affine::from_xy(x, y)).ok_or(SrsError::Convert("G2 point off the curve"))
}

/// KZG parameters for circuits of 2^k rows from a read (and, by the caller,
/// consistency-checked) Powers of Tau holding at least 2^k powers.
pub fn params_from_ptau(ptau: &Ptau, k: u32) -> Result<ParamsKZG<Bn256>, SrsError> {
    if k == 0 || k > MAX_K {
        return Err(SrsError::Size { k, max: MAX_K });
    }
    let n = 1usize << k;
    if ptau.tau_g1.len() < n || ptau.tau_g2.len() < 2 {
        return Err(PtauError::PowerTooSmall {
            have: ptau.power.min(ptau.tau_g2.len().trailing_zeros()),
            need: k,
        }
        .into());
    }
    let powers = ptau.tau_g1[..n]
        .iter()
        .map(g1)
        .collect::<Result<Vec<_>, _>>()?;
    let (generator, tau_g2) = (g2(&ptau.tau_g2[0])?, g2(&ptau.tau_g2[1])?);
    // halo2 makes parameters from parts only through an existing value; a
    // throwaway of the smallest size serves (its own random secret is
    // discarded with it).
    let template = ParamsKZG::<Bn256>::setup(1, rand::rngs::OsRng);
    Ok(template.from_parts(k, powers, None, generator, tau_g2))
}

/// [`params_from_ptau`] straight from a `.ptau` file: reads the powers a
/// circuit of 2^k rows needs (2^k powers of τ in G1 and [τ]G2, not the rest:
/// [`Ptau::open_kzg`]), checks them for consistency, converts.
pub fn params_from_file(path: &std::path::Path, k: u32) -> Result<ParamsKZG<Bn256>, SrsError> {
    let ptau = Ptau::open_kzg(path, k)?;
    ptau.check_consistency(&mut rand::rngs::OsRng)?;
    params_from_ptau(&ptau, k)
}
