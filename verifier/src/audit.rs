//! The auditor's check of a published epoch bundle against the deployment it
//! claims to belong to and the payments on chain: the bundle's EIP-712 domain,
//! every receipt's signature, epoch, payment and uniqueness, the count, the
//! total units and the root recomputed from the leaves.

use proofmint_circuits::epoch::{check_receipts, EpochBundle, EpochSummary};
use proofmint_circuits::field::fr_to_hex;
use proofmint_circuits::payment::Payments;
use proofmint_circuits::receipt::ReceiptDomain;

/// One thing wrong with a bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditFailure {
    #[error("domain: the bundle is signed for {bundle}, the deployment is {expected}")]
    Domain {
        bundle: ReceiptDomain,
        expected: ReceiptDomain,
    },
    #[error("receipt at leaf {leaf}: {reason}")]
    Receipt { leaf: usize, reason: String },
    #[error("count: the bundle says {claimed}, it holds {actual} receipts")]
    Count { claimed: u64, actual: u64 },
    #[error("totalUnits: the bundle says {claimed}, the receipts add up to {actual}")]
    TotalUnits { claimed: u64, actual: u64 },
    #[error("root: the bundle says {claimed}, the receipts give {actual}")]
    Root { claimed: String, actual: String },
    #[error("tree: {0}")]
    Tree(String),
}

/// What an audit that passed established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    pub summary: EpochSummary,
}

/// Re-checks everything in `bundle` against the deployment `domain` and the
/// chain's `payments`; returns every failure, not the first.
pub fn audit(
    bundle: &EpochBundle,
    domain: &ReceiptDomain,
    payments: &Payments,
) -> Result<AuditReport, Vec<AuditFailure>> {
    let s = bundle.summary;
    let mut failures = Vec::new();
    if s.domain != *domain {
        failures.push(AuditFailure::Domain {
            bundle: s.domain,
            expected: *domain,
        });
    }
    let numbered: Vec<_> = bundle
        .receipts
        .iter()
        .enumerate()
        .map(|(i, r)| (i, *r))
        .collect();
    let total = match check_receipts(s.epoch, domain, payments, &numbered, "leaf") {
        Ok(total) => Some(total),
        Err(errors) => {
            failures.extend(errors.into_iter().map(|e| AuditFailure::Receipt {
                leaf: e.line,
                reason: e.reason,
            }));
            None
        }
    };
    let actual_count = bundle.receipts.len() as u64;
    if s.count != actual_count {
        failures.push(AuditFailure::Count {
            claimed: s.count,
            actual: actual_count,
        });
    }
    if let Some(actual) = total {
        if actual != s.total_units {
            failures.push(AuditFailure::TotalUnits {
                claimed: s.total_units,
                actual,
            });
        }
    }
    match bundle.tree() {
        Ok(tree) if tree.root() != s.root => failures.push(AuditFailure::Root {
            claimed: fr_to_hex(&s.root),
            actual: fr_to_hex(&tree.root()),
        }),
        Ok(_) => {}
        Err(e) => failures.push(AuditFailure::Tree(e.to_string())),
    }
    if failures.is_empty() {
        Ok(AuditReport { summary: s })
    } else {
        Err(failures)
    }
}
