//! The reward-claim circuit (R1CS, proven with Groth16 over BN254).
//!
//! Statement: "I hold receipts at leaf indices i1 < i2 < ... < in of the epoch
//! tree with root `root`, every one naming `node` and `epoch`, together worth
//! `totalUnits`", with public inputs, in this order,
//! `root, epoch, node, totalUnits, firstIndex, lastIndex` (`firstIndex = i1`,
//! `lastIndex = in`). The circuit has K receipt slots over a tree of depth D;
//! active slots come first, and empty slots contribute nothing.
//!
//! Every constraint, and why it is there:
//! - `active[0] = 1`: a claim covers at least one receipt, so first/last exist.
//! - `active[i] * (1 - active[i-1]) = 0`: active slots form a prefix, so the
//!   "last active slot" is unique and `lastIndex` is well defined.
//! - `units = sum(bits * 2^j)` over 64 boolean bits: units fit 64 bits, so no
//!   sum of up to K receipts wraps the field (and the contract's arithmetic).
//! - leaf = Poseidon(DOMAIN, jobId, node, client, epoch, units, kind, in, out)
//!   with `node` and `epoch` the public inputs: a receipt of another node or
//!   epoch gives another leaf, which is not in the tree.
//! - Merkle path from leaf to `root` under the index's D bits, enforced only
//!   for active slots: the receipt was admitted by the operator at that index.
//! - `active[i] * (index[i] - index[i-1] - 1)` decomposes into D bits: indices
//!   strictly increase, so no leaf is counted twice in one claim, and the
//!   contract can refuse ranges that overlap earlier claims.
//! - `index[0] = firstIndex`; `(index[i] - lastIndex) * (active[i] - active[i+1]) = 0`:
//!   the public range is exactly the claimed leaves' range.
//! - `sum(active[i] * units[i]) = totalUnits`: the reward is for these units.
//! - `(1 - active[i]) * v = 0` for every value of a slot (index, units, the five
//!   receipt fields, the D siblings): an inactive slot is all zeros, so no
//!   witness variable is free and changing any one of them breaks a constraint
//!   (`tests/witness_tampering.rs` changes each one in turn).

use alloy_primitives::Address;
use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField, Zero};
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use crate::field::address_to_fr;
use crate::poseidon::hash_var;
use crate::receipt::{leaf_domain, SignedReceipt};
use crate::tree::{EpochTree, MAX_DEPTH};

/// Slot counts with published keys and benchmarks.
pub const PRESET_SLOTS: [usize; 3] = [16, 64, 256];
/// Largest slot count a key may have.
pub const MAX_SLOTS: usize = 4096;
/// Number of public inputs.
pub const NUM_PUBLIC_INPUTS: usize = 6;
/// Names of the public inputs, in order.
pub const PUBLIC_INPUT_NAMES: [&str; NUM_PUBLIC_INPUTS] = [
    "root",
    "epoch",
    "node",
    "totalUnits",
    "firstIndex",
    "lastIndex",
];

/// The shape of a claim circuit: receipt slots and tree depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimShape {
    pub slots: usize,
    pub depth: usize,
}

/// Why a claim could not be assembled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("a claim circuit needs 1..={MAX_SLOTS} slots and depth 1..={MAX_DEPTH}; got {slots} slots, depth {depth}")]
    BadShape { slots: usize, depth: usize },
    #[error("the epoch tree has depth {tree}, the key was made for depth {key}")]
    DepthMismatch { tree: usize, key: usize },
    #[error("node {node} has no receipts in epoch {epoch} at or after leaf index {from_index}")]
    NoReceipts {
        node: Address,
        epoch: u64,
        from_index: u64,
    },
}

impl ClaimShape {
    pub fn new(slots: usize, depth: usize) -> Result<Self, ClaimError> {
        if !(1..=MAX_SLOTS).contains(&slots) || !(1..=MAX_DEPTH).contains(&depth) {
            return Err(ClaimError::BadShape { slots, depth });
        }
        Ok(Self { slots, depth })
    }
}

impl std::fmt::Display for ClaimShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} slots, depth {}", self.slots, self.depth)
    }
}

/// The claim's public inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimPublic {
    pub root: Fr,
    pub epoch: Fr,
    pub node: Fr,
    pub total_units: Fr,
    pub first_index: Fr,
    pub last_index: Fr,
}

impl ClaimPublic {
    /// In the circuit's (and the verifier contract's) order.
    pub fn to_inputs(&self) -> [Fr; NUM_PUBLIC_INPUTS] {
        [
            self.root,
            self.epoch,
            self.node,
            self.total_units,
            self.first_index,
            self.last_index,
        ]
    }

    pub fn from_inputs(inputs: &[Fr; NUM_PUBLIC_INPUTS]) -> Self {
        let [root, epoch, node, total_units, first_index, last_index] = *inputs;
        Self {
            root,
            epoch,
            node,
            total_units,
            first_index,
            last_index,
        }
    }
}

/// The private witness of one slot. Values are raw field elements so that
/// tests can hand the circuit what a cheating prover would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotAssignment {
    pub active: bool,
    pub job_id: Fr,
    pub client: Fr,
    pub units: Fr,
    pub kind: Fr,
    pub input_commitment: Fr,
    pub output_commitment: Fr,
    pub index: u64,
    pub path: Vec<Fr>,
}

impl SlotAssignment {
    /// An empty slot: all zeros, no path needed.
    pub fn empty(depth: usize) -> Self {
        Self {
            active: false,
            job_id: Fr::zero(),
            client: Fr::zero(),
            units: Fr::zero(),
            kind: Fr::zero(),
            input_commitment: Fr::zero(),
            output_commitment: Fr::zero(),
            index: 0,
            path: vec![Fr::zero(); depth],
        }
    }

    /// An active slot holding `receipt` at leaf `index` with its Merkle path.
    pub fn active(receipt: &SignedReceipt, index: u64, path: Vec<Fr>) -> Self {
        let r = &receipt.receipt;
        Self {
            active: true,
            job_id: r.job_id,
            client: address_to_fr(&r.client),
            units: Fr::from(r.units),
            kind: Fr::from(r.kind),
            input_commitment: r.input_commitment,
            output_commitment: r.output_commitment,
            index,
            path,
        }
    }
}

/// The claim circuit with its assignment.
#[derive(Debug, Clone)]
pub struct ClaimCircuit {
    pub shape: ClaimShape,
    pub public: ClaimPublic,
    pub slots: Vec<SlotAssignment>,
}

/// Assembles claims from an epoch's receipts.
pub struct ClaimWitness;

impl ClaimWitness {
    /// The claim of `node` over its receipts in `receipts` (leaf order, as in
    /// `tree`), from leaf `from_index` on, at most `shape.slots` of them.
    pub fn build(
        shape: ClaimShape,
        epoch: u64,
        receipts: &[SignedReceipt],
        tree: &EpochTree,
        node: Address,
        from_index: u64,
    ) -> Result<ClaimCircuit, ClaimError> {
        if tree.depth() != shape.depth {
            return Err(ClaimError::DepthMismatch {
                tree: tree.depth(),
                key: shape.depth,
            });
        }
        let mut slots: Vec<SlotAssignment> = receipts
            .iter()
            .enumerate()
            .skip(from_index.min(usize::MAX as u64) as usize)
            .filter(|(_, r)| r.receipt.node == node && r.receipt.epoch == epoch)
            .take(shape.slots)
            .map(|(i, r)| {
                let path = tree
                    .path(i as u64)
                    .expect("index is within the tree's leaves");
                SlotAssignment::active(r, i as u64, path)
            })
            .collect();
        let (Some(first), Some(last)) = (slots.first(), slots.last()) else {
            return Err(ClaimError::NoReceipts {
                node,
                epoch,
                from_index,
            });
        };
        let total: u128 = slots
            .iter()
            .map(|s| s.units.into_bigint().0[0] as u128)
            .sum();
        let public = ClaimPublic {
            root: tree.root(),
            epoch: Fr::from(epoch),
            node: address_to_fr(&node),
            total_units: Fr::from(total),
            first_index: Fr::from(first.index),
            last_index: Fr::from(last.index),
        };
        slots.resize(shape.slots, SlotAssignment::empty(shape.depth));
        Ok(ClaimCircuit {
            shape,
            public,
            slots,
        })
    }
}

/// What every slot shares: the public inputs (in their order) and the
/// leaf domain.
struct Shared {
    depth: usize,
    domain: FpVar<Fr>,
    root: FpVar<Fr>,
    epoch: FpVar<Fr>,
    node: FpVar<Fr>,
    total_units: FpVar<Fr>,
    first_index: FpVar<Fr>,
    last_index: FpVar<Fr>,
}

impl Shared {
    /// Allocates the public inputs as `mode` (inputs for the circuit;
    /// witnesses where a slot is synthesized alone).
    fn new(
        cs: &ConstraintSystemRef<Fr>,
        public: &ClaimPublic,
        depth: usize,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let var = |v: Fr| FpVar::new_variable(cs.clone(), || Ok(v), mode);
        Ok(Self {
            depth,
            domain: FpVar::constant(leaf_domain()),
            root: var(public.root)?,
            epoch: var(public.epoch)?,
            node: var(public.node)?,
            total_units: var(public.total_units)?,
            first_index: var(public.first_index)?,
            last_index: var(public.last_index)?,
        })
    }
}

/// What one slot's constraints use from outside the slot: the shared
/// variables, its `active` bit and the next slot's, and the previous slot's
/// index (its variable and its value).
struct SlotOutside<'a> {
    shared: &'a Shared,
    active: &'a Boolean<Fr>,
    next_active: Option<&'a Boolean<Fr>>,
    previous: Option<(&'a FpVar<Fr>, u64)>,
}

/// One slot's variables and constraints (the same for the whole circuit and
/// for [`ClaimCircuit::witness_by_synthesis`], which runs it slot by slot).
/// Returns the slot's index and its units counted if active
/// (`active · units`). [`slot_witness`] computes the values it allocates
/// without the gadgets: a change here is a change there, and the tests that
/// hold the witnesses equal say where the two part.
fn synthesize_slot(
    cs: &ConstraintSystemRef<Fr>,
    slot: &SlotAssignment,
    outside: &SlotOutside<'_>,
) -> Result<(FpVar<Fr>, FpVar<Fr>), SynthesisError> {
    let shared = outside.shared;
    let depth = shared.depth;
    let is_active = FpVar::from(outside.active.clone());
    let (index_bits, index) = alloc_range_checked(cs, Fr::from(slot.index), depth)?;

    // Units fit 64 bits: the allocated value must equal its 64-bit composition.
    let units = FpVar::new_witness(cs.clone(), || Ok(slot.units))?;
    let (_, units_composed) = alloc_range_checked(cs, slot.units, 64)?;
    units.enforce_equal(&units_composed)?;

    let fields = [
        slot.job_id,
        slot.client,
        slot.kind,
        slot.input_commitment,
        slot.output_commitment,
    ]
    .iter()
    .map(|v| FpVar::new_witness(cs.clone(), || Ok(*v)))
    .collect::<Result<Vec<_>, _>>()?;
    // An inactive slot holds zeros (index, units, every field, every sibling):
    // nothing else binds them, and a witness without free variables leaves no
    // room to hide anything in (tampering with any one variable is caught).
    let inactive = FpVar::from(!outside.active);
    for value in fields.iter().chain([&units, &index]) {
        value.mul_equals(&inactive, &FpVar::zero())?;
    }
    let [job_id, client, kind, input, output] =
        <[FpVar<Fr>; 5]>::try_from(fields).expect("five fields");
    let leaf = hash_var(&[
        shared.domain.clone(),
        job_id,
        shared.node.clone(),
        client,
        shared.epoch.clone(),
        units.clone(),
        kind,
        input,
        output,
    ])?;

    // Membership: walk up with the index bits; left/right swap costs one constraint per level.
    let mut current = leaf;
    for (bit, sibling) in index_bits.iter().zip(&slot.path) {
        let sibling = FpVar::new_witness(cs.clone(), || Ok(*sibling))?;
        sibling.mul_equals(&inactive, &FpVar::zero())?;
        let left = bit.select(&sibling, &current)?;
        let right = &current + &sibling - &left;
        current = hash_var(&[left, right])?;
    }
    current.conditional_enforce_equal(&shared.root, outside.active)?;

    let counted = &is_active * &units;

    // Strictly increasing indices among active slots: index[i] - index[i-1] - 1 >= 0.
    match outside.previous {
        None => index.enforce_equal(&shared.first_index)?,
        Some((previous, previous_value)) => {
            let gap = &is_active * (&index - previous - Fr::from(1u64));
            let gap_value = if slot.active {
                Fr::from(slot.index) - Fr::from(previous_value) - Fr::from(1u64)
            } else {
                Fr::zero()
            };
            let (_, gap_composed) = alloc_range_checked(cs, gap_value, depth)?;
            gap.enforce_equal(&gap_composed)?;
        }
    }

    // The last active slot (active[i] = 1, active[i+1] = 0) holds lastIndex.
    let is_last = match outside.next_active {
        Some(next) => &is_active - FpVar::from(next.clone()),
        None => is_active.clone(),
    };
    (&index - &shared.last_index).mul_equals(&is_last, &FpVar::zero())?;
    Ok((index, counted))
}

/// Slot `i`'s witness values, in the order in which [`synthesize_slot`]
/// allocates them (the comments name the gadget call of each), computed
/// without a constraint system. Linear combinations (`le_bits_to_fp`, sums,
/// `FpVar::from(Boolean)`, `!`) allocate nothing; each product, square and
/// select allocates its result.
fn slot_witness(circuit: &ClaimCircuit, i: usize) -> Vec<Fr> {
    let slot = &circuit.slots[i];
    let depth = circuit.shape.depth;
    let public = &circuit.public;
    let active = Fr::from(slot.active as u64);
    let mut w = Vec::with_capacity(slot_witness_len(depth, i > 0));
    let push_bits = |w: &mut Vec<Fr>, value: &Fr, n: usize| -> Vec<bool> {
        // alloc_range_checked: n Boolean witnesses; their composition is a
        // linear combination (no variable), whose value is the low n bits.
        let bits = low_bits(value, n);
        w.extend(bits.iter().map(|&b| Fr::from(b as u64)));
        bits
    };
    let index_bits = push_bits(&mut w, &Fr::from(slot.index), depth);
    let index = compose(&index_bits);
    w.push(slot.units); // units
    push_bits(&mut w, &slot.units, 64);
    let fields = [
        slot.job_id,
        slot.client,
        slot.kind,
        slot.input_commitment,
        slot.output_commitment,
    ];
    w.extend(fields); // the five fields; `mul_equals` with a constant allocates nothing
    let [job_id, client, kind, input, output] = fields;
    let leaf = crate::poseidon::hash_traced(
        &[
            leaf_domain(),
            job_id,
            public.node,
            client,
            public.epoch,
            slot.units,
            kind,
            input,
            output,
        ],
        &[true, false, false, false, false, false, false, false, false],
        &mut w,
    );
    let mut current = leaf;
    for (&bit, &sibling) in index_bits.iter().zip(&slot.path) {
        w.push(sibling); // the sibling
        let left = if bit { sibling } else { current };
        w.push(left); // bit.select(sibling, current)
        let right = current + sibling - left;
        current = crate::poseidon::hash_traced(&[left, right], &[false, false], &mut w);
    }
    w.push(active * slot.units); // counted = is_active · units
    if i > 0 {
        // The previous slot's index variable holds its low `depth` bits;
        // the gap's value is taken from the indices as given.
        let previous_index = circuit.slots[i - 1].index;
        let previous = index_in_bits(previous_index, depth);
        w.push(active * (index - previous - Fr::from(1u64))); // gap = is_active · (index − previous − 1)
        let gap_value = if slot.active {
            Fr::from(slot.index) - Fr::from(previous_index) - Fr::from(1u64)
        } else {
            Fr::zero()
        };
        push_bits(&mut w, &gap_value, depth);
    }
    w
}

/// The element whose bits (least significant first) these are.
fn compose(bits: &[bool]) -> Fr {
    bits.iter()
        .rev()
        .fold(Fr::zero(), |acc, &b| acc + acc + Fr::from(b as u64))
}

/// The value of a slot's index variable: the composition of its `depth`
/// range-checked bits, which is the index itself when it fits.
fn index_in_bits(index: u64, depth: usize) -> Fr {
    compose(&low_bits(&Fr::from(index), depth))
}

/// How many witness values a slot has: index bits, units and its bits, the
/// five fields, the leaf hash (8 of its 10 first S-boxes on variables), per
/// level a sibling, a select and a two-input hash (2 of 3 first S-boxes on
/// variables), the counted units, and after the first slot the gap and its
/// bits.
fn slot_witness_len(depth: usize, has_previous: bool) -> usize {
    let sboxes = |inputs: usize, first_round_variables: usize| {
        let p = crate::poseidon::params(inputs);
        let half = p.full_rounds / 2;
        3 * (first_round_variables + (half - 1) * p.width + p.partial_rounds + half * p.width)
    };
    depth
        + 1
        + 64
        + 5
        + sboxes(9, 8)
        + depth * (2 + sboxes(2, 2))
        + 1
        + if has_previous { 1 + depth } else { 0 }
}

impl ClaimCircuit {
    /// Every slot present, every path as long as the tree is deep.
    fn check_shape(&self) -> Result<(), SynthesisError> {
        let ClaimShape { slots: k, depth } = self.shape;
        if self.slots.len() != k || self.slots.iter().any(|s| s.path.len() != depth) {
            return Err(SynthesisError::Unsatisfiable);
        }
        Ok(())
    }

    /// The circuit's full assignment (instance, then witness), as its
    /// synthesis through a constraint system gives it, but computed natively,
    /// slot by slot in parallel: each slot's values in the order in which
    /// [`synthesize_slot`]'s gadgets allocate them ([`slot_witness`]).
    /// Tests hold it equal, value for value, to a whole synthesis and to
    /// [`Self::witness_by_synthesis`], for full, partial, blank and tampered
    /// claims. Constraints are not checked here.
    pub fn witness(&self) -> Result<(Vec<Fr>, Vec<Fr>), SynthesisError> {
        use rayon::prelude::*;
        self.check_shape()?;
        let slots: Vec<Vec<Fr>> = (0..self.shape.slots)
            .into_par_iter()
            .map(|i| slot_witness(self, i))
            .collect();
        Ok(self.assignment_of(&slots))
    }

    /// The instance, and the witness: every slot's `active` bit, then each
    /// slot's own values.
    fn assignment_of(&self, slots: &[Vec<Fr>]) -> (Vec<Fr>, Vec<Fr>) {
        let instance: Vec<Fr> = std::iter::once(Fr::from(1u64))
            .chain(self.public.to_inputs())
            .collect();
        let active: Vec<Fr> = self
            .slots
            .iter()
            .map(|s| Fr::from(s.active as u64))
            .collect();
        let parts: Vec<&[Fr]> = std::iter::once(active.as_slice())
            .chain(slots.iter().map(Vec::as_slice))
            .collect();
        (instance, crate::field::concat_par(&parts))
    }

    /// [`Self::witness`] through the gadgets: each slot runs
    /// [`synthesize_slot`] in a constraint system of its own, in parallel,
    /// after the values it uses from outside (allocated there first, then
    /// dropped from its witness). The cross-check of the native witness in
    /// tests, not a prover's path (it is about three times slower).
    #[doc(hidden)]
    pub fn witness_by_synthesis(&self) -> Result<(Vec<Fr>, Vec<Fr>), SynthesisError> {
        use ark_relations::gr1cs::{ConstraintSystem, OptimizationGoal, SynthesisMode};
        use rayon::prelude::*;
        self.check_shape()?;
        let ClaimShape { slots: k, depth } = self.shape;
        let slots: Vec<Vec<Fr>> = (0..k)
            .into_par_iter()
            .map(|i| -> Result<Vec<Fr>, SynthesisError> {
                let cs = ConstraintSystem::<Fr>::new_ref();
                cs.set_optimization_goal(OptimizationGoal::Constraints);
                cs.set_mode(SynthesisMode::Prove {
                    construct_matrices: false,
                    generate_lc_assignments: false,
                });
                let shared = Shared::new(&cs, &self.public, depth, AllocationMode::Witness)?;
                let active = Boolean::new_witness(cs.clone(), || Ok(self.slots[i].active))?;
                let next_active = match self.slots.get(i + 1) {
                    Some(next) => Some(Boolean::new_witness(cs.clone(), || Ok(next.active))?),
                    None => None,
                };
                let previous = match i {
                    0 => None,
                    _ => Some(FpVar::new_witness(cs.clone(), || {
                        Ok(index_in_bits(self.slots[i - 1].index, depth))
                    })?),
                };
                let start = cs.num_witness_variables();
                let outside = SlotOutside {
                    shared: &shared,
                    active: &active,
                    next_active: next_active.as_ref(),
                    previous: previous.as_ref().map(|v| (v, self.slots[i - 1].index)),
                };
                let _ = synthesize_slot(&cs, &self.slots[i], &outside)?;
                let mut witness = cs.witness_assignment()?;
                Ok(witness.split_off(start))
            })
            .collect::<Result<_, _>>()?;
        Ok(self.assignment_of(&slots))
    }

    /// The assignment of one synthesis of the whole circuit in prove mode:
    /// the ground truth that the tests hold both witnesses to.
    #[doc(hidden)]
    pub fn witness_by_whole_synthesis(&self) -> Result<(Vec<Fr>, Vec<Fr>), SynthesisError> {
        use ark_relations::gr1cs::{ConstraintSystem, OptimizationGoal, SynthesisMode};
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Prove {
            construct_matrices: false,
            generate_lc_assignments: false,
        });
        self.clone().generate_constraints(cs.clone())?;
        Ok((cs.instance_assignment()?, cs.witness_assignment()?))
    }
}

impl ClaimCircuit {
    /// A circuit of `shape` with a dummy assignment, for key generation.
    pub fn blank(shape: ClaimShape) -> Self {
        let mut slots = vec![SlotAssignment::empty(shape.depth); shape.slots];
        slots[0].active = true;
        let zero = Fr::zero();
        let public = ClaimPublic {
            root: zero,
            epoch: zero,
            node: zero,
            total_units: zero,
            first_index: zero,
            last_index: zero,
        };
        Self {
            shape,
            public,
            slots,
        }
    }

    /// Number of active slots (receipts claimed).
    pub fn receipt_count(&self) -> usize {
        self.slots.iter().filter(|s| s.active).count()
    }
}

/// The low `n` bits of `value`, least significant first.
fn low_bits(value: &Fr, n: usize) -> Vec<bool> {
    let mut bits = value.into_bigint().to_bits_le();
    bits.resize(n.max(bits.len()), false);
    bits.truncate(n);
    bits
}

/// Allocates `value` and constrains it to fit `n` bits; returns the bits
/// (least significant first) and the element they compose.
fn alloc_range_checked(
    cs: &ConstraintSystemRef<Fr>,
    value: Fr,
    n: usize,
) -> Result<(Vec<Boolean<Fr>>, FpVar<Fr>), SynthesisError> {
    let bits = low_bits(&value, n)
        .into_iter()
        .map(|b| Boolean::new_witness(cs.clone(), || Ok(b)))
        .collect::<Result<Vec<_>, _>>()?;
    let composed = Boolean::le_bits_to_fp(&bits)?;
    Ok((bits, composed))
}

/// Where the claim circuit's synthesis stands, reported to
/// [`ClaimCircuit::synthesize_marked`]'s observer: a prover that builds the
/// circuit's matrices slot by slot learns the rows and variables of each
/// slot from these marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthesisMark {
    /// Slot `i`'s rows and variables begin here.
    Slot(usize),
    /// The last slot ended; the rows after this are the sum's.
    SlotsEnd,
}

impl ConstraintSynthesizer<Fr> for ClaimCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        self.synthesize_marked(cs, &mut |_| {})
    }
}

impl ClaimCircuit {
    /// Synthesizes the circuit, telling `mark` where each slot begins and
    /// where the slots end.
    pub fn synthesize_marked(
        self,
        cs: ConstraintSystemRef<Fr>,
        mark: &mut dyn FnMut(SynthesisMark),
    ) -> Result<(), SynthesisError> {
        self.check_shape()?;
        let ClaimShape { slots: k, depth } = self.shape;
        let shared = Shared::new(&cs, &self.public, depth, AllocationMode::Input)?;

        let active: Vec<Boolean<Fr>> = self
            .slots
            .iter()
            .map(|s| Boolean::new_witness(cs.clone(), || Ok(s.active)))
            .collect::<Result<_, _>>()?;
        // At least one receipt, and active slots form a prefix.
        active[0].enforce_equal(&Boolean::TRUE)?;
        for i in 1..k {
            FpVar::from(active[i].clone())
                .mul_equals(&FpVar::from(!&active[i - 1]), &FpVar::zero())?;
        }

        let mut sum = FpVar::zero();
        let mut previous_index: Option<FpVar<Fr>> = None;
        for (i, slot) in self.slots.iter().enumerate() {
            mark(SynthesisMark::Slot(i));
            let outside = SlotOutside {
                shared: &shared,
                active: &active[i],
                next_active: active.get(i + 1),
                previous: previous_index
                    .as_ref()
                    .map(|var| (var, self.slots[i - 1].index)),
            };
            let (index, units) = synthesize_slot(&cs, slot, &outside)?;
            sum += units;
            previous_index = Some(index);
        }
        mark(SynthesisMark::SlotsEnd);
        sum.enforce_equal(&shared.total_units)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::gr1cs::ConstraintSystem;
    use proptest::prelude::*;

    fn arb_fr() -> impl Strategy<Value = Fr> {
        prop_oneof![
            (0u64..4).prop_map(Fr::from),
            any::<u64>().prop_map(Fr::from),
            any::<[u8; 32]>().prop_map(|b| Fr::from_le_bytes_mod_order(&b)),
        ]
    }

    fn arb_slot(depth: usize) -> impl Strategy<Value = SlotAssignment> {
        (
            any::<bool>(),
            proptest::collection::vec(arb_fr(), 6),
            prop_oneof![0u64..(1 << depth) + 2, any::<u64>()],
            proptest::collection::vec(arb_fr(), depth),
        )
            .prop_map(|(active, f, index, path)| SlotAssignment {
                active,
                job_id: f[0],
                client: f[1],
                units: f[2],
                kind: f[3],
                input_commitment: f[4],
                output_commitment: f[5],
                index,
                path,
            })
    }

    fn arb_circuit() -> impl Strategy<Value = ClaimCircuit> {
        (1usize..=4, 1usize..=4).prop_flat_map(|(slots, depth)| {
            (
                proptest::collection::vec(arb_slot(depth), slots),
                proptest::collection::vec(arb_fr(), 6),
            )
                .prop_map(move |(slots, p)| ClaimCircuit {
                    shape: ClaimShape::new(slots.len(), depth).unwrap(),
                    public: ClaimPublic {
                        root: p[0],
                        epoch: p[1],
                        node: p[2],
                        total_units: p[3],
                        first_index: p[4],
                        last_index: p[5],
                    },
                    slots,
                })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever the values (honest or not: indices past the tree or out
        /// of order, units past 64 bits, inactive slots holding values), the
        /// native witness is the whole synthesis's, and so is the slot-by-slot
        /// one.
        #[test]
        fn the_native_witness_is_the_synthesis_s(circuit in arb_circuit()) {
            let truth = circuit.witness_by_whole_synthesis().unwrap();
            prop_assert_eq!(&circuit.witness().unwrap(), &truth);
            prop_assert_eq!(&circuit.witness_by_synthesis().unwrap(), &truth);
        }
    }

    /// Each slot's native witness has the length counted for it, and the
    /// whole witness the circuit's number of witness variables.
    #[test]
    fn slot_witnesses_have_their_counted_lengths() {
        for (slots, depth) in [(1usize, 1usize), (3, 4), (4, 20)] {
            let circuit = ClaimCircuit::blank(ClaimShape::new(slots, depth).unwrap());
            for i in 0..slots {
                assert_eq!(
                    slot_witness(&circuit, i).len(),
                    slot_witness_len(depth, i > 0),
                    "slot {i} of {slots}, depth {depth}"
                );
            }
            let cs = ConstraintSystem::<Fr>::new_ref();
            circuit.clone().generate_constraints(cs.clone()).unwrap();
            assert_eq!(
                circuit.witness().unwrap().1.len(),
                cs.num_witness_variables()
            );
        }
    }
}
