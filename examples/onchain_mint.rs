//! On chain, end to end, in an in-process EVM: a node stakes for the coming
//! epochs, clients pay for jobs (burning tokens), sign receipts, the operator
//! admits exactly the paid receipts and posts the root with its bond, the
//! challenge window passes, the node proves its claim and has it minted, and
//! after its range anyone releases its stake. Prints each step with its gas.
//!
//! `cargo run --release -p proofmint-contracts --example onchain_mint`
//! (needs node and `npm ci --prefix tools/js` for solc).

use alloy_primitives::{Address, U256};
use ark_bn254::Fr;
use k256::ecdsa::SigningKey;
use proofmint_circuits::claim::{ClaimShape, ClaimWitness};
use proofmint_circuits::field::{fr_from_u256, fr_to_u256};
use proofmint_circuits::payment::{Payment, Payments};
use proofmint_circuits::receipt::{address_of, Receipt, ReceiptDomain};
use proofmint_circuits::EpochBundle;
use proofmint_contracts::abi::{
    IEpochRegistry, IJobMarket, IRewardMinter, IStakeVault, IWorkToken,
};
use proofmint_contracts::deploy::{deploy_all, Params};
use proofmint_contracts::{compile, sources, tokens, Chain, DevChain, CHAIN_ID};
use proofmint_prover::{prove_claim, setup_development};
use proofmint_verifier::solidity::claim_verifier;
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
    let (epoch, shape) = (1u64, ClaimShape::new(16, 20)?);
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let client_key = key_from(&mut rng);
    let client = address_of(&client_key);
    let nodes: Vec<Address> = (0..4).map(|_| address_of(&key_from(&mut rng))).collect();
    let node = nodes[0];
    let operator = Address::repeat_byte(0x0b);
    let ether = U256::from(10u64).pow(U256::from(18u64));

    println!("setting up keys ({shape}) and compiling the contracts");
    let key = setup_development(shape, &mut rng)?;
    let dir = std::env::temp_dir().join("proofmint-onchain-mint");
    std::fs::create_dir_all(&dir)?;
    let verifier_path = dir.join("ClaimVerifier.sol");
    std::fs::write(&verifier_path, claim_verifier(&key.key, "ClaimVerifier"))?;
    let mut files = sources();
    files.push(verifier_path);
    let artifacts = compile(&files)?;

    let mut chain = Chain::new();
    let params = Params {
        deployer: Address::repeat_byte(0xad),
        proposer: Address::repeat_byte(0xac),
        governance_delay: 2 * 24 * 3600,
        operator,
        cap: tokens(2_000_000),
        genesis_supply: tokens(500_000),
        genesis_holder: client,
        initial_emission: tokens(10_000),
        decay_per_epoch: U256::from(990_000_000_000_000_000u64),
        genesis_epoch: epoch,
        grace_epochs: 1,
        tree_depth: shape.depth as u8,
        price: tokens(1),
        stake_per_unit: tokens(1),
        bond: ether,
        challenge_window: 3600,
        answer_window: 600,
        dispute_deposit: ether / U256::from(10u64),
    };
    let d = deploy_all(&mut chain, &artifacts, "ClaimVerifier", &params)?;
    chain.fund(operator, ether * U256::from(10u64));
    println!("deployed: registry {}, minter {}", d.registry, d.minter);

    // The node stakes for epochs 1..=2 (1,000 units of capacity).
    chain.send(
        client,
        d.token,
        &IWorkToken::transferCall {
            to: node,
            value: tokens(1_000),
        },
    )?;
    chain.send(
        node,
        d.token,
        &IWorkToken::approveCall {
            spender: d.vault,
            value: tokens(1_000),
        },
    )?;
    let r = chain.send(
        node,
        d.vault,
        &IStakeVault::stakeCall {
            amount: tokens(1_000),
            startEpoch: epoch,
            endEpoch: epoch + 1,
        },
    )?;
    println!(
        "node {node} stakes 1,000 WORK for epochs 1..=2 ({} gas)",
        r.gas_used
    );

    // Clients pay for 40 jobs on chain, then sign their receipts.
    let domain = ReceiptDomain::new(CHAIN_ID, d.registry);
    chain.send(
        client,
        d.token,
        &IWorkToken::approveCall {
            spender: d.market,
            value: U256::MAX,
        },
    )?;
    let mut receipts = Vec::new();
    let mut paid = Vec::new();
    let mut pay_gas = 0;
    for i in 0..40u64 {
        let (units, to) = (rng.gen_range(100..2_000), nodes[i as usize % nodes.len()]);
        let call = IJobMarket::payForJobCall {
            salt: U256::from(i),
            node: to,
            epoch,
            units,
        };
        let (job_id, _) = chain.call(client, d.market, &call)?;
        pay_gas = chain
            .send(
                client,
                d.market,
                &IJobMarket::payForJobCall {
                    salt: U256::from(1000 + i),
                    node: to,
                    epoch: epoch + 1,
                    units,
                },
            )?
            .gas_used;
        // What the operator reads back from the chain.
        let p = chain
            .call(
                operator,
                d.market,
                &IJobMarket::paymentCall { jobId: job_id },
            )?
            .0;
        let job_id = fr_from_u256(job_id)?;
        paid.push(Payment {
            job_id,
            client: p.client,
            node: p.node,
            epoch: p.epoch,
            units: p.units,
        });
        let receipt = Receipt {
            job_id,
            node: to,
            client,
            epoch,
            units,
            kind: 1,
            input_commitment: Fr::from(i),
            output_commitment: Fr::from(i * 31),
        };
        receipts.push((i as usize + 1, receipt.sign(&domain, &client_key)));
    }
    println!("the client paid for 40 jobs ({pay_gas} gas each) and signed their receipts");
    let payments = Payments::new(paid)?;
    let (bundle, tree) = EpochBundle::build(epoch, domain, shape.depth, receipts, &payments)?;
    let s = bundle.summary;
    let post = |chain: &mut Chain, e: u64| {
        chain.send_value(
            operator,
            d.registry,
            &IEpochRegistry::postEpochCall {
                epoch: e,
                root: fr_to_u256(&s.root),
                count: s.count,
            },
            ether,
        )
    };
    let r = post(&mut chain, epoch)?;
    println!(
        "operator posted epoch {epoch} ({} receipts, all paid) with a 1 ETH bond ({} gas)",
        s.count, r.gas_used
    );
    chain.advance(3600);
    println!("the one-hour challenge window passed with no challenge");

    let circuit = ClaimWitness::build(shape, epoch, &bundle.receipts, &tree, node, 0)?;
    let claim = prove_claim(&key, circuit, &proofmint_gpu::CpuBackend::new(), &mut rng)?;
    let input = proofmint_prover::chain::claim_input(&claim)?;
    let p = claim.public.to_inputs().map(|f| fr_to_u256(&f));
    let r = chain.send(node, d.minter, &IRewardMinter::claimCall { input })?;
    let balance = chain
        .call(node, d.token, &IWorkToken::balanceOfCall { account: node })?
        .0;
    println!(
        "node claimed {} units of {} paid: {} WORK minted ({} gas)",
        p[3],
        payments.paid_units(epoch),
        whole(balance),
        r.gas_used
    );

    for e in epoch + 1..=epoch + 3 {
        post(&mut chain, e)?;
    }
    chain.advance(3600);
    let r = chain.send(
        Address::repeat_byte(0x22),
        d.vault,
        &IStakeVault::releaseCall { node },
    )?;
    let after = chain
        .call(node, d.token, &IWorkToken::balanceOfCall { account: node })?
        .0;
    println!(
        "after epoch 3 anyone released the stake: {} WORK back, the shortfall burned ({} gas)",
        whole(after - balance),
        r.gas_used
    );
    Ok(())
}
