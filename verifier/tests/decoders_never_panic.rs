//! Every decoder of untrusted input returns a typed error, never panics:
//! random bytes, and valid encodings with random bytes changed, cut or added.

use proofmint_circuits::epoch::EpochBundle;
use proofmint_circuits::receipt::SignedReceipt;
use proofmint_verifier::{snarkjs, ClaimProof, VerifyingKeyFile};
use proptest::prelude::*;

/// Runs every binary decoder on `bytes`; any result is fine, a panic is not.
fn decode_all(bytes: &[u8]) {
    let _ = ClaimProof::from_bytes(bytes);
    let _ = VerifyingKeyFile::from_bytes(bytes);
    let _ = EpochBundle::from_bytes(bytes);
    let _ = SignedReceipt::from_bytes(bytes);
}

/// Runs every JSON decoder on `text`.
fn decode_json(text: &str) {
    let _ = SignedReceipt::from_json_str(text);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = EpochBundle::from_json(&value);
        let _ = snarkjs::proof_from_json(&value);
        let _ = snarkjs::public_from_json(&value);
    }
}

fn with_magic(magic: &[u8; 4], rest: &[u8]) -> Vec<u8> {
    let mut bytes = magic.to_vec();
    bytes.push(1);
    bytes.extend_from_slice(rest);
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        decode_all(&bytes);
        // The same bytes behind each artifact's magic and version, to get past the header.
        for magic in [b"PMCP", b"PMVK", b"PMEB", b"PMRC"] {
            decode_all(&with_magic(magic, &bytes));
        }
    }

    #[test]
    fn random_text(text in "\\PC{0,300}") {
        decode_json(&text);
    }

    #[test]
    fn json_shaped_noise(
        keys in proptest::collection::vec("[a-zA-Z_]{1,12}", 0..12),
        values in proptest::collection::vec(prop_oneof![
            Just(serde_json::Value::Null),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            "[0-9a-fx]{0,70}".prop_map(serde_json::Value::from),
            Just(serde_json::json!([["1", "2"], ["3", "4"], ["1", "0"]])),
            Just(serde_json::json!(["1", "2", "1"])),
        ], 0..12),
    ) {
        let object: serde_json::Map<String, serde_json::Value> = keys.into_iter().zip(values.clone()).collect();
        decode_json(&serde_json::Value::Object(object).to_string());
        decode_json(&serde_json::Value::Array(values).to_string());
    }
}

/// A valid three-receipt bundle's binary form.
fn bundle_bytes() -> Vec<u8> {
    use ark_bn254::Fr;
    use k256::ecdsa::SigningKey;
    use proofmint_circuits::payment::Payments;
    use proofmint_circuits::receipt::{address_of, Receipt, ReceiptDomain};
    let client = SigningKey::from_bytes(&[5u8; 32].into()).unwrap();
    let domain = ReceiptDomain::new(1, alloy_primitives::Address::repeat_byte(1));
    let receipts = (0..3u64)
        .map(|i| {
            let r = Receipt {
                job_id: Fr::from(i),
                node: address_of(&client),
                client: address_of(&client),
                epoch: 1,
                units: 10,
                kind: 0,
                input_commitment: Fr::from(i),
                output_commitment: Fr::from(i),
            };
            (i as usize + 1, r.sign(&domain, &client))
        })
        .collect::<Vec<_>>();
    let paid = Payments::for_receipts(receipts.iter().map(|(_, r)| &r.receipt));
    EpochBundle::build(1, domain, 4, receipts, &paid)
        .unwrap()
        .0
        .to_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// A valid bundle with bytes changed, cut short or extended decodes to an
    /// error or to a bundle, and an altered bundle that decodes fails its audit
    /// unless the change was undone.
    #[test]
    fn mutated_bundles(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4), cut in any::<usize>(), extend in 0usize..3) {
        let original = bundle_bytes();
        let mut bytes = original.clone();
        for (at, value) in edits {
            let at = at % bytes.len();
            bytes[at] = value;
        }
        let _ = EpochBundle::from_bytes(&bytes);
        let _ = EpochBundle::from_bytes(&bytes[..cut % bytes.len()]);
        bytes.extend(std::iter::repeat_n(0u8, extend));
        if let Ok(bundle) = EpochBundle::from_bytes(&bytes) {
            if bytes != original {
                let honest = EpochBundle::from_bytes(&original).unwrap();
                let paid = proofmint_circuits::payment::Payments::for_receipts(honest.receipts.iter().map(|r| &r.receipt));
                prop_assert!(proofmint_verifier::audit(&bundle, &honest.summary.domain, &paid).is_err(), "an altered bundle passed its audit");
            }
        }
    }
}

#[test]
fn huge_declared_counts_are_refused_without_allocating() {
    // An epoch bundle claiming 2^32 - 1 receipts in a few bytes.
    let mut bundle = with_magic(b"PMEB", &[0; 8 + 8]);
    bundle.push(20); // depth
    bundle.extend_from_slice(&u32::MAX.to_be_bytes());
    bundle.extend_from_slice(&[0; 8 + 32]);
    assert!(EpochBundle::from_bytes(&bundle).is_err());
    // A verifying key claiming 2^32 - 1 IC points.
    let mut key = with_magic(b"PMVK", &[0, 0, 0, 4, 8, 0]);
    key.extend_from_slice(&[0; 32 + 64 * 3]);
    key.extend_from_slice(&u32::MAX.to_be_bytes());
    assert!(VerifyingKeyFile::from_bytes(&key).is_err());
}
