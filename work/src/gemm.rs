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
//! Not yet here (see the issue): the Poseidon commitments to `A‖B` and `C`
//! as public inputs, which bind the proof to a receipt. Until then a proof
//! says that some int8 `A`, `B` and some `C` satisfy `C = A·B`, which is what
//! the tests below check, including against witnesses tampered with directly.

use halo2_proofs::circuit::{Cell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{
    Advice, Challenge, Circuit, Column, ConstraintSystem, Error, Expression, FirstPhase, Fixed,
    SecondPhase, TableColumn,
};
use halo2_proofs::poly::Rotation;

/// A matrix shape: `A` is m×k, `B` is k×n, `C` is m×n.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

impl Shape {
    /// Rows the layout uses: one per entry of A, B and C, plus m + k.
    pub fn rows(&self) -> usize {
        self.k * self.n + self.m * self.k + self.m * self.n + self.m + self.k
    }

    /// The smallest circuit size (log2 of rows) that holds this shape, the
    /// 256-row range table and halo2's blinding rows.
    pub fn circuit_log_size(&self) -> u32 {
        let needed = self.rows().max(256) + 16;
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
    /// range lookup must refuse it.
    WideEntry,
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
        for column in [x2, y, acc] {
            meta.enable_equality(column);
        }
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
        let known = |value: Option<Fr>| value.map_or(Value::unknown(), Value::known);
        let a = |i: usize, t: usize| known(matrices.map(|(a, _, _)| field(a[i * k + t] as i64)));
        let b = |t: usize, j: usize| known(matrices.map(|(_, b, _)| field(b[t * n + j] as i64)));
        let c = |i: usize, j: usize| known(matrices.map(|(_, _, c)| field(c[i * n + j])));
        let tamper = self.tamper;

        layouter.assign_region(
            || "gemm",
            |mut region| {
                // First-level runs, in order: B's rows (γ), A's columns (δ),
                // C's rows (γ). Each entry: its value and the run's kind.
                struct Run {
                    entries: Vec<Value<Fr>>,
                    by_delta: bool,
                    range: bool,
                }
                let mut runs = Vec::new();
                for t in 0..k {
                    runs.push(Run {
                        entries: (0..n).map(|j| b(t, j)).collect(),
                        by_delta: false,
                        range: true,
                    });
                }
                for t in 0..k {
                    runs.push(Run {
                        entries: (0..m).map(|i| a(i, t)).collect(),
                        by_delta: true,
                        range: true,
                    });
                }
                for i in 0..m {
                    runs.push(Run {
                        entries: (0..n).map(|j| c(i, j)).collect(),
                        by_delta: false,
                        range: false,
                    });
                }

                if tamper == Some(Tamper::WideEntry) {
                    // A[0][0] heads A's first column run (run k).
                    runs[k].entries[0] = runs[k].entries[0] + Value::known(Fr::from(256u64));
                }

                // Fixed columns and the first phase.
                let mut row = 1; // row 0 is left out: runs read acc at row - 1
                let mut starts = Vec::new();
                for run in &runs {
                    starts.push(row);
                    for (offset, entry) in run.entries.iter().enumerate() {
                        let at = row + offset;
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
                let (u, rest) = ends.split_at(k);
                let (d, w) = rest.split_at(k);

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
                Ok(())
            },
        )
    }
}
