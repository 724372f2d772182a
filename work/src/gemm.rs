//! The GEMM kernel: `C = A·B` for int8 matrices `A` (m×k) and `B` (k×n) and
//! the exact integer `C` (m×n), checked with Freivalds' test on challenges
//! drawn after `A`, `B` and `C` are committed.
//!
//! With challenges γ and δ, `r_j = γ^j` and `s_i = δ^i`, the circuit checks
//! `sᵀ·C·r = (sᵀ·A)·(B·r)`, which a wrong `C` passes with probability at most
//! about `(m + n)/|F|` (Schwartz–Zippel on a polynomial of degree m + n − 2
//! in γ and δ). Over the field that is equality of the matrices; since every
//! entry of `A` and `B` is range-checked to [-128, 127], every true entry of
//! `A·B` lies within ±k·2^14, far inside the field, so field equality is
//! integer equality.
//!
//! Layout: one column of first-phase entries `x1`, and three second-phase
//! columns, `x2`, `y` (weights) and `acc` (running sums), in runs of rows,
//! each run a dot product `acc_end = Σ (x1 + x2)·y`:
//! - (a) for each row t of B: `u_t = Σ_j B_tj·γ^j`;
//! - (b) for each column t of A: `d_t = Σ_i A_it·δ^i`;
//! - (c) for each row i of C: `w_i = Σ_j C_ij·γ^j`;
//! - (d) `Σ_i w_i·δ^i` over the `w_i` copied into `x2`;
//! - (e) `Σ_t d_t·u_t` over `d_t` copied into `x2` and `u_t` into `y`;
//!
//! and the ends of (d) and (e) are constrained equal.
//!
//! The public inputs are the Poseidon commitments to `A‖B` and to `C`
//! ([`crate::commitment`]), computed in the circuit from the very cells the
//! check runs on: a fourth first-phase column `pk` packs the entries as it
//! goes (`pk = pk_prev·2^bits + x1 + offset`, restarting every group),
//! and the last `pk` of each group is copied into the Poseidon chain
//! ([`crate::poseidon`]), whose last outputs are the instance's two values.
//! The first-level runs come in commitment order: A's columns, B's rows, C's
//! rows. Packing is injective because the digits are bounded: A and B by the
//! int8 lookup, and C because it equals A·B (checked above), whose entries lie
//! within [−k·16256, k·16384].

use halo2_proofs::circuit::{Cell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{
    Advice, Challenge, Circuit, Column, ConstraintSystem, Error, Expression, FirstPhase, Fixed,
    Instance, SecondPhase, TableColumn,
};
use halo2_proofs::poly::Rotation;

use crate::commitment::{self, Packing, INPUT_TAG, OUTPUT_TAG, RATE};
use crate::poseidon;

/// A matrix shape: `A` is m×k, `B` is k×n, `C` is m×n.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

impl Shape {
    /// Rows the product's check uses: one per entry of A, B and C, plus m + k
    /// (and row 0, left out).
    pub fn rows(&self) -> usize {
        self.k * self.n + self.m * self.k + self.m * self.n + self.m + self.k + 1
    }

    /// Rows the two commitment chains use (in columns of their own, beside
    /// the check's rows).
    pub fn commitment_rows(&self) -> usize {
        let input = Packing::INPUT.elements(self.m * self.k + self.k * self.n);
        let output = Packing::output(self.k).elements(self.m * self.n);
        (input.div_ceil(RATE) + output.div_ceil(RATE)) * poseidon::rows_per_permutation()
    }

    /// The smallest circuit size (log2 of rows) that holds this shape, the
    /// 256-row range table and halo2's blinding rows.
    pub fn circuit_log_size(&self) -> u32 {
        let needed = self.rows().max(self.commitment_rows()).max(256) + 16;
        needed.next_power_of_two().trailing_zeros()
    }
}

/// `C = A·B` over the integers, row-major (`A[i·k + t]`).
pub fn multiply(shape: Shape, a: &[i8], b: &[i8]) -> Vec<i64> {
    let Shape { m, k, n } = shape;
    let mut c = vec![0i64; m * n];
    for i in 0..m {
        for t in 0..k {
            let x = a[i * k + t] as i64;
            for j in 0..n {
                c[i * n + j] += x * b[t * n + j] as i64;
            }
        }
    }
    c
}

/// A signed integer as a field element.
pub fn field(value: i64) -> Fr {
    if value < 0 {
        -Fr::from(value.unsigned_abs())
    } else {
        Fr::from(value as u64)
    }
}

/// Changes to the honest witness that a cheating prover might make, for the
/// soundness tests; `None` in every real proof.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Every weight and running sum zero: both sides of the check become 0.
    ZeroWeights,
    /// A second-phase addend in the first row of C's first run, chosen to
    /// cancel a wrong `C[0][0]` (caught by `x2 = 0` in first-level runs).
    CancelWithX2,
    /// A first-phase addend `v` = [`BALANCE`] in the first row of run (e),
    /// which adds `v·u_0` to the right side: with `C` off by `v·B[0][·]` in
    /// its row 0 the left side grows by exactly as much, for every challenge
    /// (caught by `x1 = 0` in second-level runs).
    BalanceWithX1,
    /// `A[0][0]` raised by 256 in the first-phase column (so no longer an
    /// int8), with `C` raised to match: the product holds in the field, the
    /// range lookup must refuse it. ([`GemmCircuit::public_inputs`] commits
    /// to the raised entry, so that only the lookup stands in the way.)
    WideEntry,
    /// The first packed element of the input one more than its entries
    /// give, and the public input committing to that: a commitment to other
    /// data than the entries checked (caught by the packing gate).
    OtherPacking,
    /// The input chain's last output one more than the permutation gives,
    /// and the public input that value: a commitment the hash did not make
    /// (caught by the Poseidon round gate).
    ForgedCommitment,
}

/// The addend of [`Tamper::BalanceWithX1`].
#[doc(hidden)]
pub const BALANCE: u64 = 7;

/// The witness and shape of one product.
#[derive(Debug, Clone)]
pub struct GemmCircuit {
    pub shape: Shape,
    /// Row-major A, B and C; `None` for key generation.
    pub matrices: Option<(Vec<i8>, Vec<i8>, Vec<i64>)>,
    #[doc(hidden)]
    pub tamper: Option<Tamper>,
}

impl GemmCircuit {
    /// The circuit for `A·B` with the product computed honestly.
    pub fn new(shape: Shape, a: Vec<i8>, b: Vec<i8>) -> Self {
        let c = multiply(shape, &a, &b);
        Self::with_product(shape, a, b, c)
    }

    /// The circuit for a claimed product `C` (which may be wrong: then no
    /// valid proof exists).
    pub fn with_product(shape: Shape, a: Vec<i8>, b: Vec<i8>, c: Vec<i64>) -> Self {
        assert_eq!(a.len(), shape.m * shape.k, "A is m×k");
        assert_eq!(b.len(), shape.k * shape.n, "B is k×n");
        assert_eq!(c.len(), shape.m * shape.n, "C is m×n");
        Self {
            shape,
            matrices: Some((a, b, c)),
            tamper: None,
        }
    }

    /// The first-phase entries as laid out, in commitment order: the input
    /// sequence (A column-major, B row-major) and the output (C row-major),
    /// with a test's tamper applied.
    fn entries(&self) -> Option<(Vec<Fr>, Vec<Fr>)> {
        let (a, b, c) = self.matrices.as_ref()?;
        let mut input: Vec<Fr> = commitment::input_entries(self.shape, a, b)
            .map(|e| field(e as i64))
            .collect();
        if self.tamper == Some(Tamper::WideEntry) {
            input[0] += Fr::from(256u64); // A[0][0] comes first
        }
        Some((input, c.iter().map(|&e| field(e)).collect()))
    }

    /// The public inputs this witness proves: the commitments to its `A‖B`
    /// and its `C` (for an honest product, [`commitment::input_commitment`]
    /// and [`commitment::output_commitment`]); `None` without a witness.
    pub fn public_inputs(&self) -> Option<[Fr; 2]> {
        let (input, output) = self.entries()?;
        let mut input = Packing::INPUT.pack(input);
        if self.tamper == Some(Tamper::OtherPacking) {
            input[0] += Fr::one();
        }
        let output = Packing::output(self.shape.k).pack(output);
        let mut input = commitment::commit_packed(INPUT_TAG, self.shape, &input);
        if self.tamper == Some(Tamper::ForgedCommitment) {
            input += Fr::one();
        }
        Some([
            input,
            commitment::commit_packed(OUTPUT_TAG, self.shape, &output),
        ])
    }
}

#[derive(Debug, Clone)]
pub struct GemmConfig {
    x1: Column<Advice>,
    x2: Column<Advice>,
    y: Column<Advice>,
    acc: Column<Advice>,
    /// A row of a dot-product run.
    q_dot: Column<Fixed>,
    /// The first row of a run (its sum starts here, its weight is 1).
    q_start: Column<Fixed>,
    /// The run's weights are powers of a challenge.
    q_pow: Column<Fixed>,
    /// The powers are of δ (else of γ).
    use_delta: Column<Fixed>,
    /// A first-level run (entries of A, B, C): `x2` must be 0.
    q_first: Column<Fixed>,
    /// A second-level run (sums of the first): `x1` must be 0.
    q_second: Column<Fixed>,
    /// `x1` is an entry of A or B: it must be an int8.
    q_range: Column<Fixed>,
    int8: TableColumn,
    gamma: Challenge,
    delta: Challenge,
    /// Running packing of the entries for the commitments.
    pk: Column<Advice>,
    /// `2^bits` within a group, 0 at a group's first entry.
    pack_shift: Column<Fixed>,
    /// The packing's offset, which makes every digit non-negative.
    pack_offset: Column<Fixed>,
    poseidon: poseidon::Chip,
    /// The commitments to `A‖B` and to `C`, in that order.
    instance: Column<Instance>,
}

impl Circuit<Fr> for GemmCircuit {
    type Config = GemmConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        Self {
            shape: self.shape,
            matrices: None,
            tamper: None,
        }
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> GemmConfig {
        let x1 = meta.advice_column_in(FirstPhase);
        let gamma = meta.challenge_usable_after(FirstPhase);
        let delta = meta.challenge_usable_after(FirstPhase);
        let [x2, y, acc] = [(); 3].map(|_| meta.advice_column_in(SecondPhase));
        let [q_dot, q_start, q_pow, use_delta, q_first, q_second, q_range] =
            [(); 7].map(|_| meta.fixed_column());
        let int8 = meta.lookup_table_column();
        let pk = meta.advice_column_in(FirstPhase);
        let [pack_shift, pack_offset] = [(); 2].map(|_| meta.fixed_column());
        let instance = meta.instance_column();
        let constants = meta.fixed_column();
        meta.enable_constant(constants);
        for column in [x2, y, acc, pk] {
            meta.enable_equality(column);
        }
        meta.enable_equality(instance);
        let poseidon = poseidon::Chip::configure(meta);
        let one = || Expression::Constant(Fr::one());

        // Why: each run's sum is exactly Σ (x1 + x2)·y from its first row,
        // so no prover-chosen offset enters a sum.
        meta.create_gate("running dot product", |meta| {
            let q = meta.query_fixed(q_dot, Rotation::cur());
            let start = meta.query_fixed(q_start, Rotation::cur());
            let x = meta.query_advice(x1, Rotation::cur()) + meta.query_advice(x2, Rotation::cur());
            let y = meta.query_advice(y, Rotation::cur());
            let acc_cur = meta.query_advice(acc, Rotation::cur());
            let acc_prev = meta.query_advice(acc, Rotation::prev());
            vec![q * (acc_cur - (one() - start) * acc_prev - x * y)]
        });
        // Why: the weights are the challenge's powers 1, c, c², ...; weights
        // of the prover's choosing (all zero, say) would make the test vacuous.
        meta.create_gate("weights are powers of the challenge", |meta| {
            let q = meta.query_fixed(q_pow, Rotation::cur());
            let start = meta.query_fixed(q_start, Rotation::cur());
            let by_delta = meta.query_fixed(use_delta, Rotation::cur());
            let y_cur = meta.query_advice(y, Rotation::cur());
            let y_prev = meta.query_advice(y, Rotation::prev());
            let challenge = by_delta.clone() * delta.expr() + (one() - by_delta) * gamma.expr();
            vec![
                q * (start.clone() * (y_cur.clone() - one())
                    + (one() - start) * (y_cur - y_prev * challenge)),
            ]
        });
        // Why: first-level runs sum committed entries only; a second-phase
        // addend there could cancel a wrong entry of C.
        meta.create_gate("no second-phase addend in first-level runs", |meta| {
            let q = meta.query_fixed(q_first, Rotation::cur());
            vec![q * meta.query_advice(x2, Rotation::cur())]
        });
        // Why: second-level runs sum copies of first-level results only; a
        // first-phase addend there could balance the final check.
        meta.create_gate("no first-phase addend in second-level runs", |meta| {
            let q = meta.query_fixed(q_second, Rotation::cur());
            vec![q * meta.query_advice(x1, Rotation::cur())]
        });
        // Why: the integer reading of C = A·B needs |A|, |B| ≤ 128 (see the
        // module's note); the table holds -128..=127.
        meta.lookup("entries of A and B are int8", |meta| {
            let q = meta.query_fixed(q_range, Rotation::cur());
            let x = meta.query_advice(x1, Rotation::cur());
            vec![(q * x, int8)]
        });
        // Why: the commitments must be of the entries checked here, not of
        // others; each group's last `pk` is the packed element the chain takes.
        meta.create_gate("entries are packed as they are checked", |meta| {
            let q = meta.query_fixed(q_first, Rotation::cur());
            let shift = meta.query_fixed(pack_shift, Rotation::cur());
            let offset = meta.query_fixed(pack_offset, Rotation::cur());
            let pk_cur = meta.query_advice(pk, Rotation::cur());
            let pk_prev = meta.query_advice(pk, Rotation::prev());
            let x = meta.query_advice(x1, Rotation::cur());
            vec![q * (pk_cur - pk_prev * shift - x - offset)]
        });
        GemmConfig {
            x1,
            x2,
            y,
            acc,
            q_dot,
            q_start,
            q_pow,
            use_delta,
            q_first,
            q_second,
            q_range,
            int8,
            gamma,
            delta,
            pk,
            pack_shift,
            pack_offset,
            poseidon,
            instance,
        }
    }

    fn synthesize(&self, config: GemmConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        layouter.assign_table(
            || "int8",
            |mut table| {
                for (row, value) in (-128i64..=127).enumerate() {
                    table.assign_cell(
                        || "int8",
                        config.int8,
                        row,
                        || Value::known(field(value)),
                    )?;
                }
                Ok(())
            },
        )?;
        let Shape { m, k, n } = self.shape;
        let matrices = self.matrices.as_ref();
        let entries = self.entries();
        let known = |value: Option<Fr>| value.map_or(Value::unknown(), Value::known);
        let input = |index: usize| known(entries.as_ref().map(|(input, _)| input[index]));
        let output = |index: usize| known(entries.as_ref().map(|(_, output)| output[index]));
        let tamper = self.tamper;

        let (input_elements, output_elements) = layouter.assign_region(
            || "gemm",
            |mut region| {
                // First-level runs, in commitment order: A's columns (δ), B's
                // rows (γ), C's rows (γ). Each entry: its value and the run's kind.
                struct Run {
                    entries: Vec<Value<Fr>>,
                    by_delta: bool,
                    range: bool,
                }
                let mut runs = Vec::new();
                for t in 0..k {
                    runs.push(Run {
                        entries: (0..m).map(|i| input(t * m + i)).collect(),
                        by_delta: true,
                        range: true,
                    });
                }
                for t in 0..k {
                    runs.push(Run {
                        entries: (0..n).map(|j| input(m * k + t * n + j)).collect(),
                        by_delta: false,
                        range: true,
                    });
                }
                for i in 0..m {
                    runs.push(Run {
                        entries: (0..n).map(|j| output(i * n + j)).collect(),
                        by_delta: false,
                        range: false,
                    });
                }

                // Fixed columns and the first phase, packing as it goes: the
                // input sequence is the first 2k runs, the output the rest.
                let mut row = 1; // row 0 is left out: runs read acc at row - 1
                let mut starts = Vec::new();
                let mut packed: [Vec<(Cell, Value<Fr>)>; 2] = [Vec::new(), Vec::new()];
                let mut pk = Value::known(Fr::zero());
                let mut in_group = 0;
                for (index, run) in runs.iter().enumerate() {
                    starts.push(row);
                    let sequence = usize::from(index >= 2 * k);
                    let packing = if sequence == 0 {
                        Packing::INPUT
                    } else {
                        Packing::output(k)
                    };
                    let (base, offset_value) = (packing.base(), packing.offset());
                    // The last run of a sequence closes its last group.
                    let last_run = index + 1 == 2 * k || index + 1 == runs.len();
                    for (offset, entry) in run.entries.iter().enumerate() {
                        let at = row + offset;
                        let shift = if in_group == 0 { Fr::zero() } else { base };
                        region.assign_fixed(config.pack_shift, at, shift);
                        region.assign_fixed(config.pack_offset, at, offset_value);
                        pk = pk * Value::known(shift) + *entry + Value::known(offset_value);
                        in_group += 1;
                        let closes = in_group == packing.group
                            || (last_run && offset + 1 == run.entries.len());
                        if closes
                            && tamper == Some(Tamper::OtherPacking)
                            && sequence == 0
                            && packed[0].is_empty()
                        {
                            pk = pk + Value::known(Fr::one());
                        }
                        let cell = region.assign_advice(config.pk, at, pk).cell();
                        if closes {
                            packed[sequence].push((cell, pk));
                            in_group = 0;
                        }
                        region.assign_fixed(config.q_dot, at, Fr::one());
                        region.assign_fixed(config.q_pow, at, Fr::one());
                        region.assign_fixed(config.q_first, at, Fr::one());
                        if offset == 0 {
                            region.assign_fixed(config.q_start, at, Fr::one());
                        }
                        if run.by_delta {
                            region.assign_fixed(config.use_delta, at, Fr::one());
                        }
                        if run.range {
                            region.assign_fixed(config.q_range, at, Fr::one());
                        }
                        region.assign_advice(config.x1, at, *entry);
                    }
                    row += run.entries.len();
                }
                // Second-level runs: (d) m rows with δ powers, (e) k rows.
                let d_start = row;
                let e_start = d_start + m;
                // A cheater's first-phase addend in run (e) (`Tamper::BalanceWithX1`).
                let balance = match tamper {
                    Some(Tamper::BalanceWithX1) => Fr::from(BALANCE),
                    _ => Fr::zero(),
                };
                for at in d_start..e_start + k {
                    region.assign_fixed(config.q_dot, at, Fr::one());
                    region.assign_fixed(config.q_second, at, Fr::one());
                    let x1 = if at == e_start { balance } else { Fr::zero() };
                    region.assign_advice(config.x1, at, Value::known(x1));
                }
                for at in d_start..e_start {
                    region.assign_fixed(config.q_pow, at, Fr::one());
                    region.assign_fixed(config.use_delta, at, Fr::one());
                }
                region.assign_fixed(config.q_start, d_start, Fr::one());
                region.assign_fixed(config.q_start, e_start, Fr::one());

                region.next_phase();
                let gamma = region.get_challenge(config.gamma);
                let delta = region.get_challenge(config.delta);

                let zero_weights = tamper == Some(Tamper::ZeroWeights);
                let mut ends: Vec<(Cell, Value<Fr>)> = Vec::new();
                for (run, &start) in runs.iter().zip(&starts) {
                    let ratio = if run.by_delta { delta } else { gamma };
                    let mut weight = Value::known(Fr::one());
                    let mut sum = Value::known(Fr::zero());
                    let mut last = None;
                    for (offset, entry) in run.entries.iter().enumerate() {
                        let at = start + offset;
                        let x = *entry;
                        let mut x2 = Value::known(Fr::zero());
                        if tamper == Some(Tamper::CancelWithX2)
                            && start == starts[2 * k]
                            && offset == 0
                        {
                            // Cancel whatever C[0][0] is off by: (A·B)_00 − C_00.
                            if let Some((a, b, c)) = matrices {
                                let honest: i64 =
                                    (0..k).map(|t| a[t] as i64 * b[t * n] as i64).sum();
                                x2 = Value::known(field(honest - c[0]));
                            }
                        }
                        let y = if zero_weights {
                            Value::known(Fr::zero())
                        } else {
                            weight
                        };
                        sum = if zero_weights {
                            Value::known(Fr::zero())
                        } else {
                            sum + (x + x2) * y
                        };
                        region.assign_advice(config.x2, at, x2);
                        region.assign_advice(config.y, at, y);
                        last = Some(region.assign_advice(config.acc, at, sum).cell());
                        weight = weight * ratio;
                    }
                    ends.push((last.expect("runs are not empty"), sum));
                }
                let (d, rest) = ends.split_at(k);
                let (u, w) = rest.split_at(k);

                // (d) Σ_i w_i·δ^i.
                let mut weight = Value::known(Fr::one());
                let mut total_c = Value::known(Fr::zero());
                let mut total_c_cell = None;
                for (i, (cell, value)) in w.iter().enumerate() {
                    let at = d_start + i;
                    let y = if zero_weights {
                        Value::known(Fr::zero())
                    } else {
                        weight
                    };
                    total_c = if zero_weights {
                        Value::known(Fr::zero())
                    } else {
                        total_c + *value * y
                    };
                    let x2 = region.assign_advice(config.x2, at, *value);
                    region.constrain_equal(x2.cell(), *cell);
                    region.assign_advice(config.y, at, y);
                    total_c_cell = Some(region.assign_advice(config.acc, at, total_c).cell());
                    weight = weight * delta;
                }
                // (e) Σ_t d_t·u_t.
                let mut total_ab = Value::known(Fr::zero());
                let mut total_ab_cell = None;
                for t in 0..k {
                    let at = e_start + t;
                    let extra = Value::known(if t == 0 { balance } else { Fr::zero() });
                    total_ab = total_ab + (d[t].1 + extra) * u[t].1;
                    let x2 = region.assign_advice(config.x2, at, d[t].1);
                    region.constrain_equal(x2.cell(), d[t].0);
                    let y = region.assign_advice(config.y, at, u[t].1);
                    region.constrain_equal(y.cell(), u[t].0);
                    total_ab_cell = Some(region.assign_advice(config.acc, at, total_ab).cell());
                }
                // Why: this is Freivalds' equation sᵀ·C·r = (sᵀ·A)·(B·r).
                region.constrain_equal(total_c_cell.expect("m > 0"), total_ab_cell.expect("k > 0"));
                let [input, output] = packed;
                Ok((input, output))
            },
        )?;

        let shape = self.shape;
        let commitments = layouter.assign_region(
            || "commitments",
            |mut region| {
                let (input, _, row) = config.poseidon.chain(
                    &mut region,
                    0,
                    commitment::chain_start(INPUT_TAG, shape),
                    &input_elements,
                    tamper == Some(Tamper::ForgedCommitment),
                )?;
                let (output, _, _) = config.poseidon.chain(
                    &mut region,
                    row,
                    commitment::chain_start(OUTPUT_TAG, shape),
                    &output_elements,
                    false,
                )?;
                Ok([input, output])
            },
        )?;
        // Why: the public inputs are these commitments, so a proof speaks of
        // the matrices a receipt commits to.
        for (row, cell) in commitments.into_iter().enumerate() {
            layouter.constrain_instance(cell, config.instance, row);
        }
        Ok(())
    }
}
