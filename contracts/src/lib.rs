//! proofmint's Solidity contracts (`contracts/src`), compiled with the solc
//! pinned in `tools/js`, and run in an in-process EVM (revm) for tests and gas
//! figures.
//!
//! - [`compile`]: sources to creation bytecode, through `tools/js/compile.mjs`.
//! - [`Chain`]: a fresh mainnet-rules EVM with deploy, call and view helpers.
//! - [`abi`]: typed bindings of the contracts' functions, events and errors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use alloy_primitives::{Address, Bytes, Log, U256};
use alloy_sol_types::{SolCall, SolError, SolInterface};
use revm::context::result::{ExecutionResult, Output};
use revm::context::TxEnv;
use revm::database::{CacheDB, EmptyDB};
use revm::handler::{MainnetContext, MainnetEvm};
use revm::primitives::TxKind;
use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext};

pub mod abi;
pub mod deploy;
pub mod rpc;

/// Why compiling or running a contract failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("solc: {0}")]
    Compile(String),
    #[error("no contract named {0} was compiled")]
    NoSuchContract(String),
    #[error("EVM: {0}")]
    Evm(String),
    #[error("reverted with 0x{}", hex_string(.0))]
    Reverted(Bytes),
    #[error("halted: {0}")]
    Halted(String),
    #[error("could not decode the return value: {0}")]
    Decode(String),
    #[error("JSON-RPC: {0}")]
    Rpc(String),
}

/// What runs transactions: the in-process [`Chain`] or a JSON-RPC endpoint
/// ([`rpc::RpcChain`]). Deployment and the protocol's calls are written once
/// against it.
pub trait Transact {
    /// Deploys `bytecode` followed by ABI-encoded constructor arguments.
    fn deploy(
        &mut self,
        from: Address,
        bytecode: &[u8],
        args: &[u8],
    ) -> Result<Address, ChainError>;
    /// Sends a transaction with calldata `data` and `value` wei.
    fn transact_raw(
        &mut self,
        from: Address,
        to: Address,
        data: Vec<u8>,
        value: U256,
    ) -> Result<Receipt, ChainError>;
    /// Runs a call without a transaction and returns its output.
    fn view_raw(&mut self, from: Address, to: Address, data: Vec<u8>) -> Result<Bytes, ChainError>;

    /// Sends a transaction calling `to`.
    fn send<C: SolCall>(
        &mut self,
        from: Address,
        to: Address,
        call: &C,
    ) -> Result<Receipt, ChainError>
    where
        Self: Sized,
    {
        self.transact_raw(from, to, call.abi_encode(), U256::ZERO)
    }

    /// Sends a transaction calling `to` with `value` wei attached.
    fn send_value<C: SolCall>(
        &mut self,
        from: Address,
        to: Address,
        call: &C,
        value: U256,
    ) -> Result<Receipt, ChainError>
    where
        Self: Sized,
    {
        self.transact_raw(from, to, call.abi_encode(), value)
    }

    /// Calls a view and decodes its return value.
    fn view<C: SolCall>(
        &mut self,
        from: Address,
        to: Address,
        call: &C,
    ) -> Result<C::Return, ChainError>
    where
        Self: Sized,
    {
        let output = self.view_raw(from, to, call.abi_encode())?;
        C::abi_decode_returns(&output).map_err(|e| ChainError::Decode(e.to_string()))
    }
}

/// A chain tests can drive as every actor at once: any sender, ether at will,
/// a clock that moves on request. The in-process [`Chain`] is one; a
/// [`DevRpc`] over anvil (`--auto-impersonate`) is the other, so the same
/// attack tests run in revm and on a real node.
pub trait DevChain: Transact + Sized {
    /// Sends a transaction and decodes the function's return value, with its gas.
    fn call<C: SolCall>(
        &mut self,
        from: Address,
        to: Address,
        call: &C,
    ) -> Result<(C::Return, u64), ChainError>;
    fn fund(&mut self, who: Address, wei: U256);
    fn balance(&mut self, who: Address) -> U256;
    fn timestamp(&self) -> u64;
    /// Moves the clock `seconds` forward.
    fn advance(&mut self, seconds: u64);
}

impl DevChain for Chain {
    fn call<C: SolCall>(
        &mut self,
        from: Address,
        to: Address,
        call: &C,
    ) -> Result<(C::Return, u64), ChainError> {
        Chain::call(self, from, to, call)
    }
    fn fund(&mut self, who: Address, wei: U256) {
        use revm::context_interface::ContextTr;
        use revm::state::AccountInfo;
        let db = self.evm.ctx.db_mut();
        let mut info: AccountInfo = db
            .cache
            .accounts
            .get(&who)
            .map(|a| a.info.clone())
            .unwrap_or_default();
        info.balance = wei;
        db.insert_account_info(who, info);
    }
    fn balance(&mut self, who: Address) -> U256 {
        use revm::context_interface::ContextTr;
        self.evm
            .ctx
            .db_mut()
            .cache
            .accounts
            .get(&who)
            .map(|a| a.info.balance)
            .unwrap_or_default()
    }
    /// The block timestamp transactions run at.
    fn timestamp(&self) -> u64 {
        self.evm.ctx.block.timestamp.saturating_to()
    }
    /// Moves the clock `seconds` forward (and the block number by one).
    fn advance(&mut self, seconds: u64) {
        self.evm.ctx.modify_block(|block| {
            block.timestamp += U256::from(seconds);
            block.number += U256::from(1u64);
        });
    }
}

/// A development node over JSON-RPC (anvil with `--auto-impersonate`), with the
/// node process it owns.
pub struct DevRpc {
    pub chain: rpc::RpcChain,
    _anvil: rpc::Anvil,
}

impl DevRpc {
    /// Starts anvil (`binary`) with auto-impersonation and connects to it.
    pub fn start(binary: &Path) -> Result<Self, ChainError> {
        let anvil = rpc::Anvil::spawn(
            binary,
            &[
                "--auto-impersonate",
                "--gas-limit",
                "30000000",
                "--base-fee",
                "0",
                "--gas-price",
                "0",
            ],
        )?;
        let chain = rpc::RpcChain::connect_unsigned(&anvil.url)?;
        Ok(Self {
            chain,
            _anvil: anvil,
        })
    }
}

impl Transact for DevRpc {
    fn deploy(
        &mut self,
        from: Address,
        bytecode: &[u8],
        args: &[u8],
    ) -> Result<Address, ChainError> {
        self.chain.deploy(from, bytecode, args)
    }
    fn transact_raw(
        &mut self,
        from: Address,
        to: Address,
        data: Vec<u8>,
        value: U256,
    ) -> Result<Receipt, ChainError> {
        self.chain.transact_raw(from, to, data, value)
    }
    fn view_raw(&mut self, from: Address, to: Address, data: Vec<u8>) -> Result<Bytes, ChainError> {
        self.chain.view_raw(from, to, data)
    }
}

impl DevChain for DevRpc {
    fn call<C: SolCall>(
        &mut self,
        from: Address,
        to: Address,
        call: &C,
    ) -> Result<(C::Return, u64), ChainError> {
        // The value as a call sees it, then the transaction for its effects and gas.
        let value = self.view(from, to, call)?;
        let receipt = self.send(from, to, call)?;
        Ok((value, receipt.gas_used))
    }
    fn fund(&mut self, who: Address, wei: U256) {
        self.chain.set_balance(who, wei).expect("anvil_setBalance");
    }
    fn balance(&mut self, who: Address) -> U256 {
        self.chain.balance(who).expect("eth_getBalance")
    }
    fn timestamp(&self) -> u64 {
        self.chain.timestamp().expect("latest block")
    }
    fn advance(&mut self, seconds: u64) {
        self.chain.advance_time(seconds).expect("evm_increaseTime")
    }
}

/// A revert as a readable line: the contracts' custom error by name with its
/// arguments where it is one of theirs, the raw data otherwise.
pub fn describe_revert(error: &ChainError) -> String {
    use abi::*;
    let ChainError::Reverted(data) = error else {
        return error.to_string();
    };
    macro_rules! try_decode {
        ($($errors:ty),*) => {$(
            if let Ok(decoded) = <$errors as SolInterface>::abi_decode(data) {
                return format!("reverted: {decoded:?}");
            }
        )*};
    }
    try_decode!(
        IRewardMinter::IRewardMinterErrors,
        IEpochRegistry::IEpochRegistryErrors,
        IStakeVault::IStakeVaultErrors,
        IJobMarket::IJobMarketErrors,
        IWorkToken::IWorkTokenErrors,
        IGovernance::IGovernanceErrors
    );
    error.to_string()
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The repository's root (this crate lives in `contracts/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("contracts/ has a parent")
        .to_path_buf()
}

/// A tool pinned in `tools/js` (`anvil`, `forge`), or `None` where
/// `npm ci --prefix tools/js` has not run; then a test says it skipped, and
/// fails instead when `PROOFMINT_REQUIRE_JS` is set, as the test script does.
pub fn js_tool(name: &str) -> Option<PathBuf> {
    let path = repo_root().join("tools/js/node_modules/.bin").join(name);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("PROOFMINT_REQUIRE_JS").is_none(),
        "{name} is not installed: run npm ci --prefix tools/js"
    );
    eprintln!("skipped: {name} is not installed (npm ci --prefix tools/js)");
    None
}

/// The contract sources in `contracts/src`.
pub fn sources() -> Vec<PathBuf> {
    let dir = repo_root().join("contracts/src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "sol"));
    files.sort();
    files
}

/// Creation bytecode by contract name.
#[derive(Debug, Clone)]
pub struct Artifacts {
    pub compiler: String,
    bytecode: HashMap<String, Vec<u8>>,
}

impl Artifacts {
    pub fn bytecode(&self, name: &str) -> Result<&[u8], ChainError> {
        self.bytecode
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| ChainError::NoSuchContract(name.into()))
    }
}

/// Compiles `files` with the pinned solc (needs node and `npm ci --prefix tools/js`).
pub fn compile(files: &[PathBuf]) -> Result<Artifacts, ChainError> {
    let script = repo_root().join("tools/js/compile.mjs");
    let out = Command::new("node")
        .arg(&script)
        .args(files)
        .output()
        .map_err(|e| ChainError::Compile(format!("cannot run node: {e}")))?;
    if !out.status.success() {
        return Err(ChainError::Compile(
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| ChainError::Compile(format!("bad compiler output: {e}")))?;
    let mut bytecode = HashMap::new();
    for (name, unit) in json["contracts"].as_object().into_iter().flatten() {
        let text = unit["bytecode"].as_str().unwrap_or("0x");
        let bytes =
            alloy_primitives::hex::decode(text).map_err(|e| ChainError::Compile(e.to_string()))?;
        bytecode.insert(name.clone(), bytes);
    }
    Ok(Artifacts {
        compiler: json["compiler"].as_str().unwrap_or("").to_string(),
        bytecode,
    })
}

/// What a transaction did.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub output: Bytes,
    /// Gas the transaction used, intrinsic cost included.
    pub gas_used: u64,
    pub logs: Vec<Log>,
}

/// The chain id of [`Chain`] (anvil's and every development chain's).
pub const CHAIN_ID: u64 = 31337;

/// A fresh chain under mainnet rules (the latest spec revm knows), gas price 0.
pub struct Chain {
    evm: MainnetEvm<MainnetContext<CacheDB<EmptyDB>>>,
    /// Gas limit of every transaction.
    pub gas_limit: u64,
}

impl Default for Chain {
    fn default() -> Self {
        Self::new()
    }
}

impl Transact for Chain {
    fn deploy(
        &mut self,
        from: Address,
        bytecode: &[u8],
        args: &[u8],
    ) -> Result<Address, ChainError> {
        Chain::deploy(self, from, bytecode, args)
    }

    fn transact_raw(
        &mut self,
        from: Address,
        to: Address,
        data: Vec<u8>,
        value: U256,
    ) -> Result<Receipt, ChainError> {
        self.transact_value(from, TxKind::Call(to), data, value)
    }

    /// Runs the call and drops its state changes (nonces included), as
    /// `eth_call` does.
    fn view_raw(&mut self, from: Address, to: Address, data: Vec<u8>) -> Result<Bytes, ChainError> {
        use revm::ExecuteEvm;
        let tx = self.tx_env(from, TxKind::Call(to), data, U256::ZERO)?;
        let result = self
            .evm
            .transact(tx)
            .map_err(|e| ChainError::Evm(e.to_string()))?
            .result;
        match result {
            ExecutionResult::Success { output, .. } => Ok(output.into_data()),
            ExecutionResult::Revert { output, .. } => Err(ChainError::Reverted(output)),
            ExecutionResult::Halt { reason, .. } => Err(ChainError::Halted(format!("{reason:?}"))),
        }
    }
}

impl Chain {
    pub fn new() -> Self {
        let evm = Context::mainnet()
            .with_db(CacheDB::<EmptyDB>::default())
            .modify_cfg_chained(|cfg| {
                cfg.disable_nonce_check = true;
                cfg.chain_id = CHAIN_ID;
            })
            .modify_block_chained(|block| {
                block.timestamp = U256::from(1_800_000_000u64);
                block.number = U256::from(1u64);
            })
            .build_mainnet();
        Self {
            evm,
            gas_limit: 16_000_000,
        }
    }

    fn transact(
        &mut self,
        from: Address,
        kind: TxKind,
        data: Vec<u8>,
    ) -> Result<Receipt, ChainError> {
        self.transact_value(from, kind, data, U256::ZERO)
    }

    /// A transaction of this chain: its chain id and gas limit, gas price 0.
    fn tx_env(
        &self,
        from: Address,
        kind: TxKind,
        data: Vec<u8>,
        value: U256,
    ) -> Result<TxEnv, ChainError> {
        TxEnv::builder()
            .caller(from)
            .kind(kind)
            .value(value)
            .chain_id(Some(CHAIN_ID))
            .data(data.into())
            .gas_limit(self.gas_limit)
            .gas_price(0)
            .build()
            .map_err(|e| ChainError::Evm(format!("{e:?}")))
    }

    fn transact_value(
        &mut self,
        from: Address,
        kind: TxKind,
        data: Vec<u8>,
        value: U256,
    ) -> Result<Receipt, ChainError> {
        let tx = self.tx_env(from, kind, data, value)?;
        let result = self
            .evm
            .transact_commit(tx)
            .map_err(|e| ChainError::Evm(e.to_string()))?;
        match result {
            ExecutionResult::Success {
                gas, logs, output, ..
            } => {
                let output = match output {
                    Output::Call(bytes) => bytes,
                    Output::Create(_, address) => Bytes::from(address.unwrap_or_default().to_vec()),
                };
                Ok(Receipt {
                    output,
                    gas_used: gas.tx_gas_used(),
                    logs,
                })
            }
            ExecutionResult::Revert { output, .. } => Err(ChainError::Reverted(output)),
            ExecutionResult::Halt { reason, .. } => Err(ChainError::Halted(format!("{reason:?}"))),
        }
    }

    /// Deploys `bytecode` followed by ABI-encoded constructor arguments.
    pub fn deploy(
        &mut self,
        from: Address,
        bytecode: &[u8],
        args: &[u8],
    ) -> Result<Address, ChainError> {
        let mut code = bytecode.to_vec();
        code.extend_from_slice(args);
        let receipt = self.transact(from, TxKind::Create, code)?;
        Ok(Address::from_slice(&receipt.output))
    }

    /// Sends a transaction calling `to` with `value` wei attached.
    pub fn send_value<C: SolCall>(
        &mut self,
        from: Address,
        to: Address,
        call: &C,
        value: U256,
    ) -> Result<Receipt, ChainError> {
        self.transact_value(from, TxKind::Call(to), call.abi_encode(), value)
    }

    /// Sends a transaction calling `to`.
    pub fn send<C: SolCall>(
        &mut self,
        from: Address,
        to: Address,
        call: &C,
    ) -> Result<Receipt, ChainError> {
        self.transact(from, TxKind::Call(to), call.abi_encode())
    }

    /// Sends a transaction and decodes the function's return value.
    pub fn call<C: SolCall>(
        &mut self,
        from: Address,
        to: Address,
        call: &C,
    ) -> Result<(C::Return, u64), ChainError> {
        let receipt = self.send(from, to, call)?;
        let value = C::abi_decode_returns(&receipt.output)
            .map_err(|e| ChainError::Decode(e.to_string()))?;
        Ok((value, receipt.gas_used))
    }

    /// A raw call with arbitrary calldata (for malformed-input tests).
    pub fn send_raw(
        &mut self,
        from: Address,
        to: Address,
        data: Vec<u8>,
    ) -> Result<Receipt, ChainError> {
        self.transact(from, TxKind::Call(to), data)
    }
}

/// Decodes a revert into one of an interface's custom errors, if it is one.
pub fn decode_error<E: SolInterface>(error: &ChainError) -> Option<E> {
    match error {
        ChainError::Reverted(data) => E::abi_decode(data).ok(),
        _ => None,
    }
}

/// Whether `error` is a revert with exactly the custom error `E`.
pub fn is_error<E: SolError>(error: &ChainError) -> bool {
    matches!(error, ChainError::Reverted(data) if data.len() >= 4 && data[..4] == E::SELECTOR)
}

/// Amounts in the token's 18 decimals.
pub fn tokens(whole: u64) -> U256 {
    U256::from(whole) * U256::from(10u64).pow(U256::from(18u64))
}
