//! The epoch bundle: an epoch's accepted receipts in leaf order, with the
//! summary the operator posts on chain (`epoch, root, totalUnits, count`).
//!
//! [`EpochBundle::build`] is the operator's admission check; decoding a bundle
//! checks only its encoding, and re-checking its content is the auditor's job
//! (`proofmint_verifier::audit`), which calls [`check_receipts`] as build does.

use std::collections::HashMap;

use ark_bn254::Fr;
use serde_json::{Map, Value};

use crate::codec::{put_fr, DecodeError, Reader};
use crate::field::parse_address;
use crate::field::{fr_from_hex, fr_to_hex};
use crate::payment::Payments;
use crate::receipt::{ReceiptDomain, ReceiptError, SignedReceipt, RECORD_LEN};
use crate::tree::{EpochTree, TreeError, MAX_DEPTH};

/// Magic of a binary epoch bundle.
pub const MAGIC: &[u8; 4] = b"PMEB";
/// The bundle format's version.
pub const VERSION: u8 = 2;
/// The `format` tag of the JSON form.
pub const JSON_FORMAT: &str = "proofmint-epoch";

/// What the operator posts on chain, plus the parameters of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochSummary {
    pub epoch: u64,
    /// The deployment the receipts are signed for.
    pub domain: ReceiptDomain,
    pub depth: usize,
    pub root: Fr,
    pub total_units: u64,
    pub count: u64,
}

/// An epoch's receipts in leaf order with its summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochBundle {
    pub summary: EpochSummary,
    pub receipts: Vec<SignedReceipt>,
}

/// One receipt refused, by its position in the input (1-based line or leaf).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct LineError {
    pub line: usize,
    pub reason: String,
}

/// Why an epoch could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EpochError {
    #[error("{} receipt(s) refused:\n{}", .0.len(), render(.0))]
    Refused(Vec<LineError>),
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("no receipts")]
    Empty,
    #[error("epoch JSON: {0}")]
    Json(String),
}

fn render(errors: &[LineError]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Receipts read one line at a time: those that parsed, with their line
/// numbers, and every line that did not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptLines {
    pub receipts: Vec<(usize, SignedReceipt)>,
    pub errors: Vec<LineError>,
}

impl ReceiptLines {
    /// Parses line `line` (numbered from 1); a blank line is skipped.
    pub fn push(&mut self, line: usize, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        match SignedReceipt::from_json_str(text) {
            Ok(r) => self.receipts.push((line, r)),
            Err(e) => self.errors.push(LineError {
                line,
                reason: e.to_string(),
            }),
        }
    }
}

/// Parses JSON Lines: one receipt a line (numbered from 1), blank lines
/// skipped.
pub fn parse_receipts_jsonl(text: &str) -> ReceiptLines {
    let mut lines = ReceiptLines::default();
    for (i, line) in text.lines().enumerate() {
        lines.push(i + 1, line);
    }
    lines
}

/// Every admission rule for the receipts of one epoch, each failure naming its
/// line: the client's signature for this deployment, the epoch, a payment on
/// chain that backs the receipt (same job id, client, node and epoch, at least
/// its units), a job id used once (a receipt admitted twice would be claimable
/// twice), and a total that fits 64 bits. `position` names what the numbers are ("line" of an input file,
/// "leaf" of a bundle) in the messages.
pub fn check_receipts(
    epoch: u64,
    domain: &ReceiptDomain,
    payments: &Payments,
    receipts: &[(usize, SignedReceipt)],
    position: &str,
) -> Result<u64, Vec<LineError>> {
    use rayon::prelude::*;
    let mut errors: Vec<LineError> = receipts
        .par_iter()
        .filter_map(|(line, r)| {
            r.check(epoch, domain)
                .err()
                .map(|e: ReceiptError| e.to_string())
                .or_else(|| payments.refusal(&r.receipt))
                .map(|reason| LineError {
                    line: *line,
                    reason,
                })
        })
        .collect();
    let mut first_seen: HashMap<Fr, usize> = HashMap::with_capacity(receipts.len());
    let mut total: Option<u64> = Some(0);
    for (line, r) in receipts {
        if let Some(first) = first_seen.insert(r.receipt.job_id, *line) {
            errors.push(LineError {
                line: *line,
                reason: format!(
                    "jobId {} repeats {position} {first}",
                    fr_to_hex(&r.receipt.job_id)
                ),
            });
        }
        total = total.and_then(|t| t.checked_add(r.receipt.units));
        if total.is_none() {
            errors.push(LineError {
                line: *line,
                reason: "the epoch's total units overflow 64 bits here".into(),
            });
            total = Some(0);
        }
    }
    if errors.is_empty() {
        Ok(total.unwrap_or(0))
    } else {
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

impl EpochBundle {
    /// Admits `receipts` (numbered by input line) as the leaves of a new epoch,
    /// in input order, or refuses the whole batch naming every bad line.
    pub fn build(
        epoch: u64,
        domain: ReceiptDomain,
        depth: usize,
        receipts: Vec<(usize, SignedReceipt)>,
        payments: &Payments,
    ) -> Result<(Self, EpochTree), EpochError> {
        if !(1..=MAX_DEPTH).contains(&depth) {
            return Err(TreeError::BadDepth(depth).into());
        }
        if (receipts.len() as u128) > (1u128 << depth) {
            return Err(TreeError::TooManyLeaves {
                leaves: receipts.len(),
                depth,
            }
            .into());
        }
        let total_units = check_receipts(epoch, &domain, payments, &receipts, "line")
            .map_err(EpochError::Refused)?;
        let receipts: Vec<SignedReceipt> = receipts.into_iter().map(|(_, r)| r).collect();
        let tree = tree_of(depth, &receipts)?;
        let summary = EpochSummary {
            epoch,
            domain,
            depth,
            root: tree.root(),
            total_units,
            count: receipts.len() as u64,
        };
        Ok((Self { summary, receipts }, tree))
    }

    /// [`Self::build`] from a JSON Lines text; a refusal names every bad line,
    /// unparseable and inadmissible alike, in line order.
    pub fn build_from_jsonl(
        epoch: u64,
        domain: ReceiptDomain,
        depth: usize,
        text: &str,
        payments: &Payments,
    ) -> Result<(Self, EpochTree), EpochError> {
        Self::build_parsed(epoch, domain, depth, parse_receipts_jsonl(text), payments)
    }

    /// [`Self::build`] from lines already parsed (as a streaming reader does).
    /// A refusal names every bad line, unparseable and inadmissible alike, in
    /// line order.
    pub fn build_parsed(
        epoch: u64,
        domain: ReceiptDomain,
        depth: usize,
        lines: ReceiptLines,
        payments: &Payments,
    ) -> Result<(Self, EpochTree), EpochError> {
        let ReceiptLines {
            receipts,
            mut errors,
        } = lines;
        if errors.is_empty() {
            if receipts.is_empty() {
                return Err(EpochError::Empty);
            }
            return Self::build(epoch, domain, depth, receipts, payments);
        }
        if let Err(more) = check_receipts(epoch, &domain, payments, &receipts, "line") {
            errors.extend(more);
        }
        errors.sort_by_key(|e| e.line);
        Err(EpochError::Refused(errors))
    }

    /// The tree over this bundle's receipts (recomputed, not trusted).
    pub fn tree(&self) -> Result<EpochTree, TreeError> {
        tree_of(self.summary.depth, &self.receipts)
    }

    /// The JSON form (`epoch.json`).
    pub fn to_json(&self) -> Value {
        let s = &self.summary;
        let mut map = Map::new();
        map.insert("format".into(), JSON_FORMAT.into());
        map.insert("version".into(), VERSION.into());
        map.insert("epoch".into(), s.epoch.into());
        map.insert("chainId".into(), s.domain.chain_id.into());
        map.insert(
            "registry".into(),
            s.domain.verifying_contract.to_checksum(None).into(),
        );
        map.insert("depth".into(), s.depth.into());
        map.insert("root".into(), fr_to_hex(&s.root).into());
        map.insert("totalUnits".into(), s.total_units.to_string().into());
        map.insert("count".into(), s.count.into());
        map.insert(
            "receipts".into(),
            Value::Array(self.receipts.iter().map(SignedReceipt::to_json).collect()),
        );
        Value::Object(map)
    }

    /// Reads the JSON form; checks encoding, not content.
    pub fn from_json(value: &Value) -> Result<Self, EpochError> {
        let bad = |what: &str| EpochError::Json(what.to_string());
        let map = value.as_object().ok_or_else(|| bad("expected an object"))?;
        if map.get("format").and_then(Value::as_str) != Some(JSON_FORMAT) {
            return Err(bad("`format` is not \"proofmint-epoch\""));
        }
        let version = map
            .get("version")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("missing `version`"))?;
        if version != VERSION as u64 {
            return Err(EpochError::Json(format!(
                "unknown version {version} (this build reads {VERSION})"
            )));
        }
        let int = |name: &str| -> Result<u64, EpochError> {
            match map.get(name) {
                Some(Value::Number(n)) => n.as_u64(),
                Some(Value::String(s)) => s.parse().ok(),
                _ => None,
            }
            .ok_or_else(|| EpochError::Json(format!("`{name}` is missing or not a 64-bit integer")))
        };
        let depth = int("depth")? as usize;
        if !(1..=MAX_DEPTH).contains(&depth) {
            return Err(TreeError::BadDepth(depth).into());
        }
        let root_text = map
            .get("root")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("missing `root`"))?;
        let root = fr_from_hex(root_text).map_err(|e| EpochError::Json(format!("`root`: {e}")))?;
        let list = map
            .get("receipts")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("missing `receipts` array"))?;
        let mut receipts = Vec::with_capacity(list.len());
        let mut errors = Vec::new();
        for (i, item) in list.iter().enumerate() {
            match SignedReceipt::from_json(item) {
                Ok(r) => receipts.push(r),
                Err(e) => errors.push(LineError {
                    line: i + 1,
                    reason: format!("receipts[{i}]: {e}"),
                }),
            }
        }
        if !errors.is_empty() {
            return Err(EpochError::Refused(errors));
        }
        let registry = map
            .get("registry")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("missing `registry`"))
            .and_then(|t| {
                parse_address(t).map_err(|e| EpochError::Json(format!("`registry`: {e}")))
            })?;
        let summary = EpochSummary {
            epoch: int("epoch")?,
            domain: ReceiptDomain::new(int("chainId")?, registry),
            depth,
            root,
            total_units: int("totalUnits")?,
            count: int("count")?,
        };
        Ok(Self { summary, receipts })
    }

    /// The binary form (`epoch.bin`): `PMEB`, version, chainId u64, registry
    /// (20 bytes), epoch u64,
    /// depth u8, count u32, totalUnits u64, root, then `count` receipt records.
    pub fn to_bytes(&self) -> Vec<u8> {
        let s = &self.summary;
        let mut out = Vec::with_capacity(86 + self.receipts.len() * RECORD_LEN);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&s.domain.chain_id.to_be_bytes());
        out.extend_from_slice(s.domain.verifying_contract.as_slice());
        out.extend_from_slice(&s.epoch.to_be_bytes());
        out.push(s.depth as u8);
        out.extend_from_slice(&(self.receipts.len() as u32).to_be_bytes());
        out.extend_from_slice(&s.total_units.to_be_bytes());
        put_fr(&mut out, &s.root);
        for r in &self.receipts {
            r.write_record(&mut out);
        }
        out
    }

    /// Reads the binary form; the count is bounded by the bytes present
    /// before anything is allocated.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EpochError> {
        let mut reader = Reader::new(bytes);
        reader.header("epoch bundle", MAGIC, VERSION)?;
        let chain_id = reader.u64("chainId")?;
        let registry = alloy_primitives::Address::from(reader.array::<20>("registry")?);
        let epoch = reader.u64("epoch")?;
        let depth = reader.u8("depth")? as usize;
        if !(1..=MAX_DEPTH).contains(&depth) {
            return Err(TreeError::BadDepth(depth).into());
        }
        let count = reader.u32("count")? as usize;
        let total_units = reader.u64("totalUnits")?;
        let root = reader.fr("root")?;
        if count.checked_mul(RECORD_LEN) != Some(reader.remaining()) {
            return Err(DecodeError::Invalid {
                field: "count",
                reason: format!(
                    "{count} receipts need {} bytes, {} present",
                    count as u128 * RECORD_LEN as u128,
                    reader.remaining()
                ),
            }
            .into());
        }
        let mut receipts = Vec::with_capacity(count);
        for _ in 0..count {
            receipts.push(SignedReceipt::read_record(&mut reader)?);
        }
        reader.finish("epoch bundle")?;
        let summary = EpochSummary {
            epoch,
            domain: ReceiptDomain::new(chain_id, registry),
            depth,
            root,
            total_units,
            count: count as u64,
        };
        Ok(Self { summary, receipts })
    }
}

fn tree_of(depth: usize, receipts: &[SignedReceipt]) -> Result<EpochTree, TreeError> {
    use rayon::prelude::*;
    let leaves: Vec<Fr> = receipts.par_iter().map(|r| r.receipt.leaf()).collect();
    EpochTree::new(depth, leaves)
}
