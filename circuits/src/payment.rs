//! Payments: what clients paid for on chain (`JobMarket.payForJob`), the
//! evidence that makes a receipt count.
//!
//! A receipt is admitted only with a payment for its job id by its client, to
//! its node, for its epoch, of at least its units; the reward contract divides
//! each epoch's emission by the epoch's paid units. The job id of a client's job
//! `salt` is `keccak256(abi.encode(client, salt)) mod r` ([`job_id_of`]), as
//! `JobMarket.jobIdOf` computes it, so nobody can pay under (squat) another
//! client's id.
//!
//! Payments travel as JSON Lines, one object a line with exactly the fields
//! `jobId, client, node, epoch, units` (what `proofmint chain payments` exports
//! from the chain's `JobPaid` events).

use std::collections::HashMap;

use alloy_primitives::{keccak256, Address, U256};
use ark_bn254::Fr;
use ark_ff::PrimeField;
use serde_json::{Map, Value};

use crate::epoch::LineError;
use crate::field::fr_to_hex;
use crate::receipt::{address, field_element, integer, json_u64, Receipt, ReceiptError};

/// The JSON field names of a payment, in order.
pub const JSON_FIELDS: [&str; 5] = ["jobId", "client", "node", "epoch", "units"];

/// One on-chain payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payment {
    pub job_id: Fr,
    pub client: Address,
    pub node: Address,
    pub epoch: u64,
    pub units: u64,
}

/// `JobMarket.jobIdOf(client, salt)`: `keccak256(abi.encode(client, salt)) mod r`.
pub fn job_id_of(client: Address, salt: U256) -> Fr {
    let mut encoded = [0u8; 64];
    encoded[12..32].copy_from_slice(client.as_slice());
    encoded[32..].copy_from_slice(&salt.to_be_bytes::<32>());
    Fr::from_be_bytes_mod_order(keccak256(encoded).as_slice())
}

impl Payment {
    /// The payment that exactly backs `receipt` (what its client would pay;
    /// for simulations and tests).
    pub fn for_receipt(receipt: &Receipt) -> Self {
        Self {
            job_id: receipt.job_id,
            client: receipt.client,
            node: receipt.node,
            epoch: receipt.epoch,
            units: receipt.units,
        }
    }

    /// Why this payment does not back `receipt`, if it does not.
    pub fn mismatch(&self, receipt: &Receipt) -> Option<String> {
        let id = fr_to_hex(&receipt.job_id);
        if self.client != receipt.client {
            return Some(format!(
                "jobId {id} was paid by {}, not by the receipt's client {}",
                self.client, receipt.client
            ));
        }
        if self.node != receipt.node {
            return Some(format!(
                "jobId {id} was paid for node {}, not for the receipt's node {}",
                self.node, receipt.node
            ));
        }
        if self.epoch != receipt.epoch {
            return Some(format!(
                "jobId {id} was paid for epoch {}, not the receipt's epoch {}",
                self.epoch, receipt.epoch
            ));
        }
        if self.units < receipt.units {
            return Some(format!(
                "jobId {id} was paid for {} units, the receipt claims {}",
                self.units, receipt.units
            ));
        }
        None
    }

    /// The JSON object, fields in order.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("jobId".into(), fr_to_hex(&self.job_id).into());
        map.insert("client".into(), self.client.to_checksum(None).into());
        map.insert("node".into(), self.node.to_checksum(None).into());
        map.insert("epoch".into(), json_u64(self.epoch));
        map.insert("units".into(), json_u64(self.units));
        Value::Object(map)
    }

    /// Reads one JSON object with exactly the payment's fields.
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let map = value.as_object().ok_or("not a JSON object")?;
        if let Some(unknown) = map.keys().find(|k| !JSON_FIELDS.contains(&k.as_str())) {
            return Err(format!("unknown field `{unknown}`"));
        }
        let e = |e: ReceiptError| e.to_string();
        Ok(Self {
            job_id: field_element(map, "jobId").map_err(e)?,
            client: address(map, "client").map_err(e)?,
            node: address(map, "node").map_err(e)?,
            epoch: integer(map, "epoch", u64::MAX).map_err(e)?,
            units: integer(map, "units", u64::MAX).map_err(e)?,
        })
    }
}

/// The payments an epoch's receipts are checked against, by job id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payments {
    by_job: HashMap<Fr, Payment>,
}

impl Payments {
    /// Payments from a list; a job id paid twice is refused (the chain pays each id once).
    pub fn new(list: impl IntoIterator<Item = Payment>) -> Result<Self, String> {
        let mut by_job = HashMap::new();
        for p in list {
            if by_job.insert(p.job_id, p).is_some() {
                return Err(format!("jobId {} is paid twice", fr_to_hex(&p.job_id)));
            }
        }
        Ok(Self { by_job })
    }

    /// Exact payments for `receipts` (a simulated chain, for demos and tests).
    pub fn for_receipts<'a>(receipts: impl IntoIterator<Item = &'a Receipt>) -> Self {
        Self {
            by_job: receipts
                .into_iter()
                .map(|r| (r.job_id, Payment::for_receipt(r)))
                .collect(),
        }
    }

    /// Reads JSON Lines (blank lines skipped); refuses the file naming every bad line.
    pub fn from_jsonl(text: &str) -> Result<Self, Vec<LineError>> {
        let mut lines = PaymentLines::default();
        for (i, line) in text.lines().enumerate() {
            lines.push(i + 1, line);
        }
        lines.finish()
    }

    /// JSON Lines, one payment a line, in job-id order.
    pub fn to_jsonl(&self) -> String {
        let mut list: Vec<&Payment> = self.by_job.values().collect();
        list.sort_by_key(|p| p.job_id);
        list.iter().map(|p| format!("{}\n", p.to_json())).collect()
    }

    /// Why `receipt` is not backed by a payment, if it is not.
    pub fn refusal(&self, receipt: &Receipt) -> Option<String> {
        match self.by_job.get(&receipt.job_id) {
            None => Some(format!(
                "jobId {} has no payment on chain",
                fr_to_hex(&receipt.job_id)
            )),
            Some(p) => p.mismatch(receipt),
        }
    }

    /// Units paid for `epoch`.
    pub fn paid_units(&self, epoch: u64) -> u128 {
        self.by_job
            .values()
            .filter(|p| p.epoch == epoch)
            .map(|p| p.units as u128)
            .sum()
    }

    pub fn len(&self) -> usize {
        self.by_job.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_job.is_empty()
    }
}

/// Payments read one line at a time (as a streaming reader does), each bad
/// line and each repeated job id kept with its line number.
#[derive(Debug, Clone, Default)]
pub struct PaymentLines {
    first_line: HashMap<Fr, usize>,
    list: Vec<Payment>,
    errors: Vec<LineError>,
}

impl PaymentLines {
    /// Parses line `line` (numbered from 1); a blank line is skipped.
    pub fn push(&mut self, line: usize, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        let parsed = serde_json::from_str::<Value>(text)
            .map_err(|e| format!("not JSON: {e}"))
            .and_then(|v| Payment::from_json(&v));
        match parsed {
            Ok(p) => match self.first_line.get(&p.job_id) {
                Some(first) => self.errors.push(LineError {
                    line,
                    reason: format!("jobId {} repeats line {first}", fr_to_hex(&p.job_id)),
                }),
                None => {
                    self.first_line.insert(p.job_id, line);
                    self.list.push(p);
                }
            },
            Err(reason) => self.errors.push(LineError { line, reason }),
        }
    }

    /// The payments, or every bad line in line order.
    pub fn finish(mut self) -> Result<Payments, Vec<LineError>> {
        if self.errors.is_empty() {
            Ok(Payments {
                by_job: self.list.into_iter().map(|p| (p.job_id, p)).collect(),
            })
        } else {
            self.errors.sort_by_key(|e| e.line);
            Err(self.errors)
        }
    }
}
