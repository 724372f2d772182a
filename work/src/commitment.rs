//! The Poseidon commitments that are a GEMM work proof's public inputs, and
//! that a receipt states as its `inputCommitment` and `outputCommitment`: the
//! same circomlib-compatible Poseidon as the receipts ([`proofmint_circuits::poseidon`]),
//! so that a client with circomlibjs computes them from the matrices alone.
//!
//! The sponge, for a shape m×k×n:
//! 1. **Entries.** Input: `A` in column-major order (column 0 of A top to
//!    bottom, then column 1, ...; numpy's `A.T.ravel()`), then `B` in
//!    row-major order (`B.ravel()`). Output: `C` in row-major order.
//! 2. **Packing.** Entries are taken in groups of `group` (the last group may
//!    be shorter); a group is the number whose base-`2^bits` digits, most
//!    significant first, are its entries plus `offset`. Input entries are
//!    int8: offset 128, 8 bits, 31 to a group (248 bits). An output entry is a
//!    sum of k products of int8s, each in `[-16256, 16384]` (−128·127 and
//!    (−128)²), so with offset `k·16256` its digit lies in `[0, k·32640]`:
//!    `bits` is the bit length of `k·32640`, and a group holds `⌊253 / bits⌋`
//!    of them. Every digit is below `2^bits` and every group below
//!    2^253 < r, so packing is injective.
//! 3. **Chain.** `h = tag·2^96 + m·2^64 + k·2^32 + n` (tag 1 for the input,
//!    2 for the output); then for each run of three packed elements (the last
//!    run padded with zeros) `h = Poseidon(h, e0, e1, e2)`, circomlib's
//!    four-input Poseidon. The commitment is the last `h`.
//!
//! The circuit computes the same numbers from the cells it checks `C = A·B`
//! on, so a proof with these public inputs is a proof about these matrices.

use ark_ff::PrimeField;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::{Field as _, PrimeField as _};

use crate::gemm::{field, Shape};

/// Packed elements one Poseidon step absorbs (with the chain value: four inputs).
pub const RATE: usize = 3;
/// The chain's starting tag for the input (`A‖B`) commitment.
pub const INPUT_TAG: u64 = 1;
/// The chain's starting tag for the output (`C`) commitment.
pub const OUTPUT_TAG: u64 = 2;

/// How a sequence of entries becomes field elements (see the module's note).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packing {
    /// Bits per digit.
    pub bits: u32,
    /// Added to every entry, making its digit non-negative.
    pub offset: u64,
    /// Entries per packed element.
    pub group: usize,
}

impl Packing {
    /// int8 entries of `A` and `B`: 31 bytes to an element.
    pub const INPUT: Packing = Packing {
        bits: 8,
        offset: 128,
        group: 31,
    };

    /// Entries of `C` for an inner dimension `k`.
    pub fn output(k: usize) -> Packing {
        let k = k as u64;
        let widest = k * 32_640; // k·16384 − (−k·16256)
        let bits = 64 - widest.leading_zeros();
        Packing {
            bits,
            offset: k * 16_256,
            group: (253 / bits) as usize,
        }
    }

    /// The offset added to every entry, in the field.
    pub fn offset(&self) -> Fr {
        Fr::from(self.offset)
    }

    /// The base of the digits: `2^bits`.
    pub fn base(&self) -> Fr {
        Fr::from(2).pow_vartime([u64::from(self.bits)])
    }

    /// How many packed elements `entries` entries make.
    pub fn elements(&self, entries: usize) -> usize {
        entries.div_ceil(self.group)
    }

    /// The packed elements of `entries` (as field elements: the circuit's
    /// cells, which the tests may tamper with).
    pub fn pack(&self, entries: impl IntoIterator<Item = Fr>) -> Vec<Fr> {
        let (offset, base) = (self.offset(), self.base());
        let mut out = Vec::new();
        let mut acc = Fr::zero();
        let mut count = 0;
        for entry in entries {
            acc = acc * base + entry + offset;
            count += 1;
            if count == self.group {
                out.push(acc);
                acc = Fr::zero();
                count = 0;
            }
        }
        if count > 0 {
            out.push(acc);
        }
        out
    }
}

/// The chain's first value for `tag` and `shape`.
pub fn chain_start(tag: u64, shape: Shape) -> Fr {
    let limb = |v: usize| {
        assert!(v < 1 << 32, "matrix dimensions are below 2^32");
        v as u128
    };
    let low = (limb(shape.k) << 32) | limb(shape.n);
    let high = (u128::from(tag) << 32) | limb(shape.m);
    Fr::from_u128(high) * Fr::from_u128(1 << 64) + Fr::from_u128(low)
}

/// The chain over packed `elements` from `start`: every intermediate value,
/// one per Poseidon step (the last is the commitment).
pub fn chain(start: Fr, elements: &[Fr]) -> Vec<Fr> {
    let mut h = start;
    elements
        .chunks(RATE)
        .map(|run| {
            let mut inputs = [
                to_ark(h),
                Default::default(),
                Default::default(),
                Default::default(),
            ];
            for (slot, e) in inputs[1..].iter_mut().zip(run) {
                *slot = to_ark(*e);
            }
            h = from_ark(proofmint_circuits::poseidon::hash(&inputs));
            h
        })
        .collect()
}

/// The input entries in commitment order: `A` column-major, then `B` row-major.
pub fn input_entries<'a>(shape: Shape, a: &'a [i8], b: &'a [i8]) -> impl Iterator<Item = i8> + 'a {
    let Shape { m, k, .. } = shape;
    (0..k)
        .flat_map(move |t| (0..m).map(move |i| a[i * k + t]))
        .chain(b.iter().copied())
}

/// The commitment to `A‖B` (a receipt's `inputCommitment`).
pub fn input_commitment(shape: Shape, a: &[i8], b: &[i8]) -> Fr {
    let entries = input_entries(shape, a, b).map(|e| field(e as i64));
    commit(INPUT_TAG, shape, Packing::INPUT, entries)
}

/// The commitment to `C` (a receipt's `outputCommitment`).
pub fn output_commitment(shape: Shape, c: &[i64]) -> Fr {
    let entries = c.iter().map(|&e| field(e));
    commit(OUTPUT_TAG, shape, Packing::output(shape.k), entries)
}

fn commit(tag: u64, shape: Shape, packing: Packing, entries: impl Iterator<Item = Fr>) -> Fr {
    commit_packed(tag, shape, &packing.pack(entries))
}

/// The chain's last value over packed `elements` (see the module's note).
pub(crate) fn commit_packed(tag: u64, shape: Shape, elements: &[Fr]) -> Fr {
    *chain(chain_start(tag, shape), elements)
        .last()
        .expect("a shape has at least one entry")
}

/// A field element as `0x` and 64 hex digits, big-endian (as receipts write
/// their commitments).
pub fn to_hex(x: &Fr) -> String {
    let mut bytes = x.to_repr();
    bytes.reverse();
    let digits: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("0x{digits}")
}

/// halo2's BN254 scalar as arkworks' (the same field).
pub fn to_ark(x: Fr) -> ark_bn254::Fr {
    ark_bn254::Fr::from_le_bytes_mod_order(&x.to_repr())
}

/// arkworks' BN254 scalar as halo2's.
pub fn from_ark(x: ark_bn254::Fr) -> Fr {
    let mut bytes = [0u8; 32];
    let limbs = x.into_bigint().0;
    for (chunk, limb) in bytes.chunks_exact_mut(8).zip(limbs) {
        chunk.copy_from_slice(&limb.to_le_bytes());
    }
    Fr::from_repr(bytes).expect("a canonical element")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_bounds() {
        let p = Packing::output(128);
        assert_eq!((p.bits, p.group, p.offset), (22, 11, 128 * 16_256));
        assert_eq!(Packing::output(64).group, 12);
        assert_eq!(Packing::output(1).bits, 15);
        // The extreme entries fit their digits: k·16384 (all -128) and
        // -k·16256 (-128 against 127).
        for k in [1u64, 3, 64, 128, 1000, 1 << 16] {
            let p = Packing::output(k as usize);
            assert!(k * 16_384 + p.offset < 1 << p.bits, "k = {k}");
            assert_eq!(p.offset, k * 16_256);
            assert!(p.bits as usize * p.group <= 253);
        }
        let p = Packing {
            bits: 8,
            offset: 128,
            group: 2,
        };
        // Digits +128, most significant first: (1 + 128)·256 + (-1 + 128).
        assert_eq!(
            p.pack([field(1), field(-1), field(5)]),
            vec![Fr::from(129 * 256 + 127), Fr::from(133)]
        );
    }

    #[test]
    fn conversions_round_trip() {
        for v in [0u64, 1, 12345, u64::MAX] {
            assert_eq!(from_ark(to_ark(Fr::from(v))), Fr::from(v));
        }
        assert_eq!(from_ark(to_ark(-Fr::one())), -Fr::one());
        assert_eq!(
            chain_start(2, Shape { m: 3, k: 4, n: 5 }),
            Fr::from_u128((2u128 << 96) | (3 << 64) | (4 << 32) | 5)
        );
    }
}
