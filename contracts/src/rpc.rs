//! A real chain over Ethereum JSON-RPC (anvil, a testnet, mainnet), with
//! alloy's provider and a local signer: the same [`Transact`] interface as the
//! in-process [`crate::Chain`], so deployment and every protocol call run on
//! either.
//!
//! Calls block on a runtime of their own, so the command line stays
//! synchronous. A revert comes back as [`ChainError::Reverted`] with its data,
//! decoded into the contracts' named errors by [`crate::describe_revert`].

use std::time::Duration;

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes, Log, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;

use crate::{ChainError, Receipt, Transact};

/// Where a command's signing key comes from: a file, or the environment.
pub const KEY_ENV: &str = "PROOFMINT_PRIVATE_KEY";

/// Reads a private key (hex, with or without 0x) from `file`, or from
/// [`KEY_ENV`] when no file is given. Keys are never taken as flags: a flag
/// shows in the process list and the shell's history.
pub fn load_signer(file: Option<&std::path::Path>) -> Result<PrivateKeySigner, ChainError> {
    let text = match file {
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            ChainError::Rpc(format!("cannot read key file {}: {e}", path.display()))
        })?,
        None => std::env::var(KEY_ENV).map_err(|_| {
            ChainError::Rpc(format!(
                "no signing key: pass --key-file FILE or set {KEY_ENV}"
            ))
        })?,
    };
    text.trim()
        .parse::<PrivateKeySigner>()
        .map_err(|e| ChainError::Rpc(format!("not a secp256k1 private key: {e}")))
}

/// A JSON-RPC endpoint with one signing account, or (on a development node
/// started with `--auto-impersonate`) any account.
pub struct RpcChain {
    runtime: tokio::runtime::Runtime,
    provider: DynProvider,
    account: Address,
    chain_id: u64,
    /// Sends as any `from` and lets the node sign (anvil's auto-impersonation).
    impersonating: bool,
}

fn rpc_error(e: impl std::fmt::Display) -> ChainError {
    ChainError::Rpc(e.to_string())
}

impl RpcChain {
    /// Connects to `url` and signs with `signer`.
    pub fn connect(url: &str, signer: PrivateKeySigner) -> Result<Self, ChainError> {
        Self::open(url, Some(signer))
    }

    /// Connects without a key: transactions go unsigned and the node signs for
    /// any sender (anvil with `--auto-impersonate`, for tests that play many
    /// actors); a development node's own methods need no key either.
    pub fn connect_unsigned(url: &str) -> Result<Self, ChainError> {
        Self::open(url, None)
    }

    /// The provider fills in gas, the chain id, and the nonce asked of the node
    /// for every transaction: a cached nonce would skip one whenever a
    /// transaction is refused at estimation, and every later one would wait
    /// forever. Without a signer the node signs (impersonation).
    fn open(url: &str, signer: Option<PrivateKeySigner>) -> Result<Self, ChainError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(rpc_error)?;
        let parsed = url
            .parse()
            .map_err(|e| ChainError::Rpc(format!("--rpc {url}: {e}")))?;
        let builder = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id();
        let (provider, account) = match signer {
            Some(signer) => {
                let account = signer.address();
                let wallet = EthereumWallet::from(signer);
                (
                    builder.wallet(wallet).connect_http(parsed).erased(),
                    account,
                )
            }
            None => (builder.connect_http(parsed).erased(), Address::ZERO),
        };
        let chain_id = runtime
            .block_on(provider.get_chain_id())
            .map_err(|e| ChainError::Rpc(format!("cannot reach the node: {e}")))?;
        Ok(Self {
            runtime,
            provider,
            account,
            chain_id,
            impersonating: account == Address::ZERO,
        })
    }

    /// A development node's own method (`anvil_*`, `evm_*`), its answer dropped.
    fn dev_request(
        &self,
        method: &'static str,
        params: serde_json::Value,
    ) -> Result<(), ChainError> {
        self.runtime.block_on(async {
            let _: serde_json::Value = self
                .provider
                .raw_request(method.into(), params)
                .await
                .map_err(rpc_error)?;
            Ok(())
        })
    }

    /// Sets `who`'s ether balance (anvil's `anvil_setBalance`).
    pub fn set_balance(&self, who: Address, wei: U256) -> Result<(), ChainError> {
        self.dev_request("anvil_setBalance", serde_json::json!([who, wei]))
    }

    /// The latest block's timestamp.
    pub fn timestamp(&self) -> Result<u64, ChainError> {
        self.runtime.block_on(async {
            let block = self
                .provider
                .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
                .await
                .map_err(rpc_error)?
                .ok_or_else(|| ChainError::Rpc("no latest block".into()))?;
            Ok(block.header.timestamp)
        })
    }

    /// The signing account.
    pub fn account(&self) -> Address {
        self.account
    }

    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// Ether balance of `who`.
    pub fn balance(&self, who: Address) -> Result<U256, ChainError> {
        self.runtime
            .block_on(async { self.provider.get_balance(who).await })
            .map_err(rpc_error)
    }

    /// Logs of `address` with first topic `topic0`, from block 0 to the latest.
    pub fn logs(
        &self,
        address: Address,
        topic0: alloy::primitives::B256,
    ) -> Result<Vec<Log>, ChainError> {
        let filter = Filter::new()
            .address(address)
            .event_signature(topic0)
            .from_block(0u64);
        let logs = self
            .runtime
            .block_on(self.provider.get_logs(&filter))
            .map_err(rpc_error)?;
        Ok(logs.into_iter().map(|l| l.inner).collect())
    }

    /// A development node's clock moved `seconds` forward, and a block mined
    /// (anvil's and Hardhat's `evm_increaseTime` and `evm_mine`).
    pub fn advance_time(&self, seconds: u64) -> Result<(), ChainError> {
        self.dev_request("evm_increaseTime", serde_json::json!([seconds]))?;
        self.dev_request("evm_mine", serde_json::json!([]))
    }

    /// A development node's actors pay no fees (the node runs with base fee 0),
    /// so that tests can account for ether exactly; elsewhere the node's own
    /// fee estimate stands.
    fn fees(&self, tx: TransactionRequest) -> TransactionRequest {
        if self.impersonating {
            tx.with_gas_price(0)
        } else {
            tx
        }
    }

    fn check_sender(&self, from: Address) -> Result<(), ChainError> {
        if !self.impersonating && from != self.account {
            return Err(ChainError::Rpc(format!(
                "this chain signs as {}, not {from}",
                self.account
            )));
        }
        Ok(())
    }

    fn submit(
        &mut self,
        tx: TransactionRequest,
    ) -> Result<alloy::rpc::types::TransactionReceipt, ChainError> {
        self.runtime.block_on(async {
            let pending = self
                .provider
                .send_transaction(tx)
                .await
                .map_err(|e| revert_of(&e).unwrap_or_else(|| rpc_error(e)))?;
            pending
                .with_timeout(Some(Duration::from_secs(120)))
                .get_receipt()
                .await
                .map_err(rpc_error)
        })
    }
}

/// The revert data an RPC error carries, as our error.
fn revert_of<E>(error: &alloy::transports::RpcError<E>) -> Option<ChainError> {
    let data = error.as_error_resp()?.as_revert_data()?;
    Some(ChainError::Reverted(data))
}

impl Transact for RpcChain {
    fn deploy(
        &mut self,
        from: Address,
        bytecode: &[u8],
        args: &[u8],
    ) -> Result<Address, ChainError> {
        self.check_sender(from)?;
        let mut code = bytecode.to_vec();
        code.extend_from_slice(args);
        let tx = TransactionRequest::default()
            .with_from(from)
            .with_deploy_code(Bytes::from(code));
        let receipt = self.submit(self.fees(tx))?;
        if !receipt.status() {
            return Err(ChainError::Halted("deployment failed".into()));
        }
        receipt
            .contract_address
            .ok_or_else(|| ChainError::Rpc("no contract address in the receipt".into()))
    }

    fn transact_raw(
        &mut self,
        from: Address,
        to: Address,
        data: Vec<u8>,
        value: U256,
    ) -> Result<Receipt, ChainError> {
        self.check_sender(from)?;
        let tx = TransactionRequest::default()
            .with_from(from)
            .with_to(to)
            .with_input(Bytes::from(data))
            .with_value(value);
        let receipt = self.submit(self.fees(tx))?;
        if !receipt.status() {
            return Err(ChainError::Halted(
                "the transaction reverted on chain".into(),
            ));
        }
        Ok(Receipt {
            output: Bytes::new(),
            gas_used: receipt.gas_used,
            logs: receipt
                .inner
                .logs()
                .iter()
                .map(|l| l.inner.clone())
                .collect(),
        })
    }

    fn view_raw(&mut self, from: Address, to: Address, data: Vec<u8>) -> Result<Bytes, ChainError> {
        let tx = TransactionRequest::default()
            .with_from(from)
            .with_to(to)
            .with_input(Bytes::from(data));
        self.runtime
            .block_on(async { self.provider.call(tx).await })
            .map_err(|e| revert_of(&e).unwrap_or_else(|| rpc_error(e)))
    }
}

/// A local anvil node on a free loopback port, stopped when dropped.
pub struct Anvil {
    child: std::process::Child,
    pub url: String,
}

impl Anvil {
    /// Starts `binary` (anvil) with chain id 31337 and `extra` arguments; waits
    /// until it answers.
    pub fn spawn(binary: &std::path::Path, extra: &[&str]) -> Result<Self, ChainError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(rpc_error)?
            .port();
        let child = std::process::Command::new(binary)
            .args([
                "--port",
                &port.to_string(),
                "--silent",
                "--chain-id",
                "31337",
            ])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| ChainError::Rpc(format!("cannot start {}: {e}", binary.display())))?;
        let anvil = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(30) {
                return Err(ChainError::Rpc("anvil did not start in 30 s".into()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(anvil)
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
