//! Receipt v1: what a node did for a client, the client's EIP-712 signature
//! over it, and the Poseidon leaf that commits to it in the epoch tree.
//!
//! A TypeScript client with circomlibjs and a wallet produces the very same
//! bytes: the leaf is `Poseidon(DOMAIN, jobId, node, client, epoch, units, kind,
//! inputCommitment, outputCommitment)` with circomlib's parameters, and the
//! signature is an EIP-712 signature (<https://eips.ethereum.org/EIPS/eip-712>)
//! over the typed struct `Receipt(...)` under the domain
//! `{name: "proofmint", version: "1", chainId, verifyingContract}`, where the
//! verifying contract is the deployment's `EpochRegistry` (which checks these
//! signatures in its challenges): a receipt signed for one deployment never
//! verifies for another, even on the same chain id.
//!
//! This module does not own which receipts belong to an epoch (see [`crate::epoch`]).

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{eip712_domain, SolStruct};
use ark_bn254::Fr;
use ark_ff::PrimeField;
use k256::ecdsa::SigningKey;
use serde_json::{Map, Value};

use crate::codec::{put_fr, DecodeError, Reader};
use crate::field::{address_to_fr, fr_from_hex, fr_to_hex, fr_to_u256, parse_address, FieldError};
use crate::poseidon;

/// `proofmint.receipt.v1` as a big-endian integer: the leaf's domain separator.
pub const DOMAIN_TAG: &[u8] = b"proofmint.receipt.v1";

/// The leaf's domain separator as a field element.
pub fn leaf_domain() -> Fr {
    Fr::from_be_bytes_mod_order(DOMAIN_TAG)
}

/// Magic of a standalone binary receipt.
pub const MAGIC: &[u8; 4] = b"PMRC";
/// The receipt format's version.
pub const VERSION: u8 = 1;
/// Bytes of one receipt record inside a bundle (no magic, no version).
pub const RECORD_LEN: usize = 32 + 20 + 20 + 8 + 8 + 4 + 32 + 32 + 65;

/// The JSON field names of a receipt, in order.
pub const JSON_FIELDS: [&str; 9] = [
    "jobId",
    "node",
    "client",
    "epoch",
    "units",
    "kind",
    "inputCommitment",
    "outputCommitment",
    "signature",
];

mod typed {
    alloy_sol_types::sol! {
        /// EIP-712 struct; its type string is part of the protocol.
        struct Receipt {
            uint256 jobId;
            address node;
            address client;
            uint64 epoch;
            uint64 units;
            uint32 kind;
            uint256 inputCommitment;
            uint256 outputCommitment;
        }
    }
}

/// The EIP-712 domain receipts are signed under: one deployment of the
/// contracts on one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReceiptDomain {
    pub chain_id: u64,
    /// The deployment's `EpochRegistry`.
    pub verifying_contract: Address,
}

impl ReceiptDomain {
    pub fn new(chain_id: u64, verifying_contract: Address) -> Self {
        Self {
            chain_id,
            verifying_contract,
        }
    }

    /// The EIP-712 domain separator (what the registry's `domainSeparator()` returns).
    pub fn separator(&self) -> B256 {
        self.eip712().hash_struct()
    }

    fn eip712(&self) -> alloy_sol_types::Eip712Domain {
        eip712_domain! {
            name: "proofmint",
            version: "1",
            chain_id: self.chain_id,
            verifying_contract: self.verifying_contract,
        }
    }
}

impl std::fmt::Display for ReceiptDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "chain {} registry {}",
            self.chain_id,
            self.verifying_contract.to_checksum(None)
        )
    }
}

/// A node's account of one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub job_id: Fr,
    pub node: Address,
    pub client: Address,
    pub epoch: u64,
    pub units: u64,
    pub kind: u32,
    pub input_commitment: Fr,
    pub output_commitment: Fr,
}

/// A receipt with the client's 65-byte `r || s || v` signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedReceipt {
    pub receipt: Receipt,
    pub signature: [u8; 65],
}

/// Why a receipt was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("not a JSON object: {0}")]
    NotJson(String),
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    #[error("unknown field `{0}`")]
    UnknownField(String),
    #[error("field `{field}`: {source}")]
    Field {
        field: &'static str,
        source: FieldError,
    },
    #[error("field `{field}`: {reason}")]
    BadValue { field: &'static str, reason: String },
    #[error("signature is malformed: {0}")]
    MalformedSignature(String),
    #[error("signature is by {recovered}, not by the receipt's client {client}")]
    WrongSigner { recovered: Address, client: Address },
    #[error("receipt is for epoch {found}, not epoch {expected}")]
    WrongEpoch { expected: u64, found: u64 },
}

impl Receipt {
    /// The epoch-tree leaf committing to every field of the receipt.
    pub fn leaf(&self) -> Fr {
        poseidon::hash(&self.leaf_inputs())
    }

    /// The nine Poseidon inputs of the leaf, in protocol order.
    pub fn leaf_inputs(&self) -> [Fr; 9] {
        [
            leaf_domain(),
            self.job_id,
            address_to_fr(&self.node),
            address_to_fr(&self.client),
            Fr::from(self.epoch),
            Fr::from(self.units),
            Fr::from(self.kind),
            self.input_commitment,
            self.output_commitment,
        ]
    }

    /// The EIP-712 digest the client signs: `keccak256(0x1901 || domainSeparator || hashStruct)`.
    pub fn signing_hash(&self, domain: &ReceiptDomain) -> B256 {
        let typed = typed::Receipt {
            jobId: fr_to_u256(&self.job_id),
            node: self.node,
            client: self.client,
            epoch: self.epoch,
            units: self.units,
            kind: self.kind,
            inputCommitment: fr_to_u256(&self.input_commitment),
            outputCommitment: fr_to_u256(&self.output_commitment),
        };
        typed.eip712_signing_hash(&domain.eip712())
    }

    /// Signs as the client would; the signature is low-s with `v` in {27, 28}.
    pub fn sign(self, domain: &ReceiptDomain, client_key: &SigningKey) -> SignedReceipt {
        let digest = self.signing_hash(domain);
        let (signature, recovery) = client_key
            .sign_prehash_recoverable(digest.as_slice())
            .expect("a 32-byte prehash always signs");
        let mut bytes = [0u8; 65];
        bytes[..64].copy_from_slice(&signature.to_bytes());
        bytes[64] = 27 + recovery.is_y_odd() as u8;
        SignedReceipt {
            receipt: self,
            signature: bytes,
        }
    }
}

/// The Ethereum address of a secp256k1 key.
pub fn address_of(key: &SigningKey) -> Address {
    Address::from_public_key(key.verifying_key())
}

/// Half the secp256k1 group order: EIP-2 allows only `s` at or below it.
const SECP256K1_HALF_N: U256 = alloy_primitives::uint!(
    0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0_U256
);

impl SignedReceipt {
    /// Checks that the receipt's client signed it for `domain`.
    ///
    /// Accepts `v` only as 27 or 28 (what wallets write) and refuses high-`s`
    /// signatures (EIP-2), so each receipt has exactly one valid signature
    /// encoding.
    pub fn verify_signature(&self, domain: &ReceiptDomain) -> Result<(), ReceiptError> {
        let r = U256::from_be_slice(&self.signature[..32]);
        let s = U256::from_be_slice(&self.signature[32..64]);
        let parity = match self.signature[64] {
            27 => false,
            28 => true,
            v => {
                return Err(ReceiptError::MalformedSignature(format!(
                    "v = {v}, expected 27 or 28"
                )))
            }
        };
        if s > SECP256K1_HALF_N {
            return Err(ReceiptError::MalformedSignature(
                "s is in the upper half of the curve order (EIP-2)".into(),
            ));
        }
        let signature = alloy_primitives::Signature::new(r, s, parity);
        let digest = self.receipt.signing_hash(domain);
        let recovered = signature
            .recover_address_from_prehash(&digest)
            .map_err(|e| ReceiptError::MalformedSignature(e.to_string()))?;
        if recovered != self.receipt.client {
            return Err(ReceiptError::WrongSigner {
                recovered,
                client: self.receipt.client,
            });
        }
        Ok(())
    }

    /// Every check an operator makes before a receipt becomes a leaf of `epoch`.
    pub fn check(&self, epoch: u64, domain: &ReceiptDomain) -> Result<(), ReceiptError> {
        if self.receipt.epoch != epoch {
            return Err(ReceiptError::WrongEpoch {
                expected: epoch,
                found: self.receipt.epoch,
            });
        }
        self.verify_signature(domain)
    }

    /// The receipt's JSON object, fields in protocol order.
    pub fn to_json(&self) -> Value {
        let r = &self.receipt;
        let mut map = Map::new();
        map.insert("jobId".into(), fr_to_hex(&r.job_id).into());
        map.insert("node".into(), r.node.to_checksum(None).into());
        map.insert("client".into(), r.client.to_checksum(None).into());
        map.insert("epoch".into(), json_u64(r.epoch));
        map.insert("units".into(), json_u64(r.units));
        map.insert("kind".into(), r.kind.into());
        map.insert(
            "inputCommitment".into(),
            fr_to_hex(&r.input_commitment).into(),
        );
        map.insert(
            "outputCommitment".into(),
            fr_to_hex(&r.output_commitment).into(),
        );
        map.insert(
            "signature".into(),
            format!("0x{}", hex::encode(self.signature)).into(),
        );
        Value::Object(map)
    }

    /// One JSON Lines line.
    pub fn to_json_line(&self) -> String {
        self.to_json().to_string()
    }

    /// Reads a receipt object: exactly the v1 fields, each canonical.
    pub fn from_json(value: &Value) -> Result<Self, ReceiptError> {
        let map = value
            .as_object()
            .ok_or_else(|| ReceiptError::NotJson("expected an object".into()))?;
        if let Some(unknown) = map.keys().find(|k| !JSON_FIELDS.contains(&k.as_str())) {
            return Err(ReceiptError::UnknownField(unknown.clone()));
        }
        let receipt = Receipt {
            job_id: field_element(map, "jobId")?,
            node: address(map, "node")?,
            client: address(map, "client")?,
            epoch: integer(map, "epoch", u64::MAX)?,
            units: integer(map, "units", u64::MAX)?,
            kind: integer(map, "kind", u32::MAX as u64)? as u32,
            input_commitment: field_element(map, "inputCommitment")?,
            output_commitment: field_element(map, "outputCommitment")?,
        };
        let signature = signature(map)?;
        Ok(SignedReceipt { receipt, signature })
    }

    /// Parses one JSON Lines line.
    pub fn from_json_str(line: &str) -> Result<Self, ReceiptError> {
        let value: Value =
            serde_json::from_str(line).map_err(|e| ReceiptError::NotJson(e.to_string()))?;
        Self::from_json(&value)
    }

    /// The fixed-width record used inside bundles ([`RECORD_LEN`] bytes).
    pub fn write_record(&self, out: &mut Vec<u8>) {
        let r = &self.receipt;
        put_fr(out, &r.job_id);
        out.extend_from_slice(r.node.as_slice());
        out.extend_from_slice(r.client.as_slice());
        out.extend_from_slice(&r.epoch.to_be_bytes());
        out.extend_from_slice(&r.units.to_be_bytes());
        out.extend_from_slice(&r.kind.to_be_bytes());
        put_fr(out, &r.input_commitment);
        put_fr(out, &r.output_commitment);
        out.extend_from_slice(&self.signature);
    }

    /// Reads one record written by [`Self::write_record`].
    pub fn read_record(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let receipt = Receipt {
            job_id: reader.fr("jobId")?,
            node: Address::from(reader.array::<20>("node")?),
            client: Address::from(reader.array::<20>("client")?),
            epoch: reader.u64("epoch")?,
            units: reader.u64("units")?,
            kind: reader.u32("kind")?,
            input_commitment: reader.fr("inputCommitment")?,
            output_commitment: reader.fr("outputCommitment")?,
        };
        let signature = reader.array::<65>("signature")?;
        Ok(SignedReceipt { receipt, signature })
    }

    /// Standalone binary receipt: `PMRC`, version 1, one record.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(5 + RECORD_LEN);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        self.write_record(&mut out);
        out
    }

    /// Reads a standalone binary receipt.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        reader.header("receipt", MAGIC, VERSION)?;
        let receipt = Self::read_record(&mut reader)?;
        reader.finish("receipt")?;
        Ok(receipt)
    }
}

/// Integers are written as JSON numbers while they fit JavaScript's 2^53, and
/// as decimal strings past that, so no JSON reader rounds them.
pub(crate) fn json_u64(value: u64) -> Value {
    if value < (1u64 << 53) {
        value.into()
    } else {
        value.to_string().into()
    }
}

fn get<'a>(map: &'a Map<String, Value>, field: &'static str) -> Result<&'a Value, ReceiptError> {
    map.get(field).ok_or(ReceiptError::MissingField(field))
}

fn text<'a>(map: &'a Map<String, Value>, field: &'static str) -> Result<&'a str, ReceiptError> {
    get(map, field)?
        .as_str()
        .ok_or_else(|| ReceiptError::BadValue {
            field,
            reason: "expected a 0x-prefixed hex string".into(),
        })
}

pub(crate) fn field_element(
    map: &Map<String, Value>,
    field: &'static str,
) -> Result<Fr, ReceiptError> {
    fr_from_hex(text(map, field)?).map_err(|source| ReceiptError::Field { field, source })
}

pub(crate) fn address(
    map: &Map<String, Value>,
    field: &'static str,
) -> Result<Address, ReceiptError> {
    parse_address(text(map, field)?).map_err(|source| ReceiptError::Field { field, source })
}

/// A JSON number or decimal string, at most `max`.
pub(crate) fn integer(
    map: &Map<String, Value>,
    field: &'static str,
    max: u64,
) -> Result<u64, ReceiptError> {
    let bad = |reason: String| ReceiptError::BadValue { field, reason };
    let value = match get(map, field)? {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| bad(format!("{n} is not a non-negative integer below 2^64")))?,
        Value::String(s) => {
            if s.is_empty()
                || s.len() > 20
                || !s.bytes().all(|b| b.is_ascii_digit())
                || (s.len() > 1 && s.starts_with('0'))
            {
                return Err(bad(format!("{s:?} is not a canonical decimal integer")));
            }
            s.parse::<u64>()
                .map_err(|_| bad(format!("{s} does not fit in 64 bits")))?
        }
        other => return Err(bad(format!("expected an integer, found {other}"))),
    };
    if value > max {
        return Err(bad(format!("{value} exceeds {max}")));
    }
    Ok(value)
}

fn signature(map: &Map<String, Value>) -> Result<[u8; 65], ReceiptError> {
    let field = "signature";
    let hex_text = text(map, field)?;
    let bad = || ReceiptError::BadValue {
        field,
        reason: "expected 0x followed by 130 hex digits (r || s || v)".into(),
    };
    let digits = hex_text.strip_prefix("0x").ok_or_else(bad)?;
    if digits.len() != 130 {
        return Err(bad());
    }
    let bytes = hex::decode(digits).map_err(|_| bad())?;
    let mut out = [0u8; 65];
    out.copy_from_slice(&bytes);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_bytes(&[byte; 32].into()).unwrap()
    }

    const DOMAIN: ReceiptDomain = ReceiptDomain {
        chain_id: 31337,
        verifying_contract: Address::repeat_byte(0x42),
    };

    fn sample() -> SignedReceipt {
        let client = key(7);
        Receipt {
            job_id: Fr::from(42u64),
            node: address_of(&key(9)),
            client: address_of(&client),
            epoch: 3,
            units: (1u64 << 60) + 5,
            kind: 2,
            input_commitment: Fr::from(11u64),
            output_commitment: Fr::from(12u64),
        }
        .sign(&DOMAIN, &client)
    }

    #[test]
    fn json_round_trip_writes_big_integers_as_strings() {
        let signed = sample();
        let json = signed.to_json();
        assert!(json["units"].is_string());
        assert!(json["epoch"].is_number());
        assert_eq!(SignedReceipt::from_json(&json).unwrap(), signed);
    }

    #[test]
    fn binary_round_trip_and_truncation() {
        let signed = sample();
        let bytes = signed.to_bytes();
        assert_eq!(bytes.len(), 5 + RECORD_LEN);
        assert_eq!(SignedReceipt::from_bytes(&bytes).unwrap(), signed);
        for cut in 0..bytes.len() {
            assert!(SignedReceipt::from_bytes(&bytes[..cut]).is_err());
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(matches!(
            SignedReceipt::from_bytes(&extra),
            Err(DecodeError::TrailingBytes { .. })
        ));
    }

    #[test]
    fn signature_binds_every_field_the_chain_and_the_deployment() {
        let signed = sample();
        signed.check(3, &DOMAIN).unwrap();
        assert!(matches!(
            signed.check(4, &DOMAIN),
            Err(ReceiptError::WrongEpoch { .. })
        ));
        assert!(matches!(
            signed.verify_signature(&ReceiptDomain::new(1, DOMAIN.verifying_contract)),
            Err(ReceiptError::WrongSigner { .. })
        ));
        assert!(matches!(
            signed.verify_signature(&ReceiptDomain::new(31337, Address::repeat_byte(0x43))),
            Err(ReceiptError::WrongSigner { .. })
        ));
        let mut tampered = signed;
        tampered.receipt.units += 1;
        assert!(matches!(
            tampered.verify_signature(&DOMAIN),
            Err(ReceiptError::WrongSigner { .. })
        ));
        let mut bad_v = signed;
        bad_v.signature[64] = 29;
        assert!(matches!(
            bad_v.verify_signature(&DOMAIN),
            Err(ReceiptError::MalformedSignature(_))
        ));
    }

    #[test]
    fn high_s_twin_is_refused() {
        // (r, n - s, v ^ 1) is the same signature mirrored; EIP-2 refuses it.
        let signed = sample();
        let n = U256::from_be_slice(
            &hex::decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
                .unwrap(),
        );
        let s = U256::from_be_slice(&signed.signature[32..64]);
        let mut twin = signed;
        twin.signature[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
        twin.signature[64] = if signed.signature[64] == 27 { 28 } else { 27 };
        assert!(matches!(
            twin.verify_signature(&DOMAIN),
            Err(ReceiptError::MalformedSignature(_))
        ));
    }

    #[test]
    fn json_errors_name_the_field() {
        let good = sample().to_json();
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove("units");
        assert_eq!(
            SignedReceipt::from_json(&missing),
            Err(ReceiptError::MissingField("units"))
        );
        let mut unknown = good.clone();
        unknown["extra"] = 1.into();
        assert!(
            matches!(SignedReceipt::from_json(&unknown), Err(ReceiptError::UnknownField(f)) if f == "extra")
        );
        let mut non_canonical = good.clone();
        non_canonical["jobId"] =
            "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001".into();
        assert!(matches!(
            SignedReceipt::from_json(&non_canonical),
            Err(ReceiptError::Field {
                field: "jobId",
                source: FieldError::NonCanonical
            })
        ));
        for bad_units in [
            Value::from(-1),
            Value::from(1.5),
            Value::from("18446744073709551616"),
            Value::from("01"),
        ] {
            let mut v = good.clone();
            v["units"] = bad_units;
            assert!(matches!(
                SignedReceipt::from_json(&v),
                Err(ReceiptError::BadValue { field: "units", .. })
            ));
        }
        let mut kind = good.clone();
        kind["kind"] = (u32::MAX as u64 + 1).into();
        assert!(matches!(
            SignedReceipt::from_json(&kind),
            Err(ReceiptError::BadValue { field: "kind", .. })
        ));
    }
}
