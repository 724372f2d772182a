//! Canonical encodings of BN254 scalar field elements and Ethereum addresses.
//!
//! Every field element that enters the system from outside goes through here,
//! so that a value at or above the modulus is rejected rather than reduced:
//! two encodings of one element would let one receipt take two identities.

use alloy_primitives::{Address, U256};
use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};

/// Why a field element or address could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("expected 0x-prefixed hex, found {0:?}")]
    NotHex(String),
    #[error("value has more than 256 bits")]
    TooLong,
    #[error("value is not below the BN254 scalar field modulus (non-canonical)")]
    NonCanonical,
    #[error("expected a 20-byte 0x-prefixed address, found {0:?}")]
    BadAddress(String),
}

/// Big-endian 32-byte encoding of a field element.
pub fn fr_to_be_bytes(value: &Fr) -> [u8; 32] {
    let bytes = value.into_bigint().to_bytes_be();
    let mut out = [0u8; 32];
    out[32 - bytes.len()..].copy_from_slice(&bytes);
    out
}

/// Reads a big-endian 32-byte field element, rejecting values >= the modulus.
pub fn fr_from_be_bytes(bytes: &[u8; 32]) -> Result<Fr, FieldError> {
    let as_u256 = U256::from_be_bytes(*bytes);
    fr_from_u256(as_u256)
}

/// Converts a 256-bit integer to a field element, rejecting values >= the modulus.
pub fn fr_from_u256(value: U256) -> Result<Fr, FieldError> {
    let limbs = value.into_limbs();
    let bigint = ark_ff::BigInt::<4>::new(limbs);
    Fr::from_bigint(bigint).ok_or(FieldError::NonCanonical)
}

/// The field element as a 256-bit integer.
pub fn fr_to_u256(value: &Fr) -> U256 {
    U256::from_limbs(value.into_bigint().0)
}

/// `0x` followed by 64 lower-case hex digits.
pub fn fr_to_hex(value: &Fr) -> String {
    format!("0x{}", hex::encode(fr_to_be_bytes(value)))
}

/// Reads `0x`-prefixed hex of at most 64 digits, rejecting non-canonical values.
pub fn fr_from_hex(text: &str) -> Result<Fr, FieldError> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .ok_or_else(|| FieldError::NotHex(text.to_string()))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(FieldError::NotHex(text.to_string()));
    }
    if digits.len() > 64 {
        return Err(FieldError::TooLong);
    }
    let value =
        U256::from_str_radix(digits, 16).map_err(|_| FieldError::NotHex(text.to_string()))?;
    fr_from_u256(value)
}

/// Decimal string of a field element (snarkjs writes field elements this way).
pub fn fr_to_decimal(value: &Fr) -> String {
    fr_to_u256(value).to_string()
}

/// Reads a decimal string, rejecting non-canonical values.
pub fn fr_from_decimal(text: &str) -> Result<Fr, FieldError> {
    if text.is_empty() || text.len() > 78 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::NotHex(text.to_string()));
    }
    let value = U256::from_str_radix(text, 10).map_err(|_| FieldError::TooLong)?;
    fr_from_u256(value)
}

/// An address read as a 160-bit integer, as the receipt leaf and the claim's
/// `node` public input take it. Always canonical: 2^160 < p.
pub fn address_to_fr(address: &Address) -> Fr {
    Fr::from_be_bytes_mod_order(address.as_slice())
}

/// The address a field element encodes, if it is below 2^160.
pub fn fr_to_address(value: &Fr) -> Option<Address> {
    let bytes = fr_to_be_bytes(value);
    bytes[..12]
        .iter()
        .all(|b| *b == 0)
        .then(|| Address::from_slice(&bytes[12..]))
}

/// Reads a `0x`-prefixed 20-byte address. Mixed-case input must carry a valid
/// EIP-55 checksum; all-lower or all-upper case is accepted as is.
pub fn parse_address(text: &str) -> Result<Address, FieldError> {
    let bad = || FieldError::BadAddress(text.to_string());
    let digits = text.strip_prefix("0x").ok_or_else(bad)?;
    if digits.len() != 40 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let mixed = digits.bytes().any(|b| b.is_ascii_lowercase())
        && digits.bytes().any(|b| b.is_ascii_uppercase());
    if mixed {
        Address::parse_checksummed(text, None).map_err(|_| bad())
    } else {
        text.parse::<Address>().map_err(|_| bad())
    }
}

/// The slices one after another in a new vector, copied by all threads.
///
/// An assignment is tens of megabytes; one thread copying it into fresh
/// pages (faulting each in) took 16 to 34 ms at 256 slots, on the critical path
/// of every proof. Here the pages are touched and filled in parallel.
pub fn concat_par<T: Copy + Send + Sync>(parts: &[&[T]]) -> Vec<T> {
    use rayon::prelude::*;
    /// Elements per task: 64K field elements are 2 MiB.
    const CHUNK: usize = 1 << 16;
    let total = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(total);
    let mut rest = &mut out.spare_capacity_mut()[..total];
    let mut jobs = Vec::with_capacity(parts.len());
    for part in parts {
        let (head, tail) = rest.split_at_mut(part.len());
        jobs.push((head, *part));
        rest = tail;
    }
    jobs.into_par_iter()
        .flat_map(|(to, from)| to.par_chunks_mut(CHUNK).zip(from.par_chunks(CHUNK)))
        .for_each(|(to, from)| {
            for (to, from) in to.iter_mut().zip(from) {
                to.write(*from);
            }
        });
    // SAFETY: the parts' lengths sum to `total`, and the loop above wrote
    // each of the first `total` elements (the chunks of the parts cover
    // them, one to one, with equal lengths).
    unsafe { out.set_len(total) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every element lands where `concat` puts it: empty parts, parts
    /// shorter and longer than a task's chunk, lengths off its boundary.
    #[test]
    fn concat_par_is_concat() {
        let chunk = 1usize << 16;
        for lengths in [
            vec![],
            vec![0],
            vec![0, 0, 5],
            vec![1, chunk - 1, 0, chunk + 1, 3],
            vec![7, 3 * chunk + 17],
        ] {
            let mut next = 0u64;
            let parts: Vec<Vec<u64>> = lengths
                .iter()
                .map(|&n| {
                    (0..n)
                        .map(|_| {
                            next += 1;
                            next.wrapping_mul(0x9e37_79b9_7f4a_7c15)
                        })
                        .collect()
                })
                .collect();
            let slices: Vec<&[u64]> = parts.iter().map(Vec::as_slice).collect();
            assert_eq!(concat_par(&slices), slices.concat(), "{lengths:?}");
        }
        let instance = [Fr::from(1u64), -Fr::from(2u64)];
        let witness: Vec<Fr> = (0..100_000u64).map(Fr::from).collect();
        assert_eq!(
            concat_par(&[&instance, &witness]),
            [&instance[..], &witness].concat()
        );
    }

    #[test]
    fn modulus_is_rejected_and_modulus_minus_one_accepted() {
        let p_minus_1 = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000000";
        let p = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
        assert_eq!(fr_from_hex(p_minus_1).unwrap(), -Fr::from(1u64));
        assert_eq!(fr_from_hex(p), Err(FieldError::NonCanonical));
        assert_eq!(
            fr_from_hex(&format!("0x{}", "f".repeat(64))),
            Err(FieldError::NonCanonical)
        );
        assert_eq!(
            fr_from_hex(&format!("0x{}", "0".repeat(65))),
            Err(FieldError::TooLong)
        );
        assert!(matches!(fr_from_hex("12"), Err(FieldError::NotHex(_))));
        assert!(matches!(fr_from_hex("0x"), Err(FieldError::NotHex(_))));
        assert!(matches!(fr_from_hex("0xzz"), Err(FieldError::NotHex(_))));
    }

    #[test]
    fn hex_and_bytes_round_trip() {
        let value = Fr::from(0x1234_5678u64);
        assert_eq!(fr_from_hex(&fr_to_hex(&value)).unwrap(), value);
        assert_eq!(fr_from_be_bytes(&fr_to_be_bytes(&value)).unwrap(), value);
        assert_eq!(fr_from_decimal(&fr_to_decimal(&value)).unwrap(), value);
    }

    #[test]
    fn addresses_check_their_checksum() {
        assert!(parse_address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266").is_ok());
        assert!(parse_address("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266").is_ok());
        assert!(parse_address("0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266").is_err());
        assert!(parse_address("0xf39fd6e51aad88f6f4ce6ab8827279cfffb922").is_err());
    }
}
