//! The contracts end to end in revm, with real receipts, real payments, a real
//! epoch tree and real claim proofs: the generated verifier against the Rust
//! verifier, gas against EIP-1108's floor, and every attack on rewards run as
//! the attacker would run it, each refused by its named error.

use std::sync::OnceLock;

use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_sol_types::SolCall;
use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ff::{BigInteger, PrimeField};
use k256::ecdsa::SigningKey;
use proofmint_circuits::claim::{ClaimShape, ClaimWitness};
use proofmint_circuits::field::{fr_to_be_bytes, fr_to_u256};
use proofmint_circuits::payment::{job_id_of, Payments};
use proofmint_circuits::receipt::{address_of, Receipt, ReceiptDomain, SignedReceipt};
use proofmint_circuits::{EpochBundle, EpochTree};
use proofmint_contracts::abi::*;
use proofmint_contracts::deploy::{deploy_all, Deployment, Params};
use proofmint_contracts::{
    compile, is_error, sources, tokens, Artifacts, Chain, ChainError, DevChain, DevRpc, Transact,
    CHAIN_ID,
};
use proofmint_prover::chain::receipt_data;
use proofmint_prover::{prove_claim, setup_development, ProvingKeyFile};
use proofmint_verifier::solidity::{claim_verifier, precompile_gas_floor, proof_words};
use proofmint_verifier::verify::ClaimVerifier;
use proofmint_verifier::ClaimProof;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

const EPOCH: u64 = 1;
const SHAPE: ClaimShape = ClaimShape { slots: 4, depth: 8 };
const WINDOW: u64 = 3600;
const ANSWER: u64 = 600;
const Q_DEC: &str = "21888242871839275222246405745257275088696311157297823662689037894645226208583";
const R_DEC: &str = "21888242871839275222246405745257275088548364400416034343698204186575808495617";

fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32].into()).unwrap()
}

fn node_key(i: u8) -> SigningKey {
    signing_key(200 + i)
}

fn node(i: u8) -> Address {
    address_of(&node_key(i))
}

fn client_key() -> SigningKey {
    signing_key(1)
}

fn client() -> Address {
    address_of(&client_key())
}

fn deployer() -> Address {
    Address::repeat_byte(0xad)
}

fn proposer() -> Address {
    Address::repeat_byte(0xac)
}

fn operator() -> Address {
    Address::repeat_byte(0x0b)
}

fn attacker() -> Address {
    Address::repeat_byte(0x66)
}

fn relayer() -> Address {
    Address::repeat_byte(0x22)
}

fn bond() -> U256 {
    U256::from(10u64).pow(U256::from(18u64)) // 1 ether
}

fn params() -> Params {
    Params {
        deployer: deployer(),
        proposer: proposer(),
        governance_delay: 2 * 24 * 3600,
        operator: operator(),
        cap: tokens(2_000_000),
        genesis_supply: tokens(500_000),
        genesis_holder: client(),
        initial_emission: tokens(10_000),
        decay_per_epoch: U256::from(990_000_000_000_000_000u64), // 0.99
        genesis_epoch: EPOCH,
        grace_epochs: 1,
        tree_depth: SHAPE.depth as u8,
        price: tokens(1),
        stake_per_unit: tokens(1),
        bond: bond(),
        challenge_window: WINDOW,
        answer_window: ANSWER,
        dispute_deposit: bond() / U256::from(10u64),
    }
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

/// `chain` with the system deployed: deployments are deterministic, so every
/// test, in revm or on anvil, sees the same addresses (checked).
fn deployed<E: DevChain>(mut chain: E) -> (E, Deployment) {
    static FIRST: OnceLock<Deployment> = OnceLock::new();
    for who in [
        deployer(),
        proposer(),
        operator(),
        attacker(),
        relayer(),
        client(),
        node(0),
        node(1),
    ] {
        chain.fund(who, bond() * U256::from(100u64));
    }
    let d = deploy_all(&mut chain, artifacts(), "ClaimVerifier", &params()).unwrap();
    assert_eq!(*FIRST.get_or_init(|| d), d, "deployments are deterministic");
    (chain, d)
}

/// A fresh anvil (auto-impersonating, no gas fees, so ether balances are exact), or
/// None where anvil is not installed (see `js_tool`).
fn anvil() -> Option<DevRpc> {
    let binary = proofmint_contracts::js_tool("anvil")?;
    Some(DevRpc::start(&binary).expect("anvil starts"))
}

/// Runs `test` in revm, then on anvil.
macro_rules! on_both {
    ($revm:ident, $anvil:ident, $body:ident) => {
        #[test]
        fn $revm() {
            $body(&mut || Chain::new());
        }

        #[test]
        fn $anvil() {
            if anvil().is_some() {
                $body(&mut || anvil().unwrap());
            }
        }
    };
}

fn domain() -> ReceiptDomain {
    static DOMAIN: OnceLock<ReceiptDomain> = OnceLock::new();
    *DOMAIN.get_or_init(|| ReceiptDomain::new(CHAIN_ID, deployed(Chain::new()).1.registry))
}

/// The honest epoch: the client's jobs 0..10 (salt i), node i % 2, 100 (i + 1) units.
fn honest_receipts() -> Vec<SignedReceipt> {
    (0..10u64)
        .map(|i| {
            Receipt {
                job_id: job_id_of(client(), U256::from(i)),
                node: node((i % 2) as u8),
                client: client(),
                epoch: EPOCH,
                units: 100 * (i + 1),
                kind: 1,
                input_commitment: Fr::from(i),
                output_commitment: Fr::from(i + 7),
            }
            .sign(&domain(), &client_key())
        })
        .collect()
}

/// A bundle over `receipts`, admitted whatever they are (a dishonest operator's).
fn admit(receipts: &[SignedReceipt]) -> (EpochBundle, EpochTree) {
    let numbered = receipts.iter().cloned().enumerate().collect();
    let everything = Payments::for_receipts(receipts.iter().map(|r| &r.receipt));
    EpochBundle::build(EPOCH, domain(), SHAPE.depth, numbered, &everything).unwrap()
}

fn honest() -> &'static (EpochBundle, EpochTree) {
    static BUNDLE: OnceLock<(EpochBundle, EpochTree)> = OnceLock::new();
    BUNDLE.get_or_init(|| admit(&honest_receipts()))
}

fn prove_in(bundle: &(EpochBundle, EpochTree), node_index: u8, from: u64) -> ClaimProof {
    let circuit = ClaimWitness::build(
        SHAPE,
        EPOCH,
        &bundle.0.receipts,
        &bundle.1,
        node(node_index),
        from,
    )
    .unwrap();
    prove_claim(
        key(),
        circuit,
        &proofmint_gpu::CpuBackend::new(),
        &mut ChaCha20Rng::seed_from_u64(9),
    )
    .unwrap()
}

fn prove(node_index: u8, from: u64) -> ClaimProof {
    prove_in(honest(), node_index, from)
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

/// The claim's input as the minter takes it; every proof here is for EPOCH
/// and for the node it is submitted for.
fn claim_input(epoch: u64, node_address: Address, claim: &ClaimProof) -> ClaimInput {
    let input = proofmint_prover::chain::claim_input(claim).unwrap();
    assert_eq!((input.epoch, input.node), (epoch, node_address));
    input
}

fn claim_call(node_index: u8, claim: &ClaimProof) -> IRewardMinter::claimCall {
    IRewardMinter::claimCall {
        input: claim_input(EPOCH, node(node_index), claim),
    }
}

fn token_balance<E: DevChain>(chain: &mut E, d: &Deployment, who: Address) -> U256 {
    view(chain, d.token, &IWorkToken::balanceOfCall { account: who })
}

fn view<E: DevChain, C: SolCall>(chain: &mut E, to: Address, call: &C) -> C::Return {
    Transact::view(chain, Address::repeat_byte(0x99), to, call).unwrap()
}

fn path_of(tree: &EpochTree, index: u64) -> Vec<U256> {
    tree.path(index).unwrap().iter().map(fr_to_u256).collect()
}

/// The client pays for its jobs 0..10 as `honest_receipts` describes them.
fn pay_honest_jobs<E: DevChain>(chain: &mut E, d: &Deployment) {
    chain
        .send(
            client(),
            d.token,
            &IWorkToken::approveCall {
                spender: d.market,
                value: U256::MAX,
            },
        )
        .unwrap();
    for (i, r) in honest_receipts().iter().enumerate() {
        let (id, _) = chain
            .call(
                client(),
                d.market,
                &IJobMarket::payForJobCall {
                    salt: U256::from(i),
                    node: r.receipt.node,
                    epoch: EPOCH,
                    units: r.receipt.units,
                },
            )
            .unwrap();
        assert_eq!(
            id,
            fr_to_u256(&r.receipt.job_id),
            "jobIdOf agrees with Rust"
        );
    }
}

/// Gives node `i` tokens from the client and stakes `units` of capacity for epochs EPOCH..=EPOCH+1.
fn stake<E: DevChain>(chain: &mut E, d: &Deployment, i: u8, units: u64) {
    let amount = tokens(units);
    chain
        .send(
            client(),
            d.token,
            &IWorkToken::transferCall {
                to: node(i),
                value: amount,
            },
        )
        .unwrap();
    chain
        .send(
            node(i),
            d.token,
            &IWorkToken::approveCall {
                spender: d.vault,
                value: amount,
            },
        )
        .unwrap();
    chain
        .send(
            node(i),
            d.vault,
            &IStakeVault::stakeCall {
                amount,
                startEpoch: EPOCH,
                endEpoch: EPOCH + 1,
            },
        )
        .unwrap();
}

fn post<E: DevChain>(
    chain: &mut E,
    d: &Deployment,
    epoch: u64,
    bundle: &EpochBundle,
) -> Result<(), ChainError> {
    let s = bundle.summary;
    chain
        .send_value(
            operator(),
            d.registry,
            &IEpochRegistry::postEpochCall {
                epoch,
                root: U256::from_be_bytes(fr_to_be_bytes(&s.root)),
                count: s.count,
            },
            bond(),
        )
        .map(drop)
}

/// Deployed, both nodes staked (2500 units each), the honest jobs paid and the
/// honest epoch posted; the challenge window still open.
fn posted_world<E: DevChain>(chain: E) -> (E, Deployment) {
    let (mut chain, d) = deployed(chain);
    stake(&mut chain, &d, 0, 2500);
    stake(&mut chain, &d, 1, 3000);
    pay_honest_jobs(&mut chain, &d);
    post(&mut chain, &d, EPOCH, &honest().0).unwrap();
    (chain, d)
}

/// The same with the challenge window over: claims are open.
fn final_world<E: DevChain>(chain: E) -> (E, Deployment) {
    let (mut chain, d) = posted_world(chain);
    chain.advance(WINDOW);
    (chain, d)
}

/// A 65-byte r || s || v signature (v 27/28) over a prehashed digest.
fn sign_digest(key: &SigningKey, digest: B256) -> Bytes {
    let (signature, recovery) = key.sign_prehash_recoverable(digest.as_slice()).unwrap();
    let mut bytes = signature.to_bytes().to_vec();
    bytes.push(27 + recovery.is_y_odd() as u8);
    bytes.into()
}

/// Node `i`'s EIP-712 authorization of `input` for `nonce`.
fn authorize<E: DevChain>(
    chain: &mut E,
    d: &Deployment,
    key: &SigningKey,
    input: &ClaimInput,
    nonce: u64,
    deadline: U256,
) -> Bytes {
    let digest = view(
        chain,
        d.minter,
        &IRewardMinter::authorizationDigestCall {
            epoch: input.epoch,
            node: input.node,
            totalUnits: input.totalUnits,
            firstIndex: input.firstIndex,
            lastIndex: input.lastIndex,
            nonce: U256::from(nonce),
            deadline,
        },
    );
    sign_digest(key, digest)
}

fn expect<E: alloy_sol_types::SolError>(result: Result<proofmint_contracts::Receipt, ChainError>) {
    match result {
        Err(err) => assert!(is_error::<E>(&err), "expected {}, got {err}", E::SIGNATURE),
        Ok(_) => panic!("expected {}, the transaction succeeded", E::SIGNATURE),
    }
}

on_both!(
    generated_verifier_agrees_with_the_rust_verifier_and_meets_the_gas_floor,
    generated_verifier_agrees_with_the_rust_verifier_and_meets_the_gas_floor_on_anvil,
    generated_verifier_agrees_with_the_rust_verifier_and_meets_the_gas_floor_on
);

fn generated_verifier_agrees_with_the_rust_verifier_and_meets_the_gas_floor_on<E: DevChain>(
    new: &mut dyn FnMut() -> E,
) {
    let (mut chain, d) = deployed(new());
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

on_both!(
    the_deployment_matches_the_rust_side,
    the_deployment_matches_the_rust_side_on_anvil,
    the_deployment_matches_the_rust_side_on
);

fn the_deployment_matches_the_rust_side_on<E: DevChain>(new: &mut dyn FnMut() -> E) {
    let (mut chain, d) = deployed(new());
    // The registry signs receipts under the domain the Rust side uses.
    let separator = view(
        &mut chain,
        d.registry,
        &IEpochRegistry::domainSeparatorCall {},
    );
    assert_eq!(separator, domain().separator());
    let r = &honest_receipts()[3].receipt;
    let digest = view(
        &mut chain,
        d.registry,
        &IEpochRegistry::receiptDigestCall { r: receipt_data(r) },
    );
    assert_eq!(digest, r.signing_hash(&domain()));
    // On-chain Poseidon equals the native one (itself checked against circomlibjs).
    let leaf = view(
        &mut chain,
        d.registry,
        &IEpochRegistry::leafOfCall { r: receipt_data(r) },
    );
    assert_eq!(leaf, fr_to_u256(&r.leaf()));
    for (a, b) in [(0u64, 0u64), (1, 2), (u64::MAX, 7)] {
        let native = proofmint_circuits::poseidon::hash2(Fr::from(a), Fr::from(b));
        let (on_chain, gas) = chain
            .call(
                deployer(),
                d.poseidon2,
                &IPoseidon2::hashCall {
                    inputs: [U256::from(a), U256::from(b)],
                },
            )
            .unwrap();
        assert_eq!(on_chain, fr_to_u256(&native));
        eprintln!("Poseidon(2) on chain: {gas} gas per transaction");
    }
    // The hasher refuses constants that are not circomlib's.
    let err = chain
        .deploy(
            deployer(),
            artifacts().bytecode("PoseidonT10").unwrap(),
            &alloy_sol_types::SolValue::abi_encode_params(&(d.token,)),
        )
        .unwrap_err();
    assert!(is_error::<IPoseidon9::WrongConstants>(&err), "{err}");
    // No account holds an admin role: the timelock does.
    let admin_role = view(&mut chain, d.token, &IWorkToken::DEFAULT_ADMIN_ROLECall {});
    for (who, expected) in [
        (deployer(), false),
        (proposer(), false),
        (d.governance, true),
    ] {
        let held = view(
            &mut chain,
            d.token,
            &IWorkToken::hasRoleCall {
                role: admin_role,
                account: who,
            },
        );
        assert_eq!(held, expected, "{who}");
    }
}

on_both!(
    honest_protocol_pays_each_node_its_share_of_paid_units,
    honest_protocol_pays_each_node_its_share_of_paid_units_on_anvil,
    honest_protocol_pays_each_node_its_share_of_paid_units_on
);

fn honest_protocol_pays_each_node_its_share_of_paid_units_on<E: DevChain>(
    new: &mut dyn FnMut() -> E,
) {
    let (mut chain, d) = posted_world(new());
    // Claims wait for the challenge window.
    expect::<IRewardMinter::EpochNotFinal>(chain.send(
        node(0),
        d.minter,
        &claim_call(0, &prove(0, 0)),
    ));
    chain.advance(WINDOW);
    let paid = view(
        &mut chain,
        d.market,
        &IJobMarket::paidUnitsCall { epoch: EPOCH },
    );
    assert_eq!(paid, U256::from(5500u64));
    let first = chain
        .send(node(0), d.minter, &claim_call(0, &prove(0, 0)))
        .unwrap();
    eprintln!("claim: {} gas", first.gas_used);
    assert!(
        first.gas_used <= 400_000,
        "a claim costs {} gas",
        first.gas_used
    );
    chain
        .send(node(0), d.minter, &claim_call(0, &prove(0, 8)))
        .unwrap();
    chain
        .send(node(1), d.minter, &claim_call(1, &prove(1, 0)))
        .unwrap();
    chain
        .send(node(1), d.minter, &claim_call(1, &prove(1, 9)))
        .unwrap();
    let e = emission(EPOCH);
    assert_eq!(
        token_balance(&mut chain, &d, node(0)),
        e * U256::from(1600u64) / paid + e * U256::from(900u64) / paid
    );
    assert_eq!(
        token_balance(&mut chain, &d, node(1)),
        e * U256::from(2000u64) / paid + e * U256::from(1000u64) / paid
    );
    let minted = view(
        &mut chain,
        d.minter,
        &IRewardMinter::mintedInEpochCall { epoch: EPOCH },
    );
    assert!(
        minted <= e && e - minted < U256::from(10u64),
        "minted {minted} of {e}"
    );
    // The bond comes back once the epoch is final.
    chain
        .send(
            operator(),
            d.registry,
            &IEpochRegistry::returnBondCall { epoch: EPOCH },
        )
        .unwrap();
    expect::<IEpochRegistry::EpochNotFinal>(chain.send(
        operator(),
        d.registry,
        &IEpochRegistry::returnBondCall { epoch: EPOCH },
    ));
    let before = chain.balance(operator());
    chain
        .send(operator(), d.registry, &IEpochRegistry::withdrawCall {})
        .unwrap();
    assert_eq!(chain.balance(operator()) - before, bond());
}

on_both!(
    claim_griefing_by_strangers_and_reordered_relays_fails,
    claim_griefing_by_strangers_and_reordered_relays_fails_on_anvil,
    claim_griefing_by_strangers_and_reordered_relays_fails_on
);

fn claim_griefing_by_strangers_and_reordered_relays_fails_on<E: DevChain>(
    new: &mut dyn FnMut() -> E,
) {
    let (mut chain, d) = final_world(new());
    // Anyone holding the public bundle can prove a claim of node 0's last leaf...
    let griefing = prove(0, 8);
    // ...but cannot submit it: not as itself, nor with its own signature.
    expect::<IRewardMinter::ClaimNotAuthorized>(chain.send(
        attacker(),
        d.minter,
        &claim_call(0, &griefing),
    ));
    let deadline = U256::from(chain.timestamp() + 600);
    let forged = authorize(
        &mut chain,
        &d,
        &signing_key(0x66),
        &claim_input(EPOCH, node(0), &griefing),
        0,
        deadline,
    );
    expect::<IRewardMinter::ClaimNotAuthorized>(chain.send(
        attacker(),
        d.minter,
        &IRewardMinter::claimWithAuthorizationCall {
            input: claim_input(EPOCH, node(0), &griefing),
            deadline,
            signature: forged,
        },
    ));
    // Node 0 authorizes two relayed claims, in order (nonces 0 and 1).
    let first = claim_input(EPOCH, node(0), &prove(0, 0));
    let second = claim_input(EPOCH, node(0), &griefing);
    let sig_first = authorize(&mut chain, &d, &node_key(0), &first, 0, deadline);
    let sig_second = authorize(&mut chain, &d, &node_key(0), &second, 1, deadline);
    let relay = |input: &ClaimInput, signature: &Bytes| IRewardMinter::claimWithAuthorizationCall {
        input: input.clone(),
        deadline,
        signature: signature.clone(),
    };
    // Replaying the second from the mempool ahead of the first fails, and changes nothing.
    expect::<IRewardMinter::ClaimNotAuthorized>(chain.send(
        attacker(),
        d.minter,
        &relay(&second, &sig_second),
    ));
    // An authorization binds its claim: another range under it fails.
    expect::<IRewardMinter::ClaimNotAuthorized>(chain.send(
        attacker(),
        d.minter,
        &relay(&second, &sig_first),
    ));
    chain
        .send(relayer(), d.minter, &relay(&first, &sig_first))
        .unwrap();
    // Replaying the first again fails (its nonce is spent).
    expect::<IRewardMinter::ClaimNotAuthorized>(chain.send(
        attacker(),
        d.minter,
        &relay(&first, &sig_first),
    ));
    chain
        .send(relayer(), d.minter, &relay(&second, &sig_second))
        .unwrap();
    let delivered = view(
        &mut chain,
        d.minter,
        &IRewardMinter::deliveredUnitsCall {
            node: node(0),
            epoch: EPOCH,
        },
    );
    assert_eq!(
        delivered,
        U256::from(2500u64),
        "node 0 got every receipt it holds"
    );
    assert_eq!(
        token_balance(&mut chain, &d, relayer()),
        U256::ZERO,
        "rewards go to the node"
    );
    // An expired authorization is refused by name.
    let late = claim_input(EPOCH, node(1), &prove(1, 0));
    let past = U256::from(chain.timestamp() - 1);
    let sig = authorize(&mut chain, &d, &node_key(1), &late, 0, past);
    expect::<IRewardMinter::AuthorizationExpired>(chain.send(
        relayer(),
        d.minter,
        &IRewardMinter::claimWithAuthorizationCall {
            input: late,
            deadline: past,
            signature: sig,
        },
    ));
}

on_both!(
    self_dealt_units_are_refused_challenged_and_capped,
    self_dealt_units_are_refused_challenged_and_capped_on_anvil,
    self_dealt_units_are_refused_challenged_and_capped_on
);

fn self_dealt_units_are_refused_challenged_and_capped_on<E: DevChain>(new: &mut dyn FnMut() -> E) {
    // Node 0 signs its own receipt for 2^63 units, as its own client, unpaid.
    let fake = Receipt {
        job_id: job_id_of(node(0), U256::from(1u64)),
        node: node(0),
        client: node(0),
        epoch: EPOCH,
        units: 1 << 63,
        kind: 1,
        input_commitment: Fr::from(1u64),
        output_commitment: Fr::from(2u64),
    }
    .sign(&domain(), &node_key(0));
    let mut receipts = honest_receipts();
    receipts.push(fake);
    // The operator's build refuses it, naming the line, against the chain's payments.
    let on_chain = Payments::for_receipts(honest_receipts().iter().map(|r| &r.receipt));
    let numbered: Vec<_> = receipts
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, r)| (i + 1, r))
        .collect();
    let err = EpochBundle::build(EPOCH, domain(), SHAPE.depth, numbered, &on_chain).unwrap_err();
    assert!(
        err.to_string().contains("line 11: jobId") && err.to_string().contains("no payment"),
        "{err}"
    );
    // Paying for 2^63 units would burn 2^63 tokens: more than exist.
    let (mut chain, d) = deployed(new());
    chain
        .send(
            node(0),
            d.token,
            &IWorkToken::approveCall {
                spender: d.market,
                value: U256::MAX,
            },
        )
        .unwrap();
    assert!(chain
        .send(
            node(0),
            d.market,
            &IJobMarket::payForJobCall {
                salt: U256::from(1u64),
                node: node(0),
                epoch: EPOCH,
                units: 1 << 63
            }
        )
        .is_err());

    // A colluding operator admits it anyway: anyone voids the epoch with one challenge.
    let rigged = admit(&receipts);
    stake(&mut chain, &d, 0, 2500);
    pay_honest_jobs(&mut chain, &d);
    post(&mut chain, &d, EPOCH, &rigged.0).unwrap();
    let challenge = IEpochRegistry::challengeUnpaidCall {
        epoch: EPOCH,
        r: receipt_data(&fake.receipt),
        index: U256::from(10u64),
        siblings: path_of(&rigged.1, 10),
    };
    let gas = chain
        .send(attacker(), d.registry, &challenge)
        .unwrap()
        .gas_used;
    eprintln!("challengeUnpaid (depth {}): {gas} gas", SHAPE.depth);
    chain.advance(WINDOW);
    expect::<IRewardMinter::EpochIsVoided>(chain.send(
        node(0),
        d.minter,
        &claim_call(0, &prove_in(&rigged, 0, 10)),
    ));

    // Unchallenged, the minter still divides by paid units: the fake claim cannot mint.
    let (mut chain, d) = deployed(new());
    stake(&mut chain, &d, 0, 2500);
    pay_honest_jobs(&mut chain, &d);
    post(&mut chain, &d, EPOCH, &rigged.0).unwrap();
    chain.advance(WINDOW);
    expect::<IRewardMinter::ClaimExceedsPaidUnits>(chain.send(
        node(0),
        d.minter,
        &claim_call(0, &prove_in(&rigged, 0, 10)),
    ));
}

on_both!(
    inflated_totals_never_mint_past_the_epoch_emission,
    inflated_totals_never_mint_past_the_epoch_emission_on_anvil,
    inflated_totals_never_mint_past_the_epoch_emission_on
);

fn inflated_totals_never_mint_past_the_epoch_emission_on<E: DevChain>(new: &mut dyn FnMut() -> E) {
    // The operator cannot post a total (postEpoch takes none); it admits an unpaid
    // receipt worth half the paid units and nobody challenges in time.
    let extra = Receipt {
        job_id: job_id_of(node(0), U256::from(2u64)),
        node: node(0),
        client: node(0),
        epoch: EPOCH,
        units: 2750,
        kind: 1,
        input_commitment: Fr::from(3u64),
        output_commitment: Fr::from(4u64),
    }
    .sign(&domain(), &node_key(0));
    let mut receipts = honest_receipts();
    receipts.push(extra);
    let rigged = admit(&receipts);
    let (mut chain, d) = deployed(new());
    stake(&mut chain, &d, 0, 2500);
    stake(&mut chain, &d, 1, 3000);
    pay_honest_jobs(&mut chain, &d);
    post(&mut chain, &d, EPOCH, &rigged.0).unwrap();
    chain.advance(WINDOW);
    // Node 0 takes its honest 2500 and the fake 2750 (5250 of 5500 paid units)...
    chain
        .send(node(0), d.minter, &claim_call(0, &prove_in(&rigged, 0, 0)))
        .unwrap();
    chain
        .send(node(0), d.minter, &claim_call(0, &prove_in(&rigged, 0, 8)))
        .unwrap();
    // ...so node 1's honest 3000 units would overrun the emission: refused by name.
    expect::<IRewardMinter::EpochEmissionExceeded>(chain.send(
        node(1),
        d.minter,
        &claim_call(1, &prove_in(&rigged, 1, 0)),
    ));
    let minted = view(
        &mut chain,
        d.minter,
        &IRewardMinter::mintedInEpochCall { epoch: EPOCH },
    );
    assert!(minted <= emission(EPOCH));
}

on_both!(
    job_id_squatting_and_cross_deployment_replay_fail,
    job_id_squatting_and_cross_deployment_replay_fail_on_anvil,
    job_id_squatting_and_cross_deployment_replay_fail_on
);

fn job_id_squatting_and_cross_deployment_replay_fail_on<E: DevChain>(new: &mut dyn FnMut() -> E) {
    let (mut chain, d) = deployed(new());
    // The attacker front-runs the client's payForJob(salt 0) with 1 unit: it gets its own id.
    chain
        .send(
            client(),
            d.token,
            &IWorkToken::transferCall {
                to: attacker(),
                value: tokens(10),
            },
        )
        .unwrap();
    chain
        .send(
            attacker(),
            d.token,
            &IWorkToken::approveCall {
                spender: d.market,
                value: U256::MAX,
            },
        )
        .unwrap();
    let (squatted, _) = chain
        .call(
            attacker(),
            d.market,
            &IJobMarket::payForJobCall {
                salt: U256::ZERO,
                node: node(0),
                epoch: EPOCH,
                units: 1,
            },
        )
        .unwrap();
    assert_eq!(squatted, fr_to_u256(&job_id_of(attacker(), U256::ZERO)));
    pay_honest_jobs(&mut chain, &d); // the client's salt 0 still pays its own job id
    let record = view(
        &mut chain,
        d.market,
        &IJobMarket::paymentCall {
            jobId: fr_to_u256(&honest_receipts()[0].receipt.job_id),
        },
    );
    assert_eq!((record.client, record.units), (client(), 100));
    // Nor can anyone pay twice for one id, or for an epoch already posted.
    expect::<IJobMarket::JobAlreadyPaid>(chain.send(
        client(),
        d.market,
        &IJobMarket::payForJobCall {
            salt: U256::ZERO,
            node: node(0),
            epoch: EPOCH,
            units: 1,
        },
    ));
    stake(&mut chain, &d, 0, 2500);
    post(&mut chain, &d, EPOCH, &honest().0).unwrap();
    expect::<IJobMarket::EpochClosed>(chain.send(
        client(),
        d.market,
        &IJobMarket::payForJobCall {
            salt: U256::from(99u64),
            node: node(0),
            epoch: EPOCH,
            units: 1,
        },
    ));

    // A second deployment on the same chain id: receipts signed for the first do not verify.
    let second = deploy_all(&mut chain, artifacts(), "ClaimVerifier", &params()).unwrap();
    assert_ne!(second.registry, d.registry);
    let r = honest_receipts()[0];
    let here = view(
        &mut chain,
        second.registry,
        &IEpochRegistry::receiptDigestCall {
            r: receipt_data(&r.receipt),
        },
    );
    assert_ne!(here, r.receipt.signing_hash(&domain()));
    let elsewhere = ReceiptDomain::new(CHAIN_ID, second.registry);
    assert!(r.verify_signature(&elsewhere).is_err());
    let paid = Payments::for_receipts(honest_receipts().iter().map(|r| &r.receipt));
    let failures = proofmint_verifier::audit(&honest().0, &elsewhere, &paid).unwrap_err();
    assert!(failures
        .iter()
        .any(|f| matches!(f, proofmint_verifier::AuditFailure::Domain { .. })));
    // Replayed into the second deployment's dispute, the signature does not answer it.
    chain.fund(attacker(), bond());
    chain
        .send(
            client(),
            second.token,
            &IWorkToken::approveCall {
                spender: second.market,
                value: U256::MAX,
            },
        )
        .unwrap();
    let replayed = admit(&honest_receipts());
    chain
        .send_value(
            operator(),
            second.registry,
            &IEpochRegistry::postEpochCall {
                epoch: EPOCH,
                root: fr_to_u256(&replayed.0.summary.root),
                count: 10,
            },
            bond(),
        )
        .unwrap();
    chain
        .send_value(
            attacker(),
            second.registry,
            &IEpochRegistry::disputeSignatureCall {
                epoch: EPOCH,
                r: receipt_data(&r.receipt),
                index: U256::ZERO,
                siblings: path_of(&replayed.1, 0),
            },
            bond() / U256::from(10u64),
        )
        .unwrap();
    expect::<IEpochRegistry::SignatureInvalid>(chain.send(
        operator(),
        second.registry,
        &IEpochRegistry::answerDisputeCall {
            epoch: EPOCH,
            index: U256::ZERO,
            r: receipt_data(&r.receipt),
            signature: r.signature.to_vec().into(),
        },
    ));
}

on_both!(
    a_dishonest_operator_is_challenged_and_an_honest_one_is_not,
    a_dishonest_operator_is_challenged_and_an_honest_one_is_not_on_anvil,
    a_dishonest_operator_is_challenged_and_an_honest_one_is_not_on
);

fn a_dishonest_operator_is_challenged_and_an_honest_one_is_not_on<E: DevChain>(
    new: &mut dyn FnMut() -> E,
) {
    // Honest leaves survive every challenge.
    let (mut chain, d) = posted_world(new());
    let (bundle, tree) = honest();
    let r3 = bundle.receipts[3];
    expect::<IEpochRegistry::ReceiptIsPaid>(chain.send(
        attacker(),
        d.registry,
        &IEpochRegistry::challengeUnpaidCall {
            epoch: EPOCH,
            r: receipt_data(&r3.receipt),
            index: U256::from(3u64),
            siblings: path_of(tree, 3),
        },
    ));
    expect::<IEpochRegistry::NotADuplicate>(chain.send(
        attacker(),
        d.registry,
        &IEpochRegistry::challengeDuplicateCall {
            epoch: EPOCH,
            a: receipt_data(&r3.receipt),
            indexA: U256::from(3u64),
            siblingsA: path_of(tree, 3),
            b: receipt_data(&r3.receipt),
            indexB: U256::from(3u64),
            siblingsB: path_of(tree, 3),
        },
    ));
    // A receipt not in the tree, a wrong path, a non-canonical job id: refused by name.
    let mut altered = receipt_data(&r3.receipt);
    altered.units += 1;
    expect::<IEpochRegistry::LeafNotInTree>(chain.send(
        attacker(),
        d.registry,
        &IEpochRegistry::challengeUnpaidCall {
            epoch: EPOCH,
            r: altered,
            index: U256::from(3u64),
            siblings: path_of(tree, 3),
        },
    ));
    expect::<IEpochRegistry::LeafNotInTree>(chain.send(
        attacker(),
        d.registry,
        &IEpochRegistry::challengeUnpaidCall {
            epoch: EPOCH,
            r: receipt_data(&r3.receipt),
            index: U256::from(4u64),
            siblings: path_of(tree, 4),
        },
    ));
    let mut shifted = receipt_data(&r3.receipt);
    shifted.jobId += U256::from_str_radix(R_DEC, 10).unwrap();
    expect::<IEpochRegistry::NotInField>(chain.send(
        attacker(),
        d.registry,
        &IEpochRegistry::challengeUnpaidCall {
            epoch: EPOCH,
            r: shifted,
            index: U256::from(3u64),
            siblings: path_of(tree, 3),
        },
    ));
    expect::<IEpochRegistry::BadPath>(chain.send(
        attacker(),
        d.registry,
        &IEpochRegistry::challengeUnpaidCall {
            epoch: EPOCH,
            r: receipt_data(&r3.receipt),
            index: U256::from(3u64),
            siblings: vec![],
        },
    ));
    // A dispute of an honest signature is answered; the deposit goes to the operator.
    let deposit = bond() / U256::from(10u64);
    let dispute = IEpochRegistry::disputeSignatureCall {
        epoch: EPOCH,
        r: receipt_data(&r3.receipt),
        index: U256::from(3u64),
        siblings: path_of(tree, 3),
    };
    chain
        .send_value(attacker(), d.registry, &dispute, deposit)
        .unwrap();
    expect::<IEpochRegistry::DisputeExists>(chain.send_value(
        attacker(),
        d.registry,
        &dispute,
        deposit,
    ));
    chain.advance(WINDOW);
    // An open dispute holds claims even after the window.
    expect::<IRewardMinter::EpochNotFinal>(chain.send(
        node(0),
        d.minter,
        &claim_call(0, &prove(0, 0)),
    ));
    let mut forged = r3.signature;
    forged[10] ^= 1;
    expect::<IEpochRegistry::SignatureInvalid>(chain.send(
        operator(),
        d.registry,
        &IEpochRegistry::answerDisputeCall {
            epoch: EPOCH,
            index: U256::from(3u64),
            r: receipt_data(&r3.receipt),
            signature: forged.to_vec().into(),
        },
    ));
    chain
        .send(
            operator(),
            d.registry,
            &IEpochRegistry::answerDisputeCall {
                epoch: EPOCH,
                index: U256::from(3u64),
                r: receipt_data(&r3.receipt),
                signature: r3.signature.to_vec().into(),
            },
        )
        .unwrap();
    assert_eq!(
        view(
            &mut chain,
            d.registry,
            &IEpochRegistry::creditCall {
                account: operator()
            }
        ),
        deposit
    );
    // Challenges close with the window.
    expect::<IEpochRegistry::ChallengeWindowClosed>(chain.send(
        attacker(),
        d.registry,
        &IEpochRegistry::challengeUnpaidCall {
            epoch: EPOCH,
            r: receipt_data(&r3.receipt),
            index: U256::from(3u64),
            siblings: path_of(tree, 3),
        },
    ));
    chain
        .send(node(0), d.minter, &claim_call(0, &prove(0, 0)))
        .unwrap();

    // A job id admitted twice: voided, half the bond to the challenger, half to governance.
    let mut receipts = honest_receipts();
    receipts.push(receipts[2]);
    let twice = admit_unchecked(&receipts);
    let (mut chain, d) = deployed(new());
    stake(&mut chain, &d, 0, 2500);
    pay_honest_jobs(&mut chain, &d);
    post(&mut chain, &d, EPOCH, &twice.0).unwrap();
    let r2 = receipt_data(&receipts[2].receipt);
    chain
        .send(
            attacker(),
            d.registry,
            &IEpochRegistry::challengeDuplicateCall {
                epoch: EPOCH,
                a: r2.clone(),
                indexA: U256::from(2u64),
                siblingsA: path_of(&twice.1, 2),
                b: r2,
                indexB: U256::from(10u64),
                siblingsB: path_of(&twice.1, 10),
            },
        )
        .unwrap();
    assert_eq!(
        view(
            &mut chain,
            d.registry,
            &IEpochRegistry::creditCall {
                account: attacker()
            }
        ),
        bond() / U256::from(2u64)
    );
    assert_eq!(
        view(
            &mut chain,
            d.registry,
            &IEpochRegistry::creditCall {
                account: d.governance
            }
        ),
        bond() / U256::from(2u64)
    );
    let before = chain.balance(attacker());
    chain
        .send(attacker(), d.registry, &IEpochRegistry::withdrawCall {})
        .unwrap();
    assert_eq!(
        chain.balance(attacker()) - before,
        bond() / U256::from(2u64)
    );
    expect::<IEpochRegistry::NothingToWithdraw>(chain.send(
        attacker(),
        d.registry,
        &IEpochRegistry::withdrawCall {},
    ));
    expect::<IEpochRegistry::EpochIsVoided>(chain.send(
        attacker(),
        d.registry,
        &IEpochRegistry::challengeUnpaidCall {
            epoch: EPOCH,
            r: receipt_data(&receipts[0].receipt),
            index: U256::ZERO,
            siblings: path_of(&twice.1, 0),
        },
    ));
    // The voided epoch mints nothing; the operator reposts it honestly and it pays.
    chain.advance(WINDOW);
    expect::<IRewardMinter::EpochIsVoided>(chain.send(
        node(0),
        d.minter,
        &claim_call(0, &prove(0, 0)),
    ));
    post(&mut chain, &d, EPOCH, &honest().0).unwrap();
    expect::<IRewardMinter::EpochNotFinal>(chain.send(
        node(0),
        d.minter,
        &claim_call(0, &prove(0, 0)),
    ));
    chain.advance(WINDOW);
    chain
        .send(node(0), d.minter, &claim_call(0, &prove(0, 0)))
        .unwrap();

    // A leaf whose client never signed it: the operator cannot answer, anyone voids.
    let mut receipts = honest_receipts();
    receipts[5].signature = receipts[4].signature; // another receipt's signature
    let unsigned = admit_unchecked(&receipts);
    let (mut chain, d) = deployed(new());
    pay_honest_jobs(&mut chain, &d);
    post(&mut chain, &d, EPOCH, &unsigned.0).unwrap();
    let r5 = receipt_data(&receipts[5].receipt);
    chain
        .send_value(
            attacker(),
            d.registry,
            &IEpochRegistry::disputeSignatureCall {
                epoch: EPOCH,
                r: r5.clone(),
                index: U256::from(5u64),
                siblings: path_of(&unsigned.1, 5),
            },
            deposit,
        )
        .unwrap();
    expect::<IEpochRegistry::SignatureInvalid>(chain.send(
        operator(),
        d.registry,
        &IEpochRegistry::answerDisputeCall {
            epoch: EPOCH,
            index: U256::from(5u64),
            r: r5.clone(),
            signature: receipts[5].signature.to_vec().into(),
        },
    ));
    expect::<IEpochRegistry::AnswerWindowOpen>(chain.send(
        relayer(),
        d.registry,
        &IEpochRegistry::resolveDisputeCall {
            epoch: EPOCH,
            index: U256::from(5u64),
        },
    ));
    chain.advance(ANSWER + 1);
    chain
        .send(
            relayer(),
            d.registry,
            &IEpochRegistry::resolveDisputeCall {
                epoch: EPOCH,
                index: U256::from(5u64),
            },
        )
        .unwrap();
    let record = view(
        &mut chain,
        d.registry,
        &IEpochRegistry::epochInfoCall { epoch: EPOCH },
    );
    assert!(record.voided && record.openDisputes == 0);
    assert_eq!(
        view(
            &mut chain,
            d.registry,
            &IEpochRegistry::creditCall {
                account: attacker()
            }
        ),
        deposit + bond() / U256::from(2u64)
    );
}

/// A dishonest operator's bundle: no admission checks at all.
fn admit_unchecked(receipts: &[SignedReceipt]) -> (EpochBundle, EpochTree) {
    let tree = EpochTree::new(
        SHAPE.depth,
        receipts.iter().map(|r| r.receipt.leaf()).collect(),
    )
    .unwrap();
    let summary = proofmint_circuits::epoch::EpochSummary {
        epoch: EPOCH,
        domain: domain(),
        depth: SHAPE.depth,
        root: tree.root(),
        total_units: receipts.iter().map(|r| r.receipt.units).sum(),
        count: receipts.len() as u64,
    };
    (
        EpochBundle {
            summary,
            receipts: receipts.to_vec(),
        },
        tree,
    )
}

on_both!(
    registry_bricking_and_admin_capture_fail,
    registry_bricking_and_admin_capture_fail_on_anvil,
    registry_bricking_and_admin_capture_fail_on
);

fn registry_bricking_and_admin_capture_fail_on<E: DevChain>(new: &mut dyn FnMut() -> E) {
    let (mut chain, d) = deployed(new());
    let root = fr_to_u256(&honest().0.summary.root);
    let post_at = |epoch: u64| IEpochRegistry::postEpochCall {
        epoch,
        root,
        count: 10,
    };
    // Far in the future, or skipping one: refused. Only the operator posts, with the bond.
    expect::<IEpochRegistry::EpochOutOfOrder>(chain.send_value(
        operator(),
        d.registry,
        &post_at(1 << 40),
        bond(),
    ));
    expect::<IEpochRegistry::EpochOutOfOrder>(chain.send_value(
        operator(),
        d.registry,
        &post_at(EPOCH + 1),
        bond(),
    ));
    expect::<IEpochRegistry::AccessControlUnauthorizedAccount>(chain.send_value(
        attacker(),
        d.registry,
        &post_at(EPOCH),
        bond(),
    ));
    expect::<IEpochRegistry::WrongBond>(chain.send_value(
        operator(),
        d.registry,
        &post_at(EPOCH),
        U256::ZERO,
    ));
    chain
        .send_value(operator(), d.registry, &post_at(EPOCH), bond())
        .unwrap();
    expect::<IEpochRegistry::EpochOutOfOrder>(chain.send_value(
        operator(),
        d.registry,
        &post_at(EPOCH),
        bond(),
    ));
    chain
        .send_value(operator(), d.registry, &post_at(EPOCH + 1), bond())
        .unwrap();

    // The deployer cannot grant itself minting rights, nor change the verifier or the price.
    let minter_role = view(&mut chain, d.token, &IWorkToken::MINTER_ROLECall {});
    let grant = IWorkToken::grantRoleCall {
        role: minter_role,
        account: deployer(),
    };
    expect::<IWorkToken::AccessControlUnauthorizedAccount>(chain.send(deployer(), d.token, &grant));
    expect::<IWorkToken::AccessControlUnauthorizedAccount>(chain.send(
        deployer(),
        d.token,
        &IWorkToken::mintCall {
            to: deployer(),
            amount: U256::from(1u64),
        },
    ));
    expect::<IEpochRegistry::AccessControlUnauthorizedAccount>(chain.send(
        deployer(),
        d.registry,
        &IEpochRegistry::setClaimVerifierCall {
            verifier: attacker(),
        },
    ));
    expect::<IJobMarket::NotGovernance>(chain.send(
        deployer(),
        d.market,
        &IJobMarket::setPriceCall {
            newPrice: U256::from(1u64),
        },
    ));
    // Through the timelock, only a proposer schedules, and nothing runs before the delay.
    let delay = U256::from(params().governance_delay);
    let schedule = |target: Address, data: Vec<u8>, salt: u8| IGovernance::scheduleCall {
        target,
        value: U256::ZERO,
        data: data.into(),
        predecessor: B256::ZERO,
        salt: B256::repeat_byte(salt),
        delay,
    };
    let execute = |target: Address, data: Vec<u8>, salt: u8| IGovernance::executeCall {
        target,
        value: U256::ZERO,
        payload: data.into(),
        predecessor: B256::ZERO,
        salt: B256::repeat_byte(salt),
    };
    let grab = grant.abi_encode();
    expect::<IGovernance::AccessControlUnauthorizedAccount>(chain.send(
        attacker(),
        d.governance,
        &schedule(d.token, grab.clone(), 1),
    ));
    let mut short = schedule(d.token, grab.clone(), 1);
    short.delay = U256::from(60u64);
    expect::<IGovernance::TimelockInsufficientDelay>(chain.send(proposer(), d.governance, &short));
    chain
        .send(
            proposer(),
            d.governance,
            &schedule(d.token, grab.clone(), 1),
        )
        .unwrap();
    expect::<IGovernance::TimelockUnexpectedOperationState>(chain.send(
        attacker(),
        d.governance,
        &execute(d.token, grab, 1),
    ));

    // Replacing the verifier (say, after a gas repricing) goes through the timelock, and
    // the old verifier stays in force for the epochs posted under it.
    let replacement = chain
        .deploy(
            deployer(),
            artifacts().bytecode("ClaimVerifier").unwrap(),
            &[],
        )
        .unwrap();
    let set = IEpochRegistry::setClaimVerifierCall {
        verifier: replacement,
    }
    .abi_encode();
    chain
        .send(
            proposer(),
            d.governance,
            &schedule(d.registry, set.clone(), 2),
        )
        .unwrap();
    chain.advance(params().governance_delay);
    chain
        .send(attacker(), d.governance, &execute(d.registry, set, 2))
        .unwrap(); // anyone executes a ready operation
    let old = view(
        &mut chain,
        d.registry,
        &IEpochRegistry::epochInfoCall { epoch: EPOCH },
    );
    assert_eq!(old.verifier, d.verifier);
    chain
        .send_value(operator(), d.registry, &post_at(EPOCH + 2), bond())
        .unwrap();
    let new = view(
        &mut chain,
        d.registry,
        &IEpochRegistry::epochInfoCall { epoch: EPOCH + 2 },
    );
    assert_eq!(new.verifier, replacement);
}

on_both!(
    stake_games_fail_and_slashes_burn,
    stake_games_fail_and_slashes_burn_on_anvil,
    stake_games_fail_and_slashes_burn_on
);

fn stake_games_fail_and_slashes_burn_on<E: DevChain>(new: &mut dyn FnMut() -> E) {
    let (mut chain, d) = deployed(new());
    chain
        .send(
            client(),
            d.token,
            &IWorkToken::transferCall {
                to: node(0),
                value: tokens(10_000),
            },
        )
        .unwrap();
    chain
        .send(
            node(0),
            d.token,
            &IWorkToken::approveCall {
                spender: d.vault,
                value: U256::MAX,
            },
        )
        .unwrap();
    let stake_call = |amount: U256, start: u64, end: u64| IStakeVault::stakeCall {
        amount,
        startEpoch: start,
        endEpoch: end,
    };
    // Capacity is bought, not picked: less than one unit's stake is refused.
    expect::<IStakeVault::StakeBelowOneUnit>(chain.send(
        node(0),
        d.vault,
        &stake_call(tokens(1) - U256::from(1u64), EPOCH, EPOCH),
    ));
    expect::<IStakeVault::StakeTooLarge>(chain.send(
        node(0),
        d.vault,
        &stake_call(U256::MAX, EPOCH, EPOCH),
    ));
    expect::<IStakeVault::InvalidEpochRange>(chain.send(
        node(0),
        d.vault,
        &stake_call(tokens(10), EPOCH + 1, EPOCH),
    ));
    expect::<IStakeVault::InvalidEpochRange>(chain.send(
        node(0),
        d.vault,
        &stake_call(tokens(10), EPOCH, EPOCH + 5000),
    ));
    // Claiming with no stake.
    pay_honest_jobs(&mut chain, &d);
    post(&mut chain, &d, EPOCH, &honest().0).unwrap();
    chain.advance(WINDOW);
    expect::<IRewardMinter::NoActiveStake>(chain.send(
        node(0),
        d.minter,
        &claim_call(0, &prove(0, 0)),
    ));
    // A stake covering a posted epoch, to be released at once: refused.
    expect::<IStakeVault::StakeMustStartInFuture>(chain.send(
        node(0),
        d.vault,
        &stake_call(tokens(2500), EPOCH, EPOCH + 1),
    ));
    // Node 0 commits 2500 units for epochs 2..=3 and delivers nothing.
    chain
        .send(
            node(0),
            d.vault,
            &stake_call(tokens(2500), EPOCH + 1, EPOCH + 2),
        )
        .unwrap();
    expect::<IStakeVault::AlreadyStaked>(chain.send(
        node(0),
        d.vault,
        &stake_call(tokens(2500), EPOCH + 1, EPOCH + 2),
    ));
    for e in EPOCH + 1..=EPOCH + 2 {
        post(&mut chain, &d, e, &honest().0).unwrap();
    }
    // Before the range and its grace epoch are over, nobody can release.
    expect::<IStakeVault::RangeNotEnded>(chain.send(
        attacker(),
        d.vault,
        &IStakeVault::releaseCall { node: node(0) },
    ));
    post(&mut chain, &d, EPOCH + 3, &honest().0).unwrap();
    post(&mut chain, &d, EPOCH + 4, &honest().0).unwrap();
    // Epochs still inside their challenge window are not settled.
    expect::<IStakeVault::EpochNotSettled>(chain.send(
        attacker(),
        d.vault,
        &IStakeVault::releaseCall { node: node(0) },
    ));
    chain.advance(WINDOW);
    let supply = view(&mut chain, d.token, &IWorkToken::totalSupplyCall {});
    // Anyone triggers the slash: the whole stake (no delivery), burned.
    chain
        .send(
            attacker(),
            d.vault,
            &IStakeVault::releaseCall { node: node(0) },
        )
        .unwrap();
    assert_eq!(
        supply - view(&mut chain, d.token, &IWorkToken::totalSupplyCall {}),
        tokens(2500)
    );
    assert_eq!(token_balance(&mut chain, &d, node(0)), tokens(7500));
    expect::<IStakeVault::NoStake>(chain.send(
        attacker(),
        d.vault,
        &IStakeVault::releaseCall { node: node(0) },
    ));
    let staked = view(&mut chain, d.vault, &IStakeVault::totalStakedCall {});
    let released = view(&mut chain, d.vault, &IStakeVault::totalReleasedCall {});
    let slashed = view(&mut chain, d.vault, &IStakeVault::totalSlashedCall {});
    let locked = token_balance(&mut chain, &d, d.vault);
    assert_eq!(staked, locked + released + slashed);
}

on_both!(
    stakes_release_in_proportion_to_delivery,
    stakes_release_in_proportion_to_delivery_on_anvil,
    stakes_release_in_proportion_to_delivery_on
);

fn stakes_release_in_proportion_to_delivery_on<E: DevChain>(new: &mut dyn FnMut() -> E) {
    let (mut chain, d) = final_world(new()); // node 0: 2500 units for EPOCH..=EPOCH+1
    chain
        .send(node(0), d.minter, &claim_call(0, &prove(0, 0)))
        .unwrap();
    chain
        .send(node(0), d.minter, &claim_call(0, &prove(0, 8)))
        .unwrap();
    for e in EPOCH + 1..=EPOCH + 3 {
        post(&mut chain, &d, e, &honest().0).unwrap();
    }
    chain.advance(WINDOW);
    // 2500 of 2500 delivered in EPOCH, 0 of 2500 in EPOCH + 1: half the stake is burned.
    let before = token_balance(&mut chain, &d, node(0));
    let slash = view(
        &mut chain,
        d.vault,
        &IStakeVault::slashOfCall { node: node(0) },
    );
    assert_eq!(slash, tokens(1250));
    chain
        .send(
            relayer(),
            d.vault,
            &IStakeVault::releaseCall { node: node(0) },
        )
        .unwrap();
    assert_eq!(
        token_balance(&mut chain, &d, node(0)) - before,
        tokens(1250)
    );
}

on_both!(
    emission_schedule_is_fixed_and_bounded,
    emission_schedule_is_fixed_and_bounded_on_anvil,
    emission_schedule_is_fixed_and_bounded_on
);

fn emission_schedule_is_fixed_and_bounded_on<E: DevChain>(new: &mut dyn FnMut() -> E) {
    let (mut chain, d) = deployed(new());
    for epoch in [1u64, 2, 3, 10, 100, 1000] {
        let on_chain = view(&mut chain, d.minter, &IRewardMinter::emissionCall { epoch });
        assert_eq!(on_chain, emission(epoch), "epoch {epoch}");
    }
    assert_eq!(
        view(
            &mut chain,
            d.minter,
            &IRewardMinter::emissionCall { epoch: 0 }
        ),
        U256::ZERO
    );
    // A schedule whose series could exceed the cap left above the genesis supply is refused.
    let mut p = params();
    p.initial_emission = tokens(16_000); // 16,000 / (1 - 0.99) = 1,600,000 > 1,500,000
    let err = deploy_all(&mut new(), artifacts(), "ClaimVerifier", &p).unwrap_err();
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

#[test]
fn the_verifier_reverts_rather_than_answer_when_starved_of_gas() {
    let (mut chain, d) = deployed(Chain::new());
    let claim = prove(0, 0);
    let call = calldata(&proof_words(&claim.proof), &public_u256(&claim));
    let caller = Address::repeat_byte(0x11);
    // With too little gas a precompile would fail like an invalid proof: the answer
    // would be `false` for a valid proof. The verifier reverts instead.
    chain.gas_limit = 150_000;
    let err = chain.send(caller, d.verifier, &call).unwrap_err();
    assert!(matches!(err, ChainError::Reverted(_)), "{err}");
    chain.gas_limit = 16_000_000;
    let (ok, _) = chain.call(caller, d.verifier, &call).unwrap();
    assert!(ok);
}
