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
use proofmint_circuits::claim::{ClaimCircuit, ClaimShape, SynthesisMark};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

use crate::groth16::{ConstraintMatrices, Groth16Error, SparseMatrix};
use proofmint_circuits::codec::{put_fr, DecodeError, Reader};

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
#[derive(Debug, Default, PartialEq, Eq)]
struct Marks {
    /// (rows, witnesses) at the start of each slot.
    slots: Vec<(usize, usize)>,
    /// (rows, witnesses) after the last slot.
    end: (usize, usize),
}

#[derive(Debug, PartialEq, Eq)]
struct Template {
    rows: [SparseMatrix; 3],
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
            rows: [&a, &b, &c].map(SparseMatrix::from_rows),
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
    claim_matrices_cached(shape, None).map(|(matrices, _)| matrices)
}

/// Where a key's matrices came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatricesOrigin {
    /// Synthesized from the circuit in this process.
    Built,
    /// Made from the template kept in this file ([`claim_matrices_cached`]).
    Cached(PathBuf),
}

/// [`claim_matrices`], with the template kept in `cache` (a directory) from
/// one process to the next: synthesizing the four-slot template through
/// ark-relations is most of a 16-slot one-shot proof's start (about 0.2 s
/// of its 1 s on the reference machine), and reading it back takes a few
/// milliseconds.
///
/// The file is named for the depth and for this executable (its size and
/// modification time), so another build of proofmint never reads it; it
/// ends in its SHA-256, and is decoded with every length bounded, every
/// coefficient canonical and every column in range ([`TemplateFileError`]).
/// A file that fails any check is built again and replaced. Nothing read
/// from it is trusted for soundness: every proof is verified before it
/// leaves the prover, and a proof made from a cached template that does not
/// verify is made again from a fresh one ([`crate::prove::prove_claim`]).
pub fn claim_matrices_cached(
    shape: ClaimShape,
    cache: Option<&Path>,
) -> Result<(ConstraintMatrices, MatricesOrigin), Groth16Error> {
    let k = shape.slots;
    if k <= TEMPLATE_SLOTS {
        return Ok((
            ConstraintMatrices::of(ClaimCircuit::blank(shape))?,
            MatricesOrigin::Built,
        ));
    }
    let (template, origin) = match cache.zip(template_file_name(shape.depth)) {
        Some((dir, name)) => cached_template(dir, &name, shape.depth)?,
        None => (Template::build(shape.depth)?, MatricesOrigin::Built),
    };
    Ok((from_template(shape, template)?, origin))
}

/// The claim circuit's matrices for `shape` (more than four slots) from
/// the four-slot template.
fn from_template(
    shape: ClaimShape,
    template: Template,
) -> Result<ConstraintMatrices, Groth16Error> {
    let k = shape.slots;
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
    let template_rows: Vec<usize> = (0..=TEMPLATE_SLOTS)
        .map(|s| template.row_start(s))
        .collect();

    // The sum row: every slot's term, each from its template slot's.
    let mut sum: [Vec<(Fr, usize)>; 3] = Default::default();
    for (m, out) in sum.iter_mut().enumerate() {
        for &(coefficient, column) in template.rows[m].row(template.row_start(TEMPLATE_SLOTS)) {
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
    let Template {
        rows,
        columns,
        num_instance,
        ..
    } = template;
    let plans = (0..TEMPLATE_SLOTS)
        .into_par_iter()
        .map(|t| {
            let count = if t == 0 { first_rows } else { slot_rows };
            SlotPlan::build(&rows, template_rows[t], count)
        })
        .collect();
    let slots = SlotMatrices {
        rows,
        columns,
        template_rows,
        layout,
        sum,
        first_rows,
        slot_rows,
        plans,
    };
    Ok(ConstraintMatrices::from_slots(
        slots,
        num_instance,
        num_constraints,
        num_witnesses,
    ))
}

/// Why a cached template file was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateFileError {
    /// Magic, version, a truncated field or count, trailing bytes.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("its checksum does not match: the file is damaged")]
    Checksum,
    #[error("it is the template for depth {found}, not {expected}")]
    Depth { expected: usize, found: usize },
    #[error("coefficient {0} is not a canonical field element")]
    NonCanonical(usize),
    #[error("a term names coefficient {0}, past the table")]
    Coefficient(u32),
    #[error("a term names column {0}, past the template's columns")]
    Column(u32),
    #[error("its matrices have {a}, {b} and {c} rows, not {expected} each")]
    Rows {
        a: usize,
        b: usize,
        c: usize,
        expected: usize,
    },
    #[error("its layout is not the claim circuit's: {0}")]
    Layout(String),
    #[error("it is too large for this format")]
    TooLarge,
}

/// A template file's magic and version ([`proofmint_circuits::codec`]'s header).
const TEMPLATE_MAGIC: &[u8; 4] = b"PMCT";
const TEMPLATE_VERSION: u8 = 1;
const TEMPLATE_FILE: &str = "claim template";

/// The template file's name for `depth` in this executable: another build
/// (whose circuit may differ) names another file. None where the
/// executable cannot be found, which goes without a cache.
fn template_file_name(depth: usize) -> Option<String> {
    use sha2::{Digest, Sha256};
    let exe = std::env::current_exe().ok()?;
    let meta = std::fs::metadata(&exe).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let mut hash = Sha256::new();
    hash.update(env!("CARGO_PKG_VERSION"));
    hash.update(exe.as_os_str().as_encoded_bytes());
    hash.update(meta.len().to_le_bytes());
    hash.update(modified.as_nanos().to_le_bytes());
    let build = hex::encode(&hash.finalize()[..8]);
    Some(format!("claim-template-depth{depth}-{build}.bin"))
}

/// The template for `depth` from `dir`, or built (and written there, best
/// effort: a cache that cannot be written costs the next start its time).
fn cached_template(
    dir: &Path,
    name: &str,
    depth: usize,
) -> Result<(Template, MatricesOrigin), Groth16Error> {
    let path = dir.join(name);
    match std::fs::read(&path) {
        Ok(bytes) => match Template::from_bytes(&bytes, depth) {
            Ok(template) => return Ok((template, MatricesOrigin::Cached(path))),
            Err(e) => eprintln!(
                "note: building the claim template again: {}: {e}",
                path.display()
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => eprintln!("note: cannot read {}: {e}", path.display()),
    }
    let template = Template::build(depth)?;
    let written = template.to_bytes(depth).and_then(|bytes| {
        std::fs::create_dir_all(dir)?;
        // Written whole under a name of this process's, then renamed: a file
        // of the template's name is complete or absent, whoever else writes it.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nth = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let partial = dir.join(format!("{name}.{}-{nth}.partial", std::process::id()));
        std::fs::write(&partial, bytes)?;
        std::fs::rename(&partial, &path)?;
        // Templates of the same depth from other builds will not be read again.
        let stale = format!("claim-template-depth{depth}-");
        for entry in std::fs::read_dir(dir)?.flatten() {
            let file = entry.file_name();
            let file = file.to_string_lossy();
            if file.starts_with(&stale) && file != name && !file.ends_with(".partial") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(())
    });
    if let Err(e) = written {
        eprintln!(
            "note: cannot keep the claim template in {}: {e}",
            dir.display()
        );
    }
    Ok((template, MatricesOrigin::Built))
}

/// Forgets a cached template that gave a proof that does not verify, so
/// that the next start builds it again.
pub fn discard_cached(origin: &MatricesOrigin) {
    if let MatricesOrigin::Cached(path) = origin {
        let _ = std::fs::remove_file(path);
    }
}

impl Template {
    /// The file form: magic, depth, the layout, a table of the distinct
    /// coefficients, each matrix's rows as (coefficient, column) indices,
    /// and the SHA-256 of all of it.
    fn to_bytes(&self, depth: usize) -> std::io::Result<Vec<u8>> {
        use sha2::{Digest, Sha256};
        use std::collections::HashMap;
        let index = |v: usize| {
            u32::try_from(v).map_err(|_| std::io::Error::other(TemplateFileError::TooLarge))
        };
        let word = |v: usize| index(v).map(u32::to_be_bytes);
        let mut table: HashMap<Fr, u32> = HashMap::new();
        let mut coefficients: Vec<Fr> = Vec::new();
        let mut body = Vec::new();
        for rows in &self.rows {
            body.extend(word(rows.len())?);
            for row in rows.rows() {
                body.extend(word(row.len())?);
                for &(coefficient, column) in row {
                    let next = index(coefficients.len())?;
                    let id = *table.entry(coefficient).or_insert_with(|| {
                        coefficients.push(coefficient);
                        next
                    });
                    body.extend(id.to_be_bytes());
                    body.extend(word(column)?);
                }
            }
        }
        let mut out = TEMPLATE_MAGIC.to_vec();
        out.push(TEMPLATE_VERSION);
        for v in [
            depth,
            self.num_instance,
            self.witnesses,
            self.marks.slots.len(),
        ] {
            out.extend(word(v)?);
        }
        for &(rows, witnesses) in self.marks.slots.iter().chain([&self.marks.end]) {
            out.extend(word(rows)?);
            out.extend(word(witnesses)?);
        }
        out.extend(word(coefficients.len())?);
        for c in &coefficients {
            put_fr(&mut out, c);
        }
        out.extend(body);
        let digest = Sha256::digest(&out);
        out.extend(digest);
        Ok(out)
    }

    /// A template from [`Self::to_bytes`]'s form, for `depth`, checked as
    /// the module's builder checks its own ([`Self::check`]).
    fn from_bytes(bytes: &[u8], depth: usize) -> Result<Self, TemplateFileError> {
        use sha2::{Digest, Sha256};
        Reader::new(bytes).header(TEMPLATE_FILE, TEMPLATE_MAGIC, TEMPLATE_VERSION)?;
        let body = bytes
            .len()
            .checked_sub(32)
            .filter(|&n| n > TEMPLATE_MAGIC.len());
        let Some(body) = body else {
            return Err(DecodeError::Truncated {
                field: "checksum",
                needed: 32,
                available: bytes.len() - TEMPLATE_MAGIC.len() - 1,
            }
            .into());
        };
        let (bytes, digest) = bytes.split_at(body);
        if Sha256::digest(bytes).as_slice() != digest {
            return Err(TemplateFileError::Checksum);
        }
        let mut r = Reader::new(&bytes[TEMPLATE_MAGIC.len() + 1..]);
        let found = r.u32("depth")? as usize;
        if found != depth {
            return Err(TemplateFileError::Depth {
                expected: depth,
                found,
            });
        }
        let num_instance = r.u32("instance columns")? as usize;
        let witnesses = r.u32("witness columns")? as usize;
        let slots = r.count("slot marks", 8)?;
        let mut mark = || -> Result<(usize, usize), DecodeError> {
            Ok((r.u32("mark")? as usize, r.u32("mark")? as usize))
        };
        let mut marks = Marks {
            slots: (0..slots).map(|_| mark()).collect::<Result<_, _>>()?,
            end: (0, 0),
        };
        marks.end = mark()?;
        let count = r.count("coefficients", 32)?;
        let coefficients = (0..count)
            .map(|i| {
                r.fr("coefficient").map_err(|e| match e {
                    DecodeError::Field { .. } => TemplateFileError::NonCanonical(i),
                    e => e.into(),
                })
            })
            .collect::<Result<Vec<Fr>, _>>()?;
        let columns = num_instance
            .checked_add(witnesses)
            .ok_or(TemplateFileError::TooLarge)?;
        let mut matrices = Vec::with_capacity(3);
        for _ in 0..3 {
            let count = r.count("rows", 4)?;
            let mut lengths = Vec::with_capacity(count);
            let mut terms = Vec::new();
            for _ in 0..count {
                let len = r.count("terms", 8)?;
                lengths.push(len as u32);
                terms.reserve(len);
                for _ in 0..len {
                    let id = r.u32("coefficient index")?;
                    let column = r.u32("column")?;
                    let coefficient = *coefficients
                        .get(id as usize)
                        .ok_or(TemplateFileError::Coefficient(id))?;
                    if column as usize >= columns {
                        return Err(TemplateFileError::Column(column));
                    }
                    terms.push((coefficient, column as usize));
                }
            }
            matrices
                .push(SparseMatrix::from_flat(terms, &lengths).ok_or(TemplateFileError::TooLarge)?);
        }
        let matrices: [SparseMatrix; 3] = matrices.try_into().expect("three");
        r.finish(TEMPLATE_FILE)?;
        // Marks in order (each slot starts no earlier than the one before, and
        // the end after them all), so that the builder's differences of marks
        // cannot wrap.
        let ordered = marks
            .slots
            .iter()
            .chain([&marks.end])
            .zip(marks.slots.iter().skip(1).chain([&marks.end]))
            .all(|(a, b)| a.0 <= b.0 && a.1 <= b.1);
        if !ordered {
            return Err(TemplateFileError::Layout(format!(
                "marks out of order: {marks:?}"
            )));
        }
        let expected = marks.end.0 + 1;
        let [a, b, c] = matrices.each_ref().map(SparseMatrix::len);
        if marks.slots.len() != TEMPLATE_SLOTS || [a, b, c] != [expected; 3] {
            return Err(TemplateFileError::Rows { a, b, c, expected });
        }
        let mut template = Self {
            rows: matrices,
            num_instance,
            marks,
            witnesses,
            columns: Vec::new(),
        };
        template
            .check()
            .map_err(|e| TemplateFileError::Layout(e.to_string()))?;
        template.columns = (0..columns).map(|column| template.find(column)).collect();
        Ok(template)
    }
}

#[cfg(test)]
mod tests {
    //! The template file's decoder against damaged and hostile files: each
    //! is refused with its own error, and none allocates for a length it
    //! has not checked against the bytes it holds.
    use super::*;
    use sha2::{Digest, Sha256};

    const DEPTH: usize = 3;

    /// Offsets in the file: the slot count, slot 0's and slot 1's first
    /// rows, the coefficient count and the first coefficient (after the
    /// five header bytes, depth, instance and witness columns).
    const SLOTS: usize = 17;
    const SLOT0_ROWS: usize = 21;
    const SLOT1_ROWS: usize = 29;
    const COEFFICIENTS: usize = 61;
    const FIRST_COEFFICIENT: usize = 65;

    /// The file's body (without its checksum) and the offset of the first
    /// matrix (after the coefficient table).
    fn body() -> (Vec<u8>, usize) {
        let template = Template::build(DEPTH).unwrap();
        let mut bytes = template.to_bytes(DEPTH).unwrap();
        bytes.truncate(bytes.len() - 32);
        let count = read(&bytes, COEFFICIENTS) as usize;
        (bytes, FIRST_COEFFICIENT + 32 * count)
    }

    fn read(bytes: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    /// `body` with a checksum that matches it: what a file written on
    /// purpose would look like.
    fn sealed(mut body: Vec<u8>) -> Vec<u8> {
        let digest = Sha256::digest(&body);
        body.extend(digest);
        body
    }

    fn decode(bytes: &[u8]) -> Result<Template, TemplateFileError> {
        Template::from_bytes(bytes, DEPTH)
    }

    fn put(bytes: &mut [u8], at: usize, value: u32) {
        bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
    }

    #[test]
    fn a_template_reads_back_equal() {
        let template = Template::build(DEPTH).unwrap();
        let bytes = template.to_bytes(DEPTH).unwrap();
        assert_eq!(decode(&bytes).unwrap(), template);
        // Another depth's file is not this depth's template.
        assert_eq!(
            Template::from_bytes(&bytes, DEPTH + 1).unwrap_err(),
            TemplateFileError::Depth {
                expected: DEPTH + 1,
                found: DEPTH
            }
        );
    }

    #[test]
    fn damaged_files_are_refused() {
        let (body, _) = body();
        let good = sealed(body.clone());
        // One flipped bit anywhere: the checksum.
        for at in [9, 70, good.len() / 2, good.len() - 40, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 4;
            assert_eq!(
                decode(&bad).unwrap_err(),
                TemplateFileError::Checksum,
                "bit at {at}"
            );
        }
        // Cut short, or another file altogether.
        assert_eq!(
            decode(&good[..good.len() - 1]).unwrap_err(),
            TemplateFileError::Checksum
        );
        assert!(matches!(
            decode(&good[..20]).unwrap_err(),
            TemplateFileError::Decode(DecodeError::Truncated {
                field: "checksum",
                ..
            })
        ));
        assert!(matches!(
            decode(b"").unwrap_err(),
            TemplateFileError::Decode(DecodeError::Truncated { field: "magic", .. })
        ));
        let mut other = good.clone();
        other[0] = b'X'; // another file
        assert!(matches!(
            decode(&other).unwrap_err(),
            TemplateFileError::Decode(DecodeError::BadMagic { .. })
        ));
        let mut other = good.clone();
        other[4] = 2; // a later version of the format
        assert!(matches!(
            decode(&other).unwrap_err(),
            TemplateFileError::Decode(DecodeError::UnknownVersion { found: 2, .. })
        ));
        // A body that ends early under a checksum of its own.
        assert!(matches!(
            decode(&sealed(body[..body.len() - 3].to_vec())).unwrap_err(),
            TemplateFileError::Decode(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn hostile_files_with_good_checksums_are_refused() {
        let (body, matrices) = body();
        let first_term = matrices + 8; // A's row count, its first row's length
        let hostile = |at: usize, value: u32| {
            let mut bytes = body.clone();
            put(&mut bytes, at, value);
            decode(&sealed(bytes)).unwrap_err()
        };
        // Lengths past what the file holds, before anything is allocated.
        assert!(matches!(
            hostile(COEFFICIENTS, u32::MAX),
            TemplateFileError::Decode(DecodeError::Truncated {
                field: "coefficients",
                ..
            })
        ));
        assert!(matches!(
            hostile(matrices, u32::MAX),
            TemplateFileError::Decode(DecodeError::Truncated { field: "rows", .. })
        ));
        assert!(matches!(
            hostile(matrices + 4, u32::MAX),
            TemplateFileError::Decode(DecodeError::Truncated { field: "terms", .. })
        ));
        assert!(matches!(
            hostile(SLOTS, u32::MAX),
            TemplateFileError::Decode(DecodeError::Truncated {
                field: "slot marks",
                ..
            })
        ));
        // Indices past their tables.
        assert_eq!(
            hostile(first_term, u32::MAX),
            TemplateFileError::Coefficient(u32::MAX)
        );
        assert_eq!(
            hostile(first_term + 4, 1 << 30),
            TemplateFileError::Column(1 << 30)
        );
        // A coefficient that is not a canonical field element (the modulus).
        let mut bytes = body.clone();
        let modulus = <Fr as ark_ff::PrimeField>::MODULUS.0;
        for (i, limb) in modulus.iter().rev().enumerate() {
            let at = FIRST_COEFFICIENT + 8 * i;
            bytes[at..at + 8].copy_from_slice(&limb.to_be_bytes());
        }
        assert_eq!(
            decode(&sealed(bytes)).unwrap_err(),
            TemplateFileError::NonCanonical(0)
        );
        // Marks out of order: slot 1 starting before slot 0.
        assert!(matches!(
            hostile(SLOT1_ROWS, 0),
            TemplateFileError::Layout(_)
        ));
        // A layout the claim circuit does not have: slot 0 not after the
        // active bits' rows.
        let rows0 = read(&body, SLOT0_ROWS);
        assert!(matches!(
            hostile(SLOT0_ROWS, rows0 - 1),
            TemplateFileError::Layout(_)
        ));
        // Bytes after the template.
        let mut longer = body.clone();
        longer.push(0);
        assert_eq!(
            decode(&sealed(longer)).unwrap_err(),
            TemplateFileError::Decode(DecodeError::TrailingBytes {
                artifact: TEMPLATE_FILE,
                count: 1
            })
        );
    }
}
