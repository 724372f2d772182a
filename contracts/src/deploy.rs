//! Deploying the whole system, as a test or an example does: the governance
//! timelock, the Poseidon hashers, token, generated verifier, epoch registry
//! (which creates the job market) and reward minter (which creates the stake
//! vault), with the roles wired and every admin role left to the timelock.

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolValue;

use crate::abi::{IEpochRegistry, IRewardMinter, IWorkToken, RegistryConfig};
use crate::{Artifacts, ChainError, Transact};

/// Deployment parameters.
#[derive(Debug, Clone)]
pub struct Params {
    /// The account that sends the deployment; it keeps no role afterwards.
    pub deployer: Address,
    /// Who may propose timelock operations (a multisig, in production).
    pub proposer: Address,
    /// The timelock's delay, in seconds.
    pub governance_delay: u64,
    pub operator: Address,
    pub cap: U256,
    /// Minted at deployment to `genesis_holder`, so that clients can pay for jobs.
    pub genesis_supply: U256,
    pub genesis_holder: Address,
    pub initial_emission: U256,
    /// Fixed point, 1e18 = 1.
    pub decay_per_epoch: U256,
    pub genesis_epoch: u64,
    pub grace_epochs: u64,
    pub tree_depth: u8,
    /// Tokens burned per unit of work.
    pub price: U256,
    /// Tokens staked per unit of capacity.
    pub stake_per_unit: U256,
    /// Wei bonded with each epoch.
    pub bond: U256,
    pub challenge_window: u64,
    pub answer_window: u64,
    pub dispute_deposit: U256,
}

/// Addresses of a deployed system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployment {
    pub governance: Address,
    pub poseidon2: Address,
    pub poseidon9: Address,
    pub token: Address,
    pub verifier: Address,
    pub registry: Address,
    pub market: Address,
    pub minter: Address,
    pub vault: Address,
}

/// Deploys everything; `verifier_name` is the generated verifier's contract name.
pub fn deploy_all(
    chain: &mut impl Transact,
    artifacts: &Artifacts,
    verifier_name: &str,
    p: &Params,
) -> Result<Deployment, ChainError> {
    let d = p.deployer;
    let governance = chain.deploy(
        d,
        artifacts.bytecode("Governance")?,
        &(
            U256::from(p.governance_delay),
            vec![p.proposer],
            vec![Address::ZERO], // anyone may execute a ready operation
        )
            .abi_encode_params(),
    )?;
    let c2 = chain.deploy(d, artifacts.bytecode("PoseidonT3Constants")?, &[])?;
    let poseidon2 = chain.deploy(
        d,
        artifacts.bytecode("PoseidonT3")?,
        &(c2,).abi_encode_params(),
    )?;
    let c9 = chain.deploy(d, artifacts.bytecode("PoseidonT10Constants")?, &[])?;
    let poseidon9 = chain.deploy(
        d,
        artifacts.bytecode("PoseidonT10")?,
        &(c9,).abi_encode_params(),
    )?;
    let token = chain.deploy(
        d,
        artifacts.bytecode("WorkToken")?,
        &(
            "proofmint work",
            "WORK",
            p.cap,
            d,
            p.genesis_holder,
            p.genesis_supply,
        )
            .abi_encode_params(),
    )?;
    let verifier = chain.deploy(d, artifacts.bytecode(verifier_name)?, &[])?;
    let config = RegistryConfig {
        governance,
        operator: p.operator,
        token,
        poseidon2,
        poseidon9,
        verifier,
        treeDepth: p.tree_depth,
        genesisEpoch: p.genesis_epoch,
        price: p.price,
        bond: p.bond,
        challengeWindow: p.challenge_window,
        answerWindow: p.answer_window,
        disputeDeposit: p.dispute_deposit,
    };
    let registry = chain.deploy(
        d,
        artifacts.bytecode("EpochRegistry")?,
        &(config,).abi_encode_params(),
    )?;
    let (market, _) = (chain.view(d, registry, &IEpochRegistry::marketCall {})?, ());
    let minter = chain.deploy(
        d,
        artifacts.bytecode("RewardMinter")?,
        &(
            token,
            registry,
            p.initial_emission,
            p.decay_per_epoch,
            p.stake_per_unit,
            p.grace_epochs,
        )
            .abi_encode_params(),
    )?;
    let (vault, _) = (chain.view(d, minter, &IRewardMinter::vaultCall {})?, ());
    // The minter mints; the timelock administers; the deployer keeps nothing.
    let minter_role = chain.view(d, token, &IWorkToken::MINTER_ROLECall {})?;
    let admin_role = chain.view(d, token, &IWorkToken::DEFAULT_ADMIN_ROLECall {})?;
    chain.send(
        d,
        token,
        &IWorkToken::grantRoleCall {
            role: minter_role,
            account: minter,
        },
    )?;
    chain.send(
        d,
        token,
        &IWorkToken::grantRoleCall {
            role: admin_role,
            account: governance,
        },
    )?;
    chain.send(
        d,
        token,
        &IWorkToken::renounceRoleCall {
            role: admin_role,
            callerConfirmation: d,
        },
    )?;
    Ok(Deployment {
        governance,
        poseidon2,
        poseidon9,
        token,
        verifier,
        registry,
        market,
        minter,
        vault,
    })
}
