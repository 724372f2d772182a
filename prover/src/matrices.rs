//! The claim circuit's R1CS matrices, built slot by slot from a template.
//!
//! ark-relations builds a circuit's matrices by inlining every linear
//! combination through one hash map, on one thread: 3.6 s for 64 slots and
//! 21 s for 256 on this project's reference machine (BENCHMARKS.md). The
//! claim circuit's slots are alike, so its matrices need no such work: the
//! circuit of four slots (of the same depth) is synthesized once through
//! ark-relations, cut into its parts by the marks the circuit reports
//! ([`SynthesisMark`]), and a row of the circuit of k slots is made from
//! them when it is asked for ([`SlotMatrices`]; the witness map evaluates
//! each slot's rows in parallel straight from the template):
//!
//! - witness columns: the k `active` bits, then each slot's variables (the
//!   first slot has no gap bits, so it is narrower than the others);
//! - rows: per active bit its booleanity, then `active[0] = 1`, then per
//!   bit after the first the prefix rule (together the rows before slot 0);
//!   then each slot's rows; then the sum of units;
//! - a template row refers to instance columns (kept), to active bits and
//!   slot variables relative to its own slot (shifted with it), and, in the
//!   sum, to every slot (repeated for each slot of its kind).
//!
//! Slot 0, slot 1 and the last slot come from the template's slots 0, 1
//! and 3; every other slot from its slot 2. Tests hold the result equal to
//! ark-relations' matrices, row by row, for several slot counts and depths.

use ark_bn254::Fr;
use ark_ff::One;
use ark_relations::gr1cs::{
    ConstraintSystem, OptimizationGoal, SynthesisError, SynthesisMode, R1CS_PREDICATE_LABEL,
};
use ark_relations::utils::matrix::Matrix;
use proofmint_circuits::claim::{ClaimCircuit, ClaimShape, SynthesisMark};
use rayon::prelude::*;

use crate::groth16::{ConstraintMatrices, Groth16Error, SparseMatrix};

/// Slots in the template circuit: a first, two middle and a last.
const TEMPLATE_SLOTS: usize = 4;

/// A column of the template, by what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    /// An instance column (the constant one and the public inputs).
    Instance(usize),
    /// The `active` bit of slot j.
    Active(usize),
    /// Variable `offset` of slot `slot`.
    Slot(usize, usize),
}

/// Rows and witness variables where each slot begins, and where slots end.
#[derive(Debug, Default)]
struct Marks {
    /// (rows, witnesses) at the start of each slot.
    slots: Vec<(usize, usize)>,
    /// (rows, witnesses) after the last slot.
    end: (usize, usize),
}

struct Template {
    rows: [Matrix<Fr>; 3],
    num_instance: usize,
    marks: Marks,
    witnesses: usize,
    /// What each template column is.
    columns: Vec<Column>,
}

impl Template {
    fn build(depth: usize) -> Result<Self, Groth16Error> {
        let shape =
            ClaimShape::new(TEMPLATE_SLOTS, depth).map_err(|_| SynthesisError::Unsatisfiable)?;
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        let mut marks = Marks::default();
        let observer = cs.clone();
        ClaimCircuit::blank(shape).synthesize_marked(cs.clone(), &mut |mark| {
            let here = (observer.num_constraints(), observer.num_witness_variables());
            match mark {
                SynthesisMark::Slot(_) => marks.slots.push(here),
                SynthesisMark::SlotsEnd => marks.end = here,
            }
        })?;
        cs.finalize();
        let mut matrices = cs
            .to_matrices()?
            .remove(R1CS_PREDICATE_LABEL)
            .ok_or(SynthesisError::MissingCS)?;
        if matrices.len() != 3 || marks.slots.len() != TEMPLATE_SLOTS {
            return Err(SynthesisError::Unsatisfiable.into());
        }
        let c = matrices.pop().expect("three");
        let b = matrices.pop().expect("three");
        let a = matrices.pop().expect("three");
        let mut template = Self {
            rows: [a, b, c],
            num_instance: cs.num_instance_variables(),
            witnesses: cs.num_witness_variables(),
            marks,
            columns: Vec::new(),
        };
        template.check()?;
        template.columns = (0..template.num_instance + template.witnesses)
            .map(|column| template.find(column))
            .collect();
        Ok(template)
    }

    /// The layout this builder assumes, checked on the template.
    fn check(&self) -> Result<(), Groth16Error> {
        let m = &self.marks;
        let k = TEMPLATE_SLOTS;
        let width = |s: usize| self.slot_start(s + 1) - self.slot_start(s);
        let rows = |s: usize| self.row_start(s + 1) - self.row_start(s);
        let fits = m.slots[0] == (2 * k, k)
            && width(1) == width(2)
            && width(2) == width(3)
            && rows(1) == rows(2)
            && rows(2) == rows(3)
            && m.end.1 == self.witnesses
            && self.rows[0].len() == m.end.0 + 1;
        if !fits {
            return Err(Groth16Error::KeyMismatch(format!(
                "the claim circuit's layout changed ({m:?}): update prover/src/matrices.rs"
            )));
        }
        Ok(())
    }

    fn slot_start(&self, s: usize) -> usize {
        self.marks.slots.get(s).map_or(self.marks.end.1, |m| m.1)
    }

    fn row_start(&self, s: usize) -> usize {
        self.marks.slots.get(s).map_or(self.marks.end.0, |m| m.0)
    }

    fn classify(&self, column: usize) -> Column {
        self.columns[column]
    }

    fn find(&self, column: usize) -> Column {
        if column < self.num_instance {
            return Column::Instance(column);
        }
        let w = column - self.num_instance;
        if w < TEMPLATE_SLOTS {
            return Column::Active(w);
        }
        let s = (0..TEMPLATE_SLOTS)
            .rev()
            .find(|&s| self.slot_start(s) <= w)
            .expect("past the active bits");
        Column::Slot(s, w - self.slot_start(s))
    }
}

/// The target circuit's columns: where each slot's variables begin.
#[derive(Debug, Clone)]
struct Layout {
    num_instance: usize,
    slots: usize,
    first_width: usize,
    width: usize,
}

impl Layout {
    fn slot_start(&self, s: usize) -> usize {
        let start = self.slots
            + if s == 0 {
                0
            } else {
                self.first_width + (s - 1) * self.width
            };
        self.num_instance + start
    }

    fn column(&self, column: Column) -> usize {
        match column {
            Column::Instance(i) => i,
            Column::Active(j) => self.num_instance + j,
            Column::Slot(s, offset) => self.slot_start(s) + offset,
        }
    }
}

/// The template slot that slot `s` of `k` is copied from.
fn template_slot(s: usize, k: usize) -> usize {
    match s {
        0 => 0,
        1 if k > 2 => 1,
        s if s == k - 1 => TEMPLATE_SLOTS - 1,
        _ => 2,
    }
}

/// The claim circuit's matrices for k slots, kept as the template and the
/// layout: a row is made (or evaluated) when asked for, so the matrices of
/// 256 slots (about 38 million terms, 1.5 GB as rows) take the template's
/// few megabytes.
#[derive(Debug, Clone)]
pub struct SlotMatrices {
    rows: [SparseMatrix; 3],
    columns: Vec<Column>,
    template_rows: Vec<usize>,
    layout: Layout,
    /// The sum row of each matrix, over every slot.
    sum: [Vec<(Fr, usize)>; 3],
    first_rows: usize,
    slot_rows: usize,
    /// Per template slot, its rows' distinct linear combinations.
    plans: Vec<SlotPlan>,
}

/// The distinct linear combinations of one template slot's rows, over all
/// three matrices, and which one each row is. The claim circuit's rows
/// repeat themselves (a Poseidon S-box's input is B in x·x and in x⁴·x, and
/// A in x·x): at depth 20 the 2.36 million terms of a 16-slot circuit's
/// rows are 0.82 million in distinct combinations, so evaluating each once
/// per slot takes a third of the multiplications; and terms of coefficient
/// one (most single-term rows) are added without one.
#[derive(Debug, Clone, Default)]
struct SlotPlan {
    /// Combination i's terms are `ones[one_starts[i]..one_starts[i + 1]]`
    /// (coefficient one) and `terms[term_starts[i]..term_starts[i + 1]]`,
    /// by template column.
    one_starts: Vec<u32>,
    ones: Vec<u32>,
    term_starts: Vec<u32>,
    terms: Vec<(Fr, u32)>,
    /// For each matrix, row `within` of the slot is combination `rows[m][within]`.
    rows: [Vec<u32>; 3],
}

impl SlotPlan {
    /// The plan of template rows `first..first + count`.
    fn build(matrices: &[SparseMatrix; 3], first: usize, count: usize) -> Self {
        use std::collections::HashMap;
        let mut plan = SlotPlan {
            one_starts: vec![0],
            term_starts: vec![0],
            ..Default::default()
        };
        let mut seen: HashMap<&[(Fr, usize)], u32> = HashMap::new();
        for within in 0..count {
            for (m, matrix) in matrices.iter().enumerate() {
                let row = matrix.row(first + within);
                let next = seen.len() as u32;
                let id = *seen.entry(row).or_insert_with(|| {
                    for &(coefficient, column) in row {
                        if coefficient.is_one() {
                            plan.ones.push(column as u32);
                        } else {
                            plan.terms.push((coefficient, column as u32));
                        }
                    }
                    plan.one_starts.push(plan.ones.len() as u32);
                    plan.term_starts.push(plan.terms.len() as u32);
                    next
                });
                plan.rows[m].push(id);
            }
        }
        plan
    }

    fn combinations(&self) -> usize {
        self.one_starts.len() - 1
    }
}

/// Where a row of the target comes from.
enum Source {
    /// Template row `row`, moved from template slot `from` to slot `to`.
    Template {
        row: usize,
        from: usize,
        to: usize,
    },
    Sum,
}

impl SlotMatrices {
    fn k(&self) -> usize {
        self.layout.slots
    }

    /// Row `r`'s source.
    fn source(&self, r: usize) -> Source {
        let k = self.k();
        let t = &self.template_rows;
        if r < k {
            // Booleanity of active bit r (template rows 0..4).
            let from = r.min(1);
            return Source::Template {
                row: from,
                from,
                to: r,
            };
        }
        if r == k {
            // active[0] = 1 (template row 4).
            return Source::Template {
                row: TEMPLATE_SLOTS,
                from: 0,
                to: 0,
            };
        }
        if r < 2 * k {
            // The prefix rule of bit j >= 1 (template rows 5..8).
            let j = r - k;
            let from = j.min(2);
            return Source::Template {
                row: TEMPLATE_SLOTS + from,
                from,
                to: j,
            };
        }
        let r = r - 2 * k;
        let (slot, within) = if r < self.first_rows {
            (0, r)
        } else if r - self.first_rows < (k - 1) * self.slot_rows {
            let r = r - self.first_rows;
            (1 + r / self.slot_rows, r % self.slot_rows)
        } else {
            return Source::Sum;
        };
        let from = template_slot(slot, k);
        Source::Template {
            row: t[from] + within,
            from,
            to: slot,
        }
    }

    /// A template column moved from slot `from` to slot `to`.
    #[inline]
    fn column(&self, column: usize, from: usize, to: usize) -> usize {
        let layout = &self.layout;
        match self.columns[column] {
            Column::Instance(i) => i,
            Column::Active(j) => layout.num_instance + j + to - from,
            Column::Slot(s, offset) => layout.slot_start(s + to - from) + offset,
        }
    }

    /// Row `r` of matrix `m`.
    pub fn row(&self, m: usize, r: usize) -> Vec<(Fr, usize)> {
        match self.source(r) {
            Source::Template { row, from, to } => self.rows[m]
                .row(row)
                .iter()
                .map(|&(coefficient, column)| (coefficient, self.column(column, from, to)))
                .collect(),
            Source::Sum => self.sum[m].clone(),
        }
    }

    /// Every row of matrix `m` on `assignment`, into `out`: each slot's rows
    /// in parallel, straight from the template.
    pub fn evaluate(&self, m: usize, assignment: &[Fr], out: &mut [Fr]) {
        let k = self.k();
        let value = |row: usize, from: usize, to: usize| -> Fr {
            self.rows[m]
                .row(row)
                .iter()
                .map(|&(coefficient, column)| {
                    assignment[self.column(column, from, to)] * coefficient
                })
                .sum()
        };
        let (prefix, rest) = out.split_at_mut(2 * k);
        prefix.par_iter_mut().enumerate().for_each(|(r, v)| {
            if let Source::Template { row, from, to } = self.source(r) {
                *v = value(row, from, to);
            }
        });
        let (first, rest) = rest.split_at_mut(self.first_rows);
        let (middle, sum) = rest.split_at_mut((k - 1) * self.slot_rows);
        let fill = |slot: usize, values: &mut [Fr]| {
            let from = template_slot(slot, k);
            let base = self.template_rows[from];
            for (within, v) in values.iter_mut().enumerate() {
                *v = value(base + within, from, slot);
            }
        };
        rayon::join(
            || fill(0, first),
            || {
                middle
                    .par_chunks_mut(self.slot_rows)
                    .enumerate()
                    .for_each(|(i, values)| fill(i + 1, values))
            },
        );
        sum[0] = crate::groth16::row_value(&self.sum[m], assignment);
    }
}

impl SlotMatrices {
    /// Every row of all three matrices on `assignment`, into `outs` (one
    /// value per constraint each): as [`SlotMatrices::evaluate`] for each,
    /// but each slot's distinct combinations evaluated once ([`SlotPlan`]).
    pub fn evaluate_all<'a>(&self, assignment: &[Fr], outs: [&'a mut [Fr]; 3]) {
        let k = self.k();
        let [a, b, c] = outs;
        let split = |out: &'a mut [Fr]| -> [&'a mut [Fr]; 4] {
            let (prefix, rest) = out.split_at_mut(2 * k);
            let (first, rest) = rest.split_at_mut(self.first_rows);
            let (middle, sum) = rest.split_at_mut((k - 1) * self.slot_rows);
            [prefix, first, middle, sum]
        };
        let [a_prefix, a_first, a_middle, a_sum] = split(a);
        let [b_prefix, b_first, b_middle, b_sum] = split(b);
        let [c_prefix, c_first, c_middle, c_sum] = split(c);
        for (m, prefix) in [a_prefix, b_prefix, c_prefix].into_iter().enumerate() {
            prefix.par_iter_mut().enumerate().for_each(|(r, v)| {
                if let Source::Template { row, from, to } = self.source(r) {
                    *v = self.rows[m]
                        .row(row)
                        .iter()
                        .map(|&(coefficient, column)| {
                            assignment[self.column(column, from, to)] * coefficient
                        })
                        .sum();
                }
            });
        }
        let fill = |slot: usize, outs: [&mut [Fr]; 3]| {
            let from = template_slot(slot, k);
            let plan = &self.plans[from];
            let column = |c: u32| self.column(c as usize, from, slot);
            let values: Vec<Fr> = (0..plan.combinations())
                .map(|i| {
                    let ones =
                        &plan.ones[plan.one_starts[i] as usize..plan.one_starts[i + 1] as usize];
                    let terms =
                        &plan.terms[plan.term_starts[i] as usize..plan.term_starts[i + 1] as usize];
                    let mut sum: Fr = ones.iter().map(|&c| assignment[column(c)]).sum();
                    for &(coefficient, c) in terms {
                        sum += assignment[column(c)] * coefficient;
                    }
                    sum
                })
                .collect();
            for (m, out) in outs.into_iter().enumerate() {
                for (v, &id) in out.iter_mut().zip(&plan.rows[m]) {
                    *v = values[id as usize];
                }
            }
        };
        rayon::join(
            || fill(0, [a_first, b_first, c_first]),
            || {
                a_middle
                    .par_chunks_mut(self.slot_rows)
                    .zip(b_middle.par_chunks_mut(self.slot_rows))
                    .zip(c_middle.par_chunks_mut(self.slot_rows))
                    .enumerate()
                    .for_each(|(i, ((a, b), c))| fill(i + 1, [a, b, c]))
            },
        );
        for (m, sum) in [a_sum, b_sum, c_sum].into_iter().enumerate() {
            sum[0] = crate::groth16::row_value(&self.sum[m], assignment);
        }
    }
}

/// The claim circuit's matrices for `shape`, the same as ark-relations
/// builds, in a fraction of its time and memory. Shapes of up to four slots
/// are built by ark-relations directly.
pub fn claim_matrices(shape: ClaimShape) -> Result<ConstraintMatrices, Groth16Error> {
    let k = shape.slots;
    if k <= TEMPLATE_SLOTS {
        return ConstraintMatrices::of(ClaimCircuit::blank(shape));
    }
    let template = Template::build(shape.depth)?;
    let first_width = template.slot_start(1) - template.slot_start(0);
    let width = template.slot_start(2) - template.slot_start(1);
    let layout = Layout {
        num_instance: template.num_instance,
        slots: k,
        first_width,
        width,
    };
    let first_rows = template.row_start(1) - template.row_start(0);
    let slot_rows = template.row_start(2) - template.row_start(1);
    let num_witnesses = k + first_width + (k - 1) * width;
    let num_constraints = 2 * k + first_rows + (k - 1) * slot_rows + 1;
    let template_rows = (0..=TEMPLATE_SLOTS)
        .map(|s| template.row_start(s))
        .collect();

    // The sum row: every slot's term, each from its template slot's.
    let mut sum: [Vec<(Fr, usize)>; 3] = Default::default();
    for (m, out) in sum.iter_mut().enumerate() {
        for &(coefficient, column) in &template.rows[m][template.row_start(TEMPLATE_SLOTS)] {
            match template.classify(column) {
                Column::Slot(t, offset) => {
                    for s in (0..k).filter(|&s| template_slot(s, k) == t) {
                        out.push((coefficient, layout.column(Column::Slot(s, offset))));
                    }
                }
                Column::Active(j) => {
                    return Err(Groth16Error::KeyMismatch(format!(
                        "the sum row refers to active bit {j}: update prover/src/matrices.rs"
                    )))
                }
                instance => out.push((coefficient, layout.column(instance))),
            }
        }
        out.sort_by_key(|&(_, column)| column);
    }
    let [a, b, c] = &template.rows;
    let rows = [
        SparseMatrix::from_rows(a),
        SparseMatrix::from_rows(b),
        SparseMatrix::from_rows(c),
    ];
    let plans = (0..TEMPLATE_SLOTS)
        .map(|t| {
            let count = if t == 0 { first_rows } else { slot_rows };
            SlotPlan::build(&rows, template.row_start(t), count)
        })
        .collect();
    let slots = SlotMatrices {
        rows,
        columns: template.columns,
        template_rows,
        layout,
        sum,
        first_rows,
        slot_rows,
        plans,
    };
    Ok(ConstraintMatrices::from_slots(
        slots,
        template.num_instance,
        num_constraints,
        num_witnesses,
    ))
}
