//! Receipts signed by a standard wallet library verify, and hash to the same
//! EIP-712 digest. Source: `tests/data/eip712_eth_account.json`, made with
//! Python's eth-account 0.14.0 `Account.sign_message(encode_typed_data(...))`
//! over the `Receipt` typed struct and the `{name: "proofmint", version: "1",
//! chainId, verifyingContract}` domain, with Hardhat's public test keys.

use proofmint_circuits::field::fr_from_hex;
use proofmint_circuits::field::parse_address;
use proofmint_circuits::receipt::{ReceiptDomain, SignedReceipt};

#[test]
fn eth_account_signatures_verify() {
    let data: serde_json::Value =
        serde_json::from_str(include_str!("data/eip712_eth_account.json")).unwrap();
    let vectors = data["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 2);
    for v in vectors {
        let chain_id = v["chainId"].as_u64().unwrap();
        let registry = parse_address(v["verifyingContract"].as_str().unwrap()).unwrap();
        let domain = ReceiptDomain::new(chain_id, registry);
        let signed = SignedReceipt::from_json(&v["receipt"]).unwrap();
        let digest = signed.receipt.signing_hash(&domain);
        assert_eq!(format!("{digest:#x}"), v["digest"].as_str().unwrap());
        signed.verify_signature(&domain).unwrap();
        // Another chain, or another deployment on the same chain, is another domain.
        assert!(signed
            .verify_signature(&ReceiptDomain::new(chain_id + 1, registry))
            .is_err());
        let mut elsewhere = registry;
        elsewhere.0[19] ^= 1;
        assert!(signed
            .verify_signature(&ReceiptDomain::new(chain_id, elsewhere))
            .is_err());
        // The JSON we write reads back to the same receipt.
        assert_eq!(SignedReceipt::from_json(&signed.to_json()).unwrap(), signed);
    }
    // The second vector's jobId is p - 1: the largest canonical field element.
    assert!(fr_from_hex(vectors[1]["receipt"]["jobId"].as_str().unwrap()).is_ok());
}
