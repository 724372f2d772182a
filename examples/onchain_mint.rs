//! On chain, end to end, in an in-process EVM: clients sign receipts, the
//! operator builds the epoch and posts its root, a node stakes, proves its
//! claim and has it minted, and after the epoch range its stake is released.
//! Prints each step with its gas.
//!
//! `cargo run --release -p proofmint-contracts --example onchain_mint`
//! (needs node and `npm ci --prefix tools/js` for solc).

use alloy_primitives::{Address, U256};
use ark_bn254::Fr;
use k256::ecdsa::SigningKey;
use proofmint_circuits::claim::{ClaimShape, ClaimWitness};
use proofmint_circuits::field::{fr_to_be_bytes, fr_to_u256};
use proofmint_circuits::receipt::{address_of, Receipt};
use proofmint_circuits::EpochBundle;
use proofmint_contracts::abi::{IEpochRegistry, IRewardMinter, IStakeVault, IWorkToken};
use proofmint_contracts::deploy::{deploy_all, Params};
use proofmint_contracts::{compile, sources, tokens, Chain};
use proofmint_prover::{prove_claim, setup_development};
use proofmint_verifier::solidity::{claim_verifier, precompile_gas_floor, proof_words};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

fn key_from(rng: &mut ChaCha20Rng) -> SigningKey {
    loop {
        if let Ok(key) = SigningKey::from_bytes(&rng.gen::<[u8; 32]>().into()) {
            return key;
        }
    }
}

fn whole(amount: U256) -> String {
    let unit = tokens(1);
    format!("{}.{:018}", amount / unit, amount % unit)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (epoch, chain_id, shape) = (1u64, 31337u64, ClaimShape::new(16, 20)?);
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let clients: Vec<SigningKey> = (0..3).map(|_| key_from(&mut rng)).collect();
    let nodes: Vec<Address> = (0..4).map(|_| address_of(&key_from(&mut rng))).collect();
    let node = nodes[0];

    // Off chain: receipts, epoch tree, keys.
    let receipts = (0..40usize)
        .map(|i| {
            let client = &clients[i % clients.len()];
            let receipt = Receipt {
                job_id: Fr::from(10_000 + i as u64),
                node: nodes[i % nodes.len()],
                client: address_of(client),
                epoch,
                units: rng.gen_range(100..2_000),
                kind: 1,
                input_commitment: Fr::from(i as u64),
                output_commitment: Fr::from(i as u64 * 31),
            };
            (i + 1, receipt.sign(chain_id, client))
        })
        .collect();
    let (bundle, tree) = EpochBundle::build(epoch, chain_id, shape.depth, receipts)?;
    let s = bundle.summary;
    println!(
        "epoch {epoch}: {} receipts, {} units",
        s.count, s.total_units
    );
    let key = setup_development(shape, &mut rng)?;
    println!("claim keys: {shape} (development setup, not for production)");

    // Contracts: the generated verifier for this key, and the system around it.
    let dir = std::env::temp_dir().join(format!("proofmint-onchain-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let verifier_path = dir.join("ClaimVerifier.sol");
    std::fs::write(&verifier_path, claim_verifier(&key.key, "ClaimVerifier"))?;
    let mut files = sources();
    files.push(verifier_path);
    let artifacts = compile(&files)?;
    let mut chain = Chain::new();
    let (admin, operator) = (Address::repeat_byte(0xad), Address::repeat_byte(0x0b));
    let params = Params {
        admin,
        operator,
        cap: tokens(21_000_000),
        initial_emission: tokens(50_000),
        decay_per_epoch: U256::from(995_000_000_000_000_000u64),
        genesis_epoch: 1,
        grace_epochs: 1,
    };
    let d = deploy_all(&mut chain, &artifacts, "ClaimVerifier", &params)?;
    println!("deployed with solc {}", artifacts.compiler);

    // The operator posts the epoch.
    let root = U256::from_be_bytes(fr_to_be_bytes(&s.root));
    let post = |epoch: u64| IEpochRegistry::postEpochCall {
        epoch,
        root,
        totalUnits: U256::from(s.total_units),
        count: U256::from(s.count),
    };
    let posted = chain.send(operator, d.registry, &post(epoch))?;
    println!("operator posted epoch {epoch}: {} gas", posted.gas_used);

    // The node proves its claim; a relayer submits it; the node is minted its share.
    let circuit = ClaimWitness::build(shape, epoch, &bundle.receipts, &tree, node, 0)?;
    let held = circuit.receipt_count();
    let claim = prove_claim(&key, circuit, &proofmint_gpu::CpuBackend, &mut rng)?;
    let w: Vec<U256> = proof_words(&claim.proof)
        .iter()
        .map(|b| U256::from_be_bytes(*b))
        .collect();
    let p = claim.public.to_inputs().map(|f| fr_to_u256(&f));
    let verify = proofmint_contracts::abi::IClaimVerifier::verifyProofCall {
        a: [w[0], w[1]],
        b: [[w[2], w[3]], [w[4], w[5]]],
        c: [w[6], w[7]],
        pubSignals: p,
    };
    let (accepted, verify_gas) = chain.call(Address::repeat_byte(0x33), d.verifier, &verify)?;
    println!(
        "verifyProof: {accepted}, {verify_gas} gas (precompile floor {})",
        precompile_gas_floor()
    );
    let call = IRewardMinter::claimCall {
        epoch,
        node,
        totalUnits: p[3],
        firstIndex: p[4],
        lastIndex: p[5],
        a: verify.a,
        b: verify.b,
        c: verify.c,
    };
    let claimed = chain.send(Address::repeat_byte(0x33), d.minter, &call)?;
    let (minted, _) = chain.call(admin, d.token, &IWorkToken::balanceOfCall { account: node })?;
    println!(
        "node {node} claimed {} units over {held} receipts: {} gas, minted {} WORK",
        p[3],
        claimed.gas_used,
        whole(minted)
    );

    // The node stakes its reward committing to its delivered units for this epoch, then releases it.
    chain.send(
        node,
        d.token,
        &IWorkToken::approveCall {
            spender: d.vault,
            value: minted,
        },
    )?;
    let stake = IStakeVault::stakeCall {
        amount: minted,
        capacity: p[3],
        startEpoch: epoch,
        endEpoch: epoch,
    };
    chain.send(node, d.vault, &stake)?;
    for later in epoch + 1..=epoch + 2 {
        chain.send(operator, d.registry, &post(later))?;
    }
    let released = chain.send(node, d.vault, &IStakeVault::releaseCall {})?;
    let (balance, _) = chain.call(admin, d.token, &IWorkToken::balanceOfCall { account: node })?;
    println!("stake released after the range: {} gas; node balance {} WORK (no shortfall, nothing slashed)", released.gas_used, whole(balance));
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
