//! The contracts end to end in revm, with real receipts, a real epoch tree and
//! real claim proofs: the generated verifier against the Rust verifier, gas
//! against EIP-1108's floor, and every refusal by its named error.

use std::sync::OnceLock;

use alloy_primitives::{Address, U256};
use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ff::{BigInteger, PrimeField};
use k256::ecdsa::SigningKey;
use proofmint_circuits::claim::{ClaimShape, ClaimWitness};
use proofmint_circuits::field::{fr_to_be_bytes, fr_to_u256};
use proofmint_circuits::receipt::{address_of, Receipt};
use proofmint_circuits::EpochBundle;
use proofmint_contracts::abi::*;
use proofmint_contracts::deploy::{deploy_all, Deployment, Params};
use proofmint_contracts::{compile, is_error, sources, tokens, Artifacts, Chain};
use proofmint_prover::{prove_claim, setup_development, ProvingKeyFile};
use proofmint_verifier::solidity::{claim_verifier, precompile_gas_floor, proof_words};
use proofmint_verifier::verify::ClaimVerifier;
use proofmint_verifier::ClaimProof;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

const EPOCH: u64 = 3;
const CHAIN: u64 = 31337;
const SHAPE: ClaimShape = ClaimShape { slots: 4, depth: 8 };
const Q_DEC: &str = "21888242871839275222246405745257275088696311157297823662689037894645226208583";
const R_DEC: &str = "21888242871839275222246405745257275088548364400416034343698204186575808495617";

fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32].into()).unwrap()
}

fn node(i: u8) -> Address {
    address_of(&signing_key(200 + i))
}

/// Ten receipts of epoch `EPOCH`, alternating nodes 0 and 1, units 100..=1000.
fn bundle() -> &'static (EpochBundle, proofmint_circuits::EpochTree) {
    static BUNDLE: OnceLock<(EpochBundle, proofmint_circuits::EpochTree)> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let client = signing_key(1);
        let receipts = (0..10u64)
            .map(|i| {
                let r = Receipt {
                    job_id: Fr::from(700 + i),
                    node: node((i % 2) as u8),
                    client: address_of(&client),
                    epoch: EPOCH,
                    units: 100 * (i + 1),
                    kind: 1,
                    input_commitment: Fr::from(i),
                    output_commitment: Fr::from(i + 7),
                };
                (i as usize + 1, r.sign(CHAIN, &client))
            })
            .collect();
        EpochBundle::build(EPOCH, CHAIN, SHAPE.depth, receipts).unwrap()
    })
}

fn key() -> &'static ProvingKeyFile {
    static KEY: OnceLock<ProvingKeyFile> = OnceLock::new();
    KEY.get_or_init(|| setup_development(SHAPE, &mut ChaCha20Rng::seed_from_u64(5)).unwrap())
}

fn artifacts() -> &'static Artifacts {
    static ARTIFACTS: OnceLock<Artifacts> = OnceLock::new();
    ARTIFACTS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let verifier = dir.join("ClaimVerifier.sol");
        std::fs::write(&verifier, claim_verifier(&key().key, "ClaimVerifier")).unwrap();
        let mut files = sources();
        files.push(verifier);
        compile(&files).expect("contracts compile")
    })
}

fn prove(node_index: u8, from: u64) -> ClaimProof {
    let (bundle, tree) = bundle();
    let circuit =
        ClaimWitness::build(SHAPE, EPOCH, &bundle.receipts, tree, node(node_index), from).unwrap();
    prove_claim(
        key(),
        circuit,
        &proofmint_gpu::CpuBackend,
        &mut ChaCha20Rng::seed_from_u64(9),
    )
    .unwrap()
}

fn u256(word: &[u8; 32]) -> U256 {
    U256::from_be_bytes(*word)
}

/// The verifier call for a proof: (a, b, c, pubSignals).
fn calldata(words: &[[u8; 32]; 8], inputs: &[U256; 6]) -> IClaimVerifier::verifyProofCall {
    let w: Vec<U256> = words.iter().map(u256).collect();
    IClaimVerifier::verifyProofCall {
        a: [w[0], w[1]],
        b: [[w[2], w[3]], [w[4], w[5]]],
        c: [w[6], w[7]],
        pubSignals: *inputs,
    }
}

fn public_u256(claim: &ClaimProof) -> [U256; 6] {
    claim.public.to_inputs().map(|f| fr_to_u256(&f))
}

/// The Rust verifier's verdict on the same words: points must decode (canonical,
/// on the curve, in the subgroup) and inputs be canonical, then ark-groth16 decides.
fn rust_accepts(words: &[[u8; 32]; 8], inputs: &[U256; 6]) -> bool {
    let fq = |w: &[u8; 32]| {
        Fq::from_bigint(ark_ff::BigInt::<4>::new(
            U256::from_be_bytes(*w).into_limbs(),
        ))
    };
    let coords: Option<Vec<Fq>> = words.iter().map(fq).collect();
    let Some(c) = coords else { return false };
    let a = G1Affine::new_unchecked(c[0], c[1]);
    let b = G2Affine::new_unchecked(Fq2::new(c[3], c[2]), Fq2::new(c[5], c[4]));
    let cc = G1Affine::new_unchecked(c[6], c[7]);
    let valid = a.is_on_curve()
        && b.is_on_curve()
        && b.is_in_correct_subgroup_assuming_on_curve()
        && cc.is_on_curve();
    let fr: Option<Vec<Fr>> = inputs
        .iter()
        .map(|v| proofmint_circuits::field::fr_from_u256(*v).ok())
        .collect();
    let (true, Some(fr)) = (valid, fr) else {
        return false;
    };
    let proof = ark_groth16::Proof::<Bn254> { a, b, c: cc };
    ClaimVerifier::new(key().key.clone())
        .verify_inputs(&fr, &proof)
        .is_ok()
}

fn admin() -> Address {
    Address::repeat_byte(0xad)
}

fn operator() -> Address {
    Address::repeat_byte(0x0b)
}

fn params() -> Params {
    Params {
        admin: admin(),
        operator: operator(),
        cap: tokens(1_000_000),
        initial_emission: tokens(10_000),
        decay_per_epoch: U256::from(990_000_000_000_000_000u64), // 0.99
        genesis_epoch: 1,
        grace_epochs: 1,
    }
}

fn deployed() -> (Chain, Deployment) {
    let mut chain = Chain::new();
    let deployment = deploy_all(&mut chain, artifacts(), "ClaimVerifier", &params()).unwrap();
    (chain, deployment)
}

#[test]
fn generated_verifier_agrees_with_the_rust_verifier_and_meets_the_gas_floor() {
    let (mut chain, d) = deployed();
    let claim = prove(0, 0);
    let words = proof_words(&claim.proof);
    let inputs = public_u256(&claim);
    let caller = Address::repeat_byte(0x11);

    let (ok, good_gas) = chain
        .call(caller, d.verifier, &calldata(&words, &inputs))
        .unwrap();
    assert!(ok, "the generated verifier rejects a valid proof");
    assert!(rust_accepts(&words, &inputs));
    // Execution gas: the transaction's gas less its intrinsic cost (EIP-2028 calldata prices).
    let data = alloy_sol_types::SolCall::abi_encode(&calldata(&words, &inputs));
    let calldata_gas: u64 = data.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum();
    let execution = good_gas - 21_000 - calldata_gas;
    let floor = precompile_gas_floor();
    eprintln!(
        "verifyProof: {good_gas} gas in all, {execution} in execution; EIP-1108 floor {floor}"
    );
    assert!(
        execution <= floor + floor / 10,
        "execution gas {execution} is more than 10% over the floor {floor}"
    );

    let q = U256::from_str_radix(Q_DEC, 10).unwrap();
    let r = U256::from_str_radix(R_DEC, 10).unwrap();
    let mut variants: Vec<(String, [[u8; 32]; 8], [U256; 6])> = Vec::new();
    for i in 0..6 {
        let mut altered = inputs;
        altered[i] += U256::from(1u64);
        variants.push((format!("input {i} + 1"), words, altered));
        let mut shifted = inputs;
        shifted[i] += r; // same residue, non-canonical encoding
        variants.push((format!("input {i} + r"), words, shifted));
    }
    let mut at_r = inputs;
    at_r[3] = r;
    variants.push(("input at r".into(), words, at_r));
    for i in 0..8 {
        let mut altered = words;
        let bumped = u256(&altered[i]) + U256::from(1u64);
        altered[i] = bumped.to_be_bytes();
        variants.push((
            format!("coordinate {i} + 1 (off the curve)"),
            altered,
            inputs,
        ));
        let mut shifted = words;
        shifted[i] = (u256(&words[i]) + q).to_be_bytes();
        variants.push((format!("coordinate {i} + q"), shifted, inputs));
    }
    let mut swapped = words;
    swapped.swap(2, 3);
    variants.push(("B's c0 and c1 swapped".into(), swapped, inputs));
    let other = proof_words(&prove(1, 0).proof);
    variants.push(("node 1's proof for node 0's inputs".into(), other, inputs));

    for (name, w, i) in variants {
        let (ok, gas) = chain.call(caller, d.verifier, &calldata(&w, &i)).unwrap();
        assert!(!ok, "{name}: accepted on chain");
        assert!(
            !rust_accepts(&w, &i),
            "{name}: accepted by the Rust verifier"
        );
        // A bad proof costs at most what a good one does (plus calldata differences).
        assert!(
            gas <= good_gas + 2_000,
            "{name}: {gas} gas against {good_gas} for a valid proof"
        );
    }
}

/// emission(epoch) as the contract computes it (fixed point, rounding down).
fn emission(epoch: u64) -> U256 {
    let p = params();
    let one = U256::from(10u64).pow(U256::from(18u64));
    let (mut factor, mut base) = (one, p.decay_per_epoch);
    let mut n = epoch - p.genesis_epoch;
    while n > 0 {
        if n & 1 == 1 {
            factor = factor * base / one;
        }
        base = base * base / one;
        n >>= 1;
    }
    p.initial_emission * factor / one
}

fn claim_call(epoch: u64, node_address: Address, claim: &ClaimProof) -> IRewardMinter::claimCall {
    let w: Vec<U256> = proof_words(&claim.proof).iter().map(u256).collect();
    let p = public_u256(claim);
    IRewardMinter::claimCall {
        epoch,
        node: node_address,
        totalUnits: p[3],
        firstIndex: p[4],
        lastIndex: p[5],
        a: [w[0], w[1]],
        b: [[w[2], w[3]], [w[4], w[5]]],
        c: [w[6], w[7]],
    }
}

fn post(chain: &mut Chain, d: &Deployment, epoch: u64) {
    let s = bundle().0.summary;
    let root = U256::from_be_bytes(fr_to_be_bytes(&s.root));
    chain
        .send(
            operator(),
            d.registry,
            &IEpochRegistry::postEpochCall {
                epoch,
                root,
                totalUnits: U256::from(s.total_units),
                count: U256::from(s.count),
            },
        )
        .unwrap();
}

fn balance(chain: &mut Chain, d: &Deployment, who: Address) -> U256 {
    chain
        .call(
            admin(),
            d.token,
            &IWorkToken::balanceOfCall { account: who },
        )
        .unwrap()
        .0
}

#[test]
fn claims_mint_exactly_and_every_misuse_fails_by_name() {
    let (mut chain, d) = deployed();
    let relayer = Address::repeat_byte(0x22);
    let first = prove(0, 0); // leaves 0, 2, 4, 6: 100 + 300 + 500 + 700 units
    let rest = prove(0, 8); // leaf 8: 900 units

    // Not posted yet.
    let err = chain
        .send(relayer, d.minter, &claim_call(EPOCH, node(0), &first))
        .unwrap_err();
    assert!(is_error::<IRewardMinter::EpochNotPosted>(&err), "{err}");
    post(&mut chain, &d, EPOCH);
    let err = chain
        .send(
            operator(),
            d.registry,
            &IEpochRegistry::postEpochCall {
                epoch: EPOCH,
                root: U256::from(1u64),
                totalUnits: U256::from(1u64),
                count: U256::from(1u64),
            },
        )
        .unwrap_err();
    assert!(
        is_error::<IEpochRegistry::EpochAlreadyPosted>(&err),
        "{err}"
    );
    let err = chain
        .send(
            relayer,
            d.registry,
            &IEpochRegistry::postEpochCall {
                epoch: EPOCH + 1,
                root: U256::from(1u64),
                totalUnits: U256::from(1u64),
                count: U256::from(1u64),
            },
        )
        .unwrap_err();
    assert!(
        is_error::<IWorkToken::AccessControlUnauthorizedAccount>(&err),
        "{err}"
    );

    // A claim submitted by anyone pays the node, to the wei.
    let total = U256::from(bundle().0.summary.total_units);
    assert_eq!(total, U256::from(5500u64));
    let receipt = chain
        .send(relayer, d.minter, &claim_call(EPOCH, node(0), &first))
        .unwrap();
    eprintln!("claim: {} gas", receipt.gas_used);
    let expected_first = emission(EPOCH) * U256::from(1600u64) / total;
    assert_eq!(balance(&mut chain, &d, node(0)), expected_first);
    assert_eq!(balance(&mut chain, &d, relayer), U256::ZERO);

    // Replays and overlaps are refused; the next range is accepted.
    let err = chain
        .send(relayer, d.minter, &claim_call(EPOCH, node(0), &first))
        .unwrap_err();
    assert!(
        is_error::<IRewardMinter::RangeOverlapsEarlierClaim>(&err),
        "{err}"
    );
    chain
        .send(relayer, d.minter, &claim_call(EPOCH, node(0), &rest))
        .unwrap();
    let expected_rest = emission(EPOCH) * U256::from(900u64) / total;
    assert_eq!(
        balance(&mut chain, &d, node(0)),
        expected_first + expected_rest
    );
    let (delivered, _) = chain
        .call(
            admin(),
            d.minter,
            &IRewardMinter::deliveredUnitsCall {
                node: node(0),
                epoch: EPOCH,
            },
        )
        .unwrap();
    assert_eq!(delivered, U256::from(2500u64));

    // A proof for another node, another epoch or tampered units does not verify.
    let theirs = prove(1, 0);
    // (As node 0 the range check refuses it first: node 0 has claimed up to leaf 8.)
    let err = chain
        .send(relayer, d.minter, &claim_call(EPOCH, node(0), &theirs))
        .unwrap_err();
    assert!(
        is_error::<IRewardMinter::RangeOverlapsEarlierClaim>(&err),
        "{err}"
    );
    let err = chain
        .send(relayer, d.minter, &claim_call(EPOCH, node(2), &theirs))
        .unwrap_err();
    assert!(is_error::<IRewardMinter::InvalidProof>(&err), "{err}");
    post(&mut chain, &d, EPOCH + 1);
    let err = chain
        .send(relayer, d.minter, &claim_call(EPOCH + 1, node(1), &theirs))
        .unwrap_err();
    assert!(is_error::<IRewardMinter::InvalidProof>(&err), "{err}");
    let mut inflated = claim_call(EPOCH, node(1), &theirs);
    inflated.totalUnits += U256::from(1u64);
    let err = chain.send(relayer, d.minter, &inflated).unwrap_err();
    assert!(is_error::<IRewardMinter::InvalidProof>(&err), "{err}");
    let mut backwards = claim_call(EPOCH, node(1), &theirs);
    backwards.firstIndex = backwards.lastIndex + U256::from(1u64);
    let err = chain.send(relayer, d.minter, &backwards).unwrap_err();
    assert!(is_error::<IRewardMinter::InvalidRange>(&err), "{err}");
    // Node 1's own claim is fine.
    chain
        .send(relayer, d.minter, &claim_call(EPOCH, node(1), &theirs))
        .unwrap();

    // Only the minter mints, and never past the cap.
    let err = chain
        .send(
            admin(),
            d.token,
            &IWorkToken::mintCall {
                to: admin(),
                amount: U256::from(1u64),
            },
        )
        .unwrap_err();
    assert!(
        is_error::<IWorkToken::AccessControlUnauthorizedAccount>(&err),
        "{err}"
    );
    let (role, _) = chain
        .call(admin(), d.token, &IWorkToken::MINTER_ROLECall {})
        .unwrap();
    chain
        .send(
            admin(),
            d.token,
            &IWorkToken::grantRoleCall {
                role,
                account: admin(),
            },
        )
        .unwrap();
    let (supply, _) = chain
        .call(admin(), d.token, &IWorkToken::totalSupplyCall {})
        .unwrap();
    let room = params().cap - supply;
    let err = chain
        .send(
            admin(),
            d.token,
            &IWorkToken::mintCall {
                to: admin(),
                amount: room + U256::from(1u64),
            },
        )
        .unwrap_err();
    assert!(is_error::<IWorkToken::ERC20ExceededCap>(&err), "{err}");
    chain
        .send(
            admin(),
            d.token,
            &IWorkToken::mintCall {
                to: admin(),
                amount: room,
            },
        )
        .unwrap();
}

#[test]
fn stakes_release_in_proportion_to_delivery_and_jobs_burn() {
    let (mut chain, d) = deployed();
    post(&mut chain, &d, EPOCH);
    chain
        .send(node(0), d.minter, &claim_call(EPOCH, node(0), &prove(0, 0)))
        .unwrap();
    chain
        .send(node(0), d.minter, &claim_call(EPOCH, node(0), &prove(0, 8)))
        .unwrap();
    let earned = balance(&mut chain, &d, node(0));

    // Node 0 stakes all it earned, committing 2500 units a epoch for EPOCH..=EPOCH+1.
    chain
        .send(
            node(0),
            d.token,
            &IWorkToken::approveCall {
                spender: d.vault,
                value: earned,
            },
        )
        .unwrap();
    let stake = IStakeVault::stakeCall {
        amount: earned,
        capacity: U256::from(2500u64),
        startEpoch: EPOCH,
        endEpoch: EPOCH + 1,
    };
    chain.send(node(0), d.vault, &stake).unwrap();
    let err = chain.send(node(0), d.vault, &stake).unwrap_err();
    assert!(is_error::<IStakeVault::AlreadyStaked>(&err), "{err}");
    let err = chain
        .send(node(0), d.vault, &IStakeVault::releaseCall {})
        .unwrap_err();
    assert!(is_error::<IStakeVault::RangeNotEnded>(&err), "{err}");
    post(&mut chain, &d, EPOCH + 1);
    post(&mut chain, &d, EPOCH + 2); // the grace epoch: still too early
    let err = chain
        .send(node(0), d.vault, &IStakeVault::releaseCall {})
        .unwrap_err();
    assert!(is_error::<IStakeVault::RangeNotEnded>(&err), "{err}");
    post(&mut chain, &d, EPOCH + 3);

    // Delivered 2500 of 2500 in EPOCH and 0 of 2500 in EPOCH+1: half is slashed and burned.
    let (supply_before, _) = chain
        .call(admin(), d.token, &IWorkToken::totalSupplyCall {})
        .unwrap();
    let slash = earned * U256::from(2500u64) / U256::from(5000u64);
    chain
        .send(node(0), d.vault, &IStakeVault::releaseCall {})
        .unwrap();
    assert_eq!(balance(&mut chain, &d, node(0)), earned - slash);
    let (supply_after, _) = chain
        .call(admin(), d.token, &IWorkToken::totalSupplyCall {})
        .unwrap();
    assert_eq!(supply_before - supply_after, slash);
    let err = chain
        .send(node(0), d.vault, &IStakeVault::releaseCall {})
        .unwrap_err();
    assert!(is_error::<IStakeVault::NoStake>(&err), "{err}");

    // A client pays for a job by burning tokens.
    let client = node(0);
    let price = U256::from(1_000u64);
    let err = chain
        .send(
            client,
            d.market,
            &IJobMarket::payForJobCall {
                jobId: U256::from(42u64),
                amount: price,
            },
        )
        .unwrap_err();
    assert!(
        is_error::<IWorkToken::ERC20InsufficientAllowance>(&err),
        "{err}"
    );
    chain
        .send(
            client,
            d.token,
            &IWorkToken::approveCall {
                spender: d.market,
                value: price * U256::from(2u64),
            },
        )
        .unwrap();
    let receipt = chain
        .send(
            client,
            d.market,
            &IJobMarket::payForJobCall {
                jobId: U256::from(42u64),
                amount: price,
            },
        )
        .unwrap();
    assert!(receipt.logs.iter().any(|l| l.topics().first()
        == Some(&<IJobMarket::JobPaid as alloy_sol_types::SolEvent>::SIGNATURE_HASH)));
    assert_eq!(balance(&mut chain, &d, client), earned - slash - price);
    let err = chain
        .send(
            client,
            d.market,
            &IJobMarket::payForJobCall {
                jobId: U256::from(42u64),
                amount: price,
            },
        )
        .unwrap_err();
    assert!(is_error::<IJobMarket::JobAlreadyPaid>(&err), "{err}");
}

#[test]
fn emission_schedule_is_fixed_and_bounded() {
    let (mut chain, d) = deployed();
    for epoch in [1u64, 2, 3, 10, 100, 1000] {
        let (on_chain, _) = chain
            .call(admin(), d.minter, &IRewardMinter::emissionCall { epoch })
            .unwrap();
        assert_eq!(on_chain, emission(epoch), "epoch {epoch}");
    }
    let (before_genesis, _) = chain
        .call(admin(), d.minter, &IRewardMinter::emissionCall { epoch: 0 })
        .unwrap();
    assert_eq!(before_genesis, U256::ZERO);
    // A schedule whose series could exceed the cap is refused at deployment.
    let mut p = params();
    p.initial_emission = tokens(20_000); // 20,000 / (1 - 0.99) = 2,000,000 > cap
    let err = deploy_all(&mut Chain::new(), artifacts(), "ClaimVerifier", &p).unwrap_err();
    assert!(is_error::<IRewardMinter::EmissionExceedsCap>(&err), "{err}");
}

#[test]
fn bn254_moduli_match_arkworks() {
    assert_eq!(
        U256::from_str_radix(Q_DEC, 10)
            .unwrap()
            .to_be_bytes::<32>()
            .to_vec(),
        Fq::MODULUS.to_bytes_be()
    );
    assert_eq!(
        U256::from_str_radix(R_DEC, 10)
            .unwrap()
            .to_be_bytes::<32>()
            .to_vec(),
        Fr::MODULUS.to_bytes_be()
    );
}
