//! Deploying the whole system, as a test or an example does: token, registry,
//! generated verifier, reward minter, stake vault and job market, with the
//! roles wired (the minter may mint; the operator may post epochs).

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolValue;

use crate::abi::IWorkToken;
use crate::{Artifacts, Chain, ChainError};

/// Deployment parameters.
#[derive(Debug, Clone)]
pub struct Params {
    pub admin: Address,
    pub operator: Address,
    pub cap: U256,
    pub initial_emission: U256,
    /// Fixed point, 1e18 = 1.
    pub decay_per_epoch: U256,
    pub genesis_epoch: u64,
    pub grace_epochs: u64,
}

/// Addresses of a deployed system.
#[derive(Debug, Clone, Copy)]
pub struct Deployment {
    pub token: Address,
    pub registry: Address,
    pub verifier: Address,
    pub minter: Address,
    pub vault: Address,
    pub market: Address,
}

/// Deploys everything; `verifier_name` is the generated verifier's contract name.
pub fn deploy_all(
    chain: &mut Chain,
    artifacts: &Artifacts,
    verifier_name: &str,
    p: &Params,
) -> Result<Deployment, ChainError> {
    let a = p.admin;
    let token = chain.deploy(
        a,
        artifacts.bytecode("WorkToken")?,
        &("proofmint work", "WORK", p.cap, a).abi_encode_params(),
    )?;
    let registry = chain.deploy(
        a,
        artifacts.bytecode("EpochRegistry")?,
        &(a, p.operator).abi_encode_params(),
    )?;
    let verifier = chain.deploy(a, artifacts.bytecode(verifier_name)?, &[])?;
    let minter_args = (
        token,
        registry,
        verifier,
        p.initial_emission,
        p.decay_per_epoch,
        p.genesis_epoch,
    )
        .abi_encode_params();
    let minter = chain.deploy(a, artifacts.bytecode("RewardMinter")?, &minter_args)?;
    let vault = chain.deploy(
        a,
        artifacts.bytecode("StakeVault")?,
        &(token, registry, minter, p.grace_epochs).abi_encode_params(),
    )?;
    let market = chain.deploy(
        a,
        artifacts.bytecode("JobMarket")?,
        &(token,).abi_encode_params(),
    )?;
    let (role, _) = chain.call(a, token, &IWorkToken::MINTER_ROLECall {})?;
    chain.send(
        a,
        token,
        &IWorkToken::grantRoleCall {
            role,
            account: minter,
        },
    )?;
    Ok(Deployment {
        token,
        registry,
        verifier,
        minter,
        vault,
        market,
    })
}
