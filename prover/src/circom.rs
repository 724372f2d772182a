//! The claim circuit in circom's formats, so that the tools snarkjs users
//! run (`snarkjs r1cs info`, `snarkjs wtns check`, `snarkjs zkey new`) work
//! on it.
//!
//! Both files use iden3's binary container: 4 magic bytes, a u32 version, a
//! u32 section count, then sections of (u32 type, u64 length, bytes), all
//! little-endian, field elements in `n8` = 32 little-endian bytes in normal
//! (not Montgomery) form.
//! - `.r1cs` (version 1): header (1): n8, the prime, u32 wires, u32 public
//!   outputs, u32 public inputs, u32 private inputs, u64 labels, u32
//!   constraints; constraints (2): for each, A, B and C as u32 term count and
//!   (u32 wire, coefficient) terms; wire-to-label map (3): u64 per wire.
//! - `.wtns` (version 2): header (1): n8, the prime, u32 values; the values (2).
//!
//! Wires are arkworks' columns in order: wire 0 is the constant 1, then the
//! six public inputs (no public outputs), then every witness variable.

use std::io::Write;

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};

use proofmint_verifier::binfile;

use crate::groth16::ConstraintMatrices;

fn element(value: &Fr, out: &mut Vec<u8>) {
    out.extend_from_slice(&value.into_bigint().to_bytes_le());
}

fn prime() -> Vec<u8> {
    Fr::MODULUS.to_bytes_le()
}

/// Writes `matrices` as a circom `.r1cs` file.
pub fn write_r1cs<W: Write>(matrices: &ConstraintMatrices, out: &mut W) -> std::io::Result<()> {
    let (inputs, constraints, witnesses) = matrices.counts();
    let wires = inputs + witnesses;
    let mut header = Vec::new();
    header.extend_from_slice(&32u32.to_le_bytes());
    header.extend_from_slice(&prime());
    header.extend_from_slice(&(wires as u32).to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes()); // public outputs
    header.extend_from_slice(&((inputs - 1) as u32).to_le_bytes()); // public inputs
    header.extend_from_slice(&0u32.to_le_bytes()); // private inputs
    header.extend_from_slice(&(wires as u64).to_le_bytes()); // labels
    header.extend_from_slice(&(constraints as u32).to_le_bytes());
    let mut body = Vec::new();
    for r in 0..constraints {
        for m in 0..3 {
            let row = matrices.row(m, r);
            body.extend_from_slice(&(row.len() as u32).to_le_bytes());
            for (coefficient, column) in row {
                body.extend_from_slice(&(column as u32).to_le_bytes());
                element(&coefficient, &mut body);
            }
        }
    }
    let labels: Vec<u8> = (0..wires as u64).flat_map(u64::to_le_bytes).collect();
    binfile::write(out, b"r1cs", 1, &[(1, header), (2, body), (3, labels)])
}

/// Writes an assignment (arkworks' instance, starting with the constant 1,
/// then its witness) as a circom `.wtns` file.
pub fn write_wtns<W: Write>(instance: &[Fr], witness: &[Fr], out: &mut W) -> std::io::Result<()> {
    let mut header = Vec::new();
    header.extend_from_slice(&32u32.to_le_bytes());
    header.extend_from_slice(&prime());
    header.extend_from_slice(&((instance.len() + witness.len()) as u32).to_le_bytes());
    let mut values = Vec::with_capacity(32 * (instance.len() + witness.len()));
    for value in instance.iter().chain(witness) {
        element(value, &mut values);
    }
    binfile::write(out, b"wtns", 2, &[(1, header), (2, values)])
}
