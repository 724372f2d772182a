//! snarkjs's JSON layouts, so third-party tools can check our keys and proofs
//! (`snarkjs groth16 verify verification_key.json public.json proof.json`).
//!
//! Field elements are decimal strings; G1 points are `[x, y, "1"]`, G2 points
//! `[[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]` in affine coordinates, and the
//! point at infinity is `["0", "1", "0"]` (snarkjs's projective zero).

use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{PrimeField, Zero};
use ark_groth16::Proof;
use proofmint_circuits::claim::{ClaimPublic, NUM_PUBLIC_INPUTS};
use proofmint_circuits::codec::DecodeError;
use proofmint_circuits::field::{fr_from_decimal, fr_to_decimal};
use serde_json::{json, Value};

use crate::keys::VerifyingKeyFile;

fn fq_dec(value: &Fq) -> String {
    value.into_bigint().to_string()
}

fn g1(point: &G1Affine) -> Value {
    match point.xy() {
        Some((x, y)) => json!([fq_dec(&x), fq_dec(&y), "1"]),
        None => json!(["0", "1", "0"]),
    }
}

fn g2(point: &G2Affine) -> Value {
    match point.xy() {
        Some((x, y)) => json!([
            [fq_dec(&x.c0), fq_dec(&x.c1)],
            [fq_dec(&y.c0), fq_dec(&y.c1)],
            ["1", "0"]
        ]),
        None => json!([["0", "0"], ["1", "0"], ["0", "0"]]),
    }
}

/// `verification_key.json`. The `proofmint` member records shape, digest and
/// setup; snarkjs ignores members it does not know.
pub fn verifying_key_json(key: &VerifyingKeyFile) -> Value {
    json!({
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": NUM_PUBLIC_INPUTS,
        "vk_alpha_1": g1(&key.vk.alpha_g1),
        "vk_beta_2": g2(&key.vk.beta_g2),
        "vk_gamma_2": g2(&key.vk.gamma_g2),
        "vk_delta_2": g2(&key.vk.delta_g2),
        "IC": key.vk.gamma_abc_g1.iter().map(g1).collect::<Vec<_>>(),
        "proofmint": {
            "circuit": "claim",
            "slots": key.shape.slots,
            "depth": key.shape.depth,
            "keyDigest": key.digest_hex(),
            "setup": key.setup.label(),
            "transcript": key.transcript.map(|t| format!("0x{}", hex::encode(t))),
        }
    })
}

/// `proof.json`.
pub fn proof_json(proof: &Proof<Bn254>) -> Value {
    json!({
        "pi_a": g1(&proof.a),
        "pi_b": g2(&proof.b),
        "pi_c": g1(&proof.c),
        "protocol": "groth16",
        "curve": "bn128",
    })
}

/// `public.json`: the public inputs in circuit order, as decimal strings.
pub fn public_json(public: &ClaimPublic) -> Value {
    Value::Array(
        public
            .to_inputs()
            .iter()
            .map(|f| Value::String(fr_to_decimal(f)))
            .collect(),
    )
}

fn invalid(field: &'static str, reason: impl Into<String>) -> DecodeError {
    DecodeError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn fq_from(value: &Value, field: &'static str) -> Result<Fq, DecodeError> {
    let text = value
        .as_str()
        .ok_or_else(|| invalid(field, "expected a decimal string"))?;
    if text.is_empty() || text.len() > 78 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(field, format!("{text:?} is not a decimal integer")));
    }
    let big: num_like::Big = text
        .parse()
        .map_err(|_| invalid(field, "not a decimal integer"))?;
    big.to_fq()
        .ok_or_else(|| invalid(field, "not below the base field modulus (non-canonical)"))
}

/// A minimal decimal reader for base-field elements, rejecting values >= q.
mod num_like {
    use ark_bn254::Fq;
    use ark_ff::{BigInt, PrimeField};

    pub struct Big([u64; 4]);

    impl std::str::FromStr for Big {
        type Err = ();
        fn from_str(text: &str) -> Result<Self, ()> {
            let mut limbs = [0u64; 4];
            for digit in text.bytes() {
                let mut carry = (digit - b'0') as u128;
                for limb in limbs.iter_mut() {
                    let wide = (*limb as u128) * 10 + carry;
                    *limb = wide as u64;
                    carry = wide >> 64;
                }
                if carry != 0 {
                    return Err(());
                }
            }
            Ok(Big(limbs))
        }
    }

    impl Big {
        pub fn to_fq(&self) -> Option<Fq> {
            Fq::from_bigint(BigInt::new(self.0))
        }
    }
}

fn expect_str(value: &Value, expected: &str, field: &'static str) -> Result<(), DecodeError> {
    if value.as_str() != Some(expected) {
        return Err(invalid(field, format!("expected \"{expected}\"")));
    }
    Ok(())
}

fn g1_from(value: &Value, field: &'static str) -> Result<G1Affine, DecodeError> {
    let parts = value
        .as_array()
        .filter(|a| a.len() == 3)
        .ok_or_else(|| invalid(field, "expected [x, y, z]"))?;
    if parts[2].as_str() == Some("0") {
        return Ok(G1Affine::zero());
    }
    expect_str(&parts[2], "1", field)?;
    let point = G1Affine::new_unchecked(fq_from(&parts[0], field)?, fq_from(&parts[1], field)?);
    if !point.is_on_curve() || !point.is_in_correct_subgroup_assuming_on_curve() {
        return Err(invalid(field, "point is not on BN254's G1"));
    }
    Ok(point)
}

fn fq2_from(value: &Value, field: &'static str) -> Result<Fq2, DecodeError> {
    let parts = value
        .as_array()
        .filter(|a| a.len() == 2)
        .ok_or_else(|| invalid(field, "expected [c0, c1]"))?;
    Ok(Fq2::new(
        fq_from(&parts[0], field)?,
        fq_from(&parts[1], field)?,
    ))
}

fn g2_from(value: &Value, field: &'static str) -> Result<G2Affine, DecodeError> {
    let parts = value
        .as_array()
        .filter(|a| a.len() == 3)
        .ok_or_else(|| invalid(field, "expected [x, y, z]"))?;
    let z = fq2_from(&parts[2], field)?;
    if z.is_zero() {
        return Ok(G2Affine::zero());
    }
    if z != Fq2::new(1u64.into(), 0u64.into()) {
        return Err(invalid(
            field,
            "expected affine coordinates (z = [\"1\", \"0\"])",
        ));
    }
    let point = G2Affine::new_unchecked(fq2_from(&parts[0], field)?, fq2_from(&parts[1], field)?);
    if !point.is_on_curve() || !point.is_in_correct_subgroup_assuming_on_curve() {
        return Err(invalid(field, "point is not in BN254's G2 subgroup"));
    }
    Ok(point)
}

/// Reads `proof.json`, checking every point.
pub fn proof_from_json(value: &Value) -> Result<Proof<Bn254>, DecodeError> {
    Ok(Proof {
        a: g1_from(&value["pi_a"], "pi_a")?,
        b: g2_from(&value["pi_b"], "pi_b")?,
        c: g1_from(&value["pi_c"], "pi_c")?,
    })
}

/// Reads `public.json`: exactly six canonical field elements.
pub fn public_from_json(value: &Value) -> Result<ClaimPublic, DecodeError> {
    let items = value
        .as_array()
        .filter(|a| a.len() == NUM_PUBLIC_INPUTS)
        .ok_or_else(|| {
            invalid(
                "public",
                format!("expected an array of {NUM_PUBLIC_INPUTS} decimal strings"),
            )
        })?;
    let mut inputs = [Fr::zero(); NUM_PUBLIC_INPUTS];
    for (slot, item) in inputs.iter_mut().zip(items) {
        let text = item
            .as_str()
            .ok_or_else(|| invalid("public", "expected decimal strings"))?;
        *slot = fr_from_decimal(text).map_err(|source| DecodeError::Field {
            field: "public",
            source,
        })?;
    }
    Ok(ClaimPublic::from_inputs(&inputs))
}
