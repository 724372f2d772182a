//! circomlib's four-input Poseidon (width 5: 8 full rounds, 60 partial, x^5
//! S-box) as a halo2 chip, for the commitment chains of [`crate::commitment`].
//!
//! A partial round takes one row: the round's input state `s` and, in a
//! column of its own, the square `q = (s0 + rc0)²` of the one S-box input;
//! the next row holds the state after the S-box (`q²·(s0 + rc0)`) and the MDS
//! mixing. A full round takes two rows: the input state, then the five
//! squares `(s_i + rc_i)²` in the state columns, then (the next round's first
//! row) the mixed state. Storing the squares keeps every gate at degree 4,
//! below the degree 5 the GEMM circuit's lookup already needs, so the chip
//! does not enlarge the evaluation domain; and six advice columns (five
//! state, one square) are what the chip adds to the proof, which costs about
//! as much per column as per row. A permutation takes 8·2 + 60 rows and an
//! output row.
//!
//! The constants are those of [`proofmint_circuits::poseidon::params`] (light-poseidon's
//! circomlib parameters, checked there against circomlibjs); the tests hold
//! the chip's chains equal to the native [`crate::commitment::chain`].

use halo2_proofs::circuit::{Cell, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{
    Advice, Column, ConstraintSystem, Error, Expression, Fixed, SecondPhase, VirtualCells,
};
use halo2_proofs::poly::Rotation;

use crate::commitment::{from_ark, RATE};

/// The state width: the capacity element, the chain value and [`RATE`] elements.
pub const WIDTH: usize = RATE + 2;

/// The permutation's constants in halo2's field.
#[derive(Debug, Clone)]
struct Constants {
    full_rounds: usize,
    partial_rounds: usize,
    /// One row of `WIDTH` per round.
    ark: Vec<[Fr; WIDTH]>,
    mds: [[Fr; WIDTH]; WIDTH],
}

impl Constants {
    fn new() -> Self {
        let p = proofmint_circuits::poseidon::params(WIDTH - 1);
        assert_eq!(p.width, WIDTH);
        let ark = p
            .ark
            .chunks_exact(WIDTH)
            .map(|row| std::array::from_fn(|i| from_ark(row[i])))
            .collect();
        let mds = std::array::from_fn(|i| std::array::from_fn(|j| from_ark(p.mds[i][j])));
        Self {
            full_rounds: p.full_rounds,
            partial_rounds: p.partial_rounds,
            ark,
            mds,
        }
    }

    fn rounds(&self) -> usize {
        self.full_rounds + self.partial_rounds
    }

    fn is_full(&self, round: usize) -> bool {
        let half = self.full_rounds / 2;
        round < half || round >= half + self.partial_rounds
    }
}

/// The S-box inputs of a round row: its state plus its round constants.
fn sbox_inputs(
    meta: &mut VirtualCells<'_, Fr>,
    state: &[Column<Advice>; WIDTH],
    round_constants: &[Column<Fixed>; WIDTH],
) -> Vec<Expression<Fr>> {
    (0..WIDTH)
        .map(|i| {
            meta.query_advice(state[i], Rotation::cur())
                + meta.query_fixed(round_constants[i], Rotation::cur())
        })
        .collect()
}

/// `on·(s_i(at) − Σ_j M_ij·sbox_j)` for each i: the state at row `at` is the
/// MDS mix of the S-box outputs.
fn mixed(
    meta: &mut VirtualCells<'_, Fr>,
    on: &Expression<Fr>,
    state: &[Column<Advice>; WIDTH],
    at: Rotation,
    mds: &[[Fr; WIDTH]; WIDTH],
    sbox: &[Expression<Fr>],
) -> Vec<Expression<Fr>> {
    mds.iter()
        .enumerate()
        .map(|(i, row)| {
            let mix = row
                .iter()
                .zip(sbox)
                .fold(Expression::Constant(Fr::zero()), |acc, (m, s)| {
                    acc + Expression::Constant(*m) * s.clone()
                });
            on.clone() * (meta.query_advice(state[i], at) - mix)
        })
        .collect()
}

/// Rows one permutation takes: two per full round, one per partial round,
/// and the output row.
pub fn rows_per_permutation() -> usize {
    let p = proofmint_circuits::poseidon::params(WIDTH - 1);
    2 * p.full_rounds + p.partial_rounds + 1
}

/// The chip's columns.
#[derive(Debug, Clone)]
pub struct Chip {
    state: [Column<Advice>; WIDTH],
    /// A partial round's one square.
    square: Column<Advice>,
    round_constants: [Column<Fixed>; WIDTH],
    full: Column<Fixed>,
    partial: Column<Fixed>,
    constants: Constants,
}

impl Chip {
    /// The columns and gates. The advice columns are second-phase ones: the
    /// GEMM circuit draws its challenges in the middle of synthesis, after
    /// which only second-phase cells can be assigned; nothing here uses a
    /// challenge.
    pub fn configure(meta: &mut ConstraintSystem<Fr>) -> Self {
        let constants = Constants::new();
        let state = [(); WIDTH].map(|_| meta.advice_column_in(SecondPhase));
        let square = meta.advice_column_in(SecondPhase);
        let round_constants = [(); WIDTH].map(|_| meta.fixed_column());
        let full = meta.fixed_column();
        let partial = meta.fixed_column();
        for column in state {
            meta.enable_equality(column);
        }
        let mds = constants.mds;
        // Why: one Poseidon round: the S-box inputs x = s + rc, their squares
        // on the second row (so that x^5 = q²·x stays at degree 3), and on
        // the third the MDS mix of the S-box outputs.
        meta.create_gate("poseidon full round", |meta| {
            let on = meta.query_fixed(full, Rotation::cur());
            let x = sbox_inputs(meta, &state, &round_constants);
            let q: Vec<Expression<Fr>> = (0..WIDTH)
                .map(|i| meta.query_advice(state[i], Rotation::next()))
                .collect();
            let sbox: Vec<Expression<Fr>> = (0..WIDTH)
                .map(|i| q[i].clone() * q[i].clone() * x[i].clone())
                .collect();
            let mut constraints: Vec<Expression<Fr>> = (0..WIDTH)
                .map(|i| on.clone() * (q[i].clone() - x[i].clone() * x[i].clone()))
                .collect();
            constraints.extend(mixed(meta, &on, &state, Rotation(2), &mds, &sbox));
            constraints
        });
        // Why: as the full round, with the S-box on the first element only.
        meta.create_gate("poseidon partial round", |meta| {
            let on = meta.query_fixed(partial, Rotation::cur());
            let x = sbox_inputs(meta, &state, &round_constants);
            let q0 = meta.query_advice(square, Rotation::cur());
            let mut sbox = x.clone();
            sbox[0] = q0.clone() * q0.clone() * x[0].clone();
            let mut constraints = vec![on.clone() * (q0 - x[0].clone() * x[0].clone())];
            constraints.extend(mixed(meta, &on, &state, Rotation::next(), &mds, &sbox));
            constraints
        });
        Self {
            state,
            square,
            round_constants,
            full,
            partial,
            constants,
        }
    }

    /// Lays out one permutation of `input` from row `at`; returns the input
    /// row's state cells, and the output's first cell (the hash) and value.
    fn permute(
        &self,
        region: &mut Region<'_, Fr>,
        at: usize,
        input: [Value<Fr>; WIDTH],
        forge: bool,
    ) -> ([Cell; WIDTH], Cell, Value<Fr>) {
        let c = &self.constants;
        let mut state = input;
        let mut first = None;
        let mut row = at;
        for round in 0..c.rounds() {
            let full = c.is_full(round);
            region.assign_fixed(if full { self.full } else { self.partial }, row, Fr::one());
            let mut sbox = state;
            let mut cells = Vec::with_capacity(WIDTH);
            for i in 0..WIDTH {
                let rc = c.ark[round][i];
                region.assign_fixed(self.round_constants[i], row, rc);
                cells.push(region.assign_advice(self.state[i], row, state[i]).cell());
                let x = state[i].map(|s| s + rc);
                if full || i == 0 {
                    let square = x.map(|x| x.square());
                    if full {
                        region.assign_advice(self.state[i], row + 1, square);
                    } else {
                        region.assign_advice(self.square, row, square);
                    }
                    sbox[i] = square.zip(x).map(|(q, x)| q.square() * x);
                } else {
                    sbox[i] = x;
                }
            }
            if first.is_none() {
                first = Some(std::array::from_fn(|i| cells[i]));
            }
            state = std::array::from_fn(|i| {
                c.mds[i]
                    .iter()
                    .zip(&sbox)
                    .fold(Value::known(Fr::zero()), |acc, (m, s)| {
                        acc + s.map(|s| s * m)
                    })
            });
            row += if full { 2 } else { 1 };
        }
        if forge {
            state[0] = state[0] + Value::known(Fr::one());
        }
        let mut out = None;
        for (i, value) in state.iter().enumerate() {
            let cell = region.assign_advice(self.state[i], row, *value).cell();
            out.get_or_insert(cell);
        }
        debug_assert_eq!(row + 1 - at, rows_per_permutation());
        (
            first.expect("rounds > 0"),
            out.expect("WIDTH > 0"),
            state[0],
        )
    }

    /// The commitment chain of [`crate::commitment::chain`] from the constant
    /// `start` over the packed elements `elements` (cells elsewhere, copied
    /// in), laid out from row `at`; returns the commitment's cell and value
    /// and the next free row. `forge` (tests only) makes the last output one
    /// more than the permutation gives, as a prover claiming another
    /// commitment would.
    pub fn chain(
        &self,
        region: &mut Region<'_, Fr>,
        at: usize,
        start: Fr,
        elements: &[(Cell, Value<Fr>)],
        forge: bool,
    ) -> Result<(Cell, Value<Fr>, usize), Error> {
        let mut row = at;
        let mut h: (Option<Cell>, Value<Fr>) = (None, Value::known(start));
        let steps = elements.len().div_ceil(RATE);
        for (step, run) in elements.chunks(RATE).enumerate() {
            let mut input = [Value::known(Fr::zero()); WIDTH];
            input[1] = h.1;
            for (slot, (_, value)) in input[2..].iter_mut().zip(run) {
                *slot = *value;
            }
            let (cells, out, value) = self.permute(region, row, input, forge && step + 1 == steps);
            // Why: circomlib's state starts with a zero capacity element.
            region.constrain_constant(cells[0], Fr::zero())?;
            // Why: the chain: the previous step's output, or the tagged start.
            match h.0 {
                Some(previous) => region.constrain_equal(previous, cells[1]),
                None => region.constrain_constant(cells[1], start)?,
            }
            // Why: these are the packed cells the GEMM check ran on; padding is zero.
            for (i, cell) in cells[2..].iter().enumerate() {
                match run.get(i) {
                    Some((element, _)) => region.constrain_equal(*element, *cell),
                    None => region.constrain_constant(*cell, Fr::zero())?,
                }
            }
            h = (Some(out), value);
            row += rows_per_permutation();
        }
        Ok((h.0.expect("at least one element"), h.1, row))
    }
}
