//! Solidity generation: circomlib's Poseidon on chain, for the epoch
//! registry's challenges (a leaf's preimage and its Merkle path, checked
//! against a posted root).
//!
//! circomlibjs's own contract generator stops at 8 inputs and a receipt leaf
//! hashes 9, so this is our own, from the same parameters the native hash uses
//! ([`proofmint_circuits::poseidon::params`], cross-checked against
//! circomlibjs's published vectors in the circuits crate's tests).
//!
//! For width `t` it writes two contracts:
//! - `PoseidonT{t}Constants`: a data contract whose runtime code is a 0x00
//!   (STOP) byte followed by the round constants, 32 bytes each, round-major.
//!   At width 10 they are 21,760 bytes: too many to sit beside the hash code
//!   under EIP-170's 24,576-byte limit, hence a contract of their own.
//! - `PoseidonT{t}`: `hash(uint256[t-1]) returns (uint256)`. It copies the
//!   round constants in once (`extcodecopy`), has the MDS mix unrolled with
//!   its constants inline, and runs the permutation exactly as the native hash does: state
//!   `[0, inputs...]`, per round add the constants, S-box `x^5` on every
//!   element in full rounds and on the first in partial rounds, then mix;
//!   the hash is `state[0]`. Its constructor refuses a constants contract
//!   whose code hash is not the expected one.
//!
//! Inputs are reduced modulo r by the arithmetic, so `x` and `x + r` hash
//! alike: callers that need canonical inputs check `< r` themselves.

use std::fmt::Write;

use alloy_primitives::keccak256;
use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use proofmint_circuits::poseidon::params;

fn dec_fr(value: &Fr) -> String {
    value.into_bigint().to_string()
}

/// Words as one hex string, 32 big-endian bytes each.
fn words_hex(values: &[Fr]) -> String {
    let mut out = String::with_capacity(values.len() * 64);
    for v in values {
        for b in v.into_bigint().to_bytes_be() {
            write!(out, "{b:02x}").unwrap();
        }
    }
    out
}

/// The runtime code of the constants contract for `inputs` inputs.
pub fn constants_runtime(inputs: usize) -> Vec<u8> {
    let p = params(inputs);
    let mut code = vec![0u8];
    for v in &p.ark {
        code.extend_from_slice(&v.into_bigint().to_bytes_be());
    }
    code
}

/// Both contracts for a Poseidon hash of `inputs` inputs (1 to 12), as one
/// Solidity source (no pragma or licence line: see [`poseidon_source`]).
pub fn poseidon_contracts(inputs: usize) -> String {
    let p = params(inputs);
    let t = p.width;
    let rounds = p.full_rounds + p.partial_rounds;
    let half = p.full_rounds / 2;
    let partial_end = half + p.partial_rounds;
    let c_bytes = p.ark.len() * 32;
    let code_hash = keccak256(constants_runtime(inputs));
    // Round constants and S-box, element by element (the first only in partial rounds).
    let sbox = |i: usize| {
        format!(
            "                    {{\n                        let x := addmod(mload(add(s, {o:#x})), mload(add(k, {o:#x})), R)\n                        let x2 := mulmod(x, x, R)\n                        mstore(add(s, {o:#x}), mulmod(mulmod(x2, x2, R), x, R))\n                    }}\n",
            o = 32 * i
        )
    };
    let full: String = (0..t).map(sbox).collect();
    let mut partial = sbox(0);
    for i in 1..t {
        writeln!(
            partial,
            "                    mstore(add(s, {o:#x}), addmod(mload(add(s, {o:#x})), mload(add(k, {o:#x})), R))",
            o = 32 * i
        )
        .unwrap();
    }
    // The MDS mix, unrolled with its constants inline. Products are below r < 2^254,
    // so four of them add without overflow; groups of four are then added mod r.
    let mut mix = String::new();
    for (i, row) in p.mds.iter().enumerate() {
        let terms: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(j, m)| format!("mulmod({}, mload(add(s, {:#x})), R)", dec_fr(m), 32 * j))
            .collect();
        let groups: Vec<String> = terms
            .chunks(4)
            .map(|g| {
                g.iter()
                    .skip(1)
                    .fold(g[0].clone(), |acc, t| format!("add({acc}, {t})"))
            })
            .collect();
        let sum = if groups.len() == 1 {
            format!("mod({}, R)", groups[0])
        } else {
            groups
                .iter()
                .skip(1)
                .fold(groups[0].clone(), |acc, g| format!("addmod({acc}, {g}, R)"))
        };
        writeln!(mix, "                mstore(add(u, {:#x}), {sum})", 32 * i).unwrap();
    }
    let code_hash_hex: String = code_hash.iter().map(|b| format!("{b:02x}")).collect();
    let assembly = if t <= STACK_WIDTH {
        stack_permutation(p)
    } else {
        format!(
            r#"            let c := mload(0x40)
            extcodecopy(source, c, 1, {c_bytes})
            let s := add(c, {c_bytes})
            let u := add(s, {tw:#x})
            mstore(0x40, add(u, {tw:#x}))
            mstore(s, 0)
            calldatacopy(add(s, 0x20), 4, {iw:#x})
            for {{ let r := 0 }} lt(r, {rounds}) {{ r := add(r, 1) }} {{
                let k := add(c, mul(r, {tw:#x}))
                switch or(lt(r, {half}), iszero(lt(r, {partial_end})))
                case 0 {{
{partial}                }}
                default {{
{full}                }}
{mix}                let swap := s
                s := u
                u := swap
            }}
            out := mload(s)
"#,
            tw = 32 * t,
            iw = 32 * inputs,
        )
    };
    format!(
        r#"
/// @notice Round constants of circomlib's Poseidon at width {t} ({inputs} inputs), as code:
///         a STOP byte, then {count} words, round-major.
/// @dev Generated by proofmint (verifier/src/poseidon_sol.rs); do not edit.
contract PoseidonT{t}Constants {{
    constructor() {{
        bytes memory code = hex"00{ark}";
        assembly {{
            return(add(code, 0x20), mload(code))
        }}
    }}
}}

/// @notice circomlib's Poseidon hash of {inputs} field elements (x^5 S-box, {rf} full and
///         {rp} partial rounds, circomlib's constants and MDS matrix).
/// @dev Generated by proofmint (verifier/src/poseidon_sol.rs); do not edit. Inputs are
///      reduced mod r: callers that need canonical inputs check them first.
contract PoseidonT{t} {{
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev keccak256 of PoseidonT{t}Constants' runtime code.
    bytes32 internal constant CONSTANTS_CODEHASH = 0x{code_hash_hex};

    address public immutable constants;

    error WrongConstants(address constants);

    constructor(address constants_) {{
        if (constants_.codehash != CONSTANTS_CODEHASH) revert WrongConstants(constants_);
        constants = constants_;
    }}

    function hash(uint256[{inputs}] calldata inputs) external view returns (uint256 out) {{
        inputs; // read from calldata by offset below
        address source = constants;
        assembly ("memory-safe") {{
{assembly}        }}
    }}
}}
"#,
        count = p.ark.len(),
        ark = words_hex(&p.ark),
        rf = p.full_rounds,
        rp = p.partial_rounds,
    )
}

/// Widths up to this keep the state on the EVM stack (width 3, the tree's
/// two-to-one hash, is the one hashed a tree depth's times per challenge);
/// wider states stay in memory, as the legacy code generator reaches only 16
/// stack slots.
const STACK_WIDTH: usize = 3;

/// The permutation with the state in stack variables `s0..`, the round
/// constants read from the copied table and the MDS constants inline.
fn stack_permutation(p: &proofmint_circuits::poseidon::Params) -> String {
    let t = p.width;
    let half = p.full_rounds / 2;
    let partial_end = half + p.partial_rounds;
    let c_bytes = p.ark.len() * 32;
    let mut out = String::new();
    writeln!(out, "            let c := mload(0x40)").unwrap();
    writeln!(out, "            extcodecopy(source, c, 1, {c_bytes})").unwrap();
    writeln!(out, "            let s0 := 0").unwrap();
    for i in 1..t {
        writeln!(
            out,
            "            let s{i} := calldataload({:#x})",
            4 + 32 * (i - 1)
        )
        .unwrap();
    }
    writeln!(
        out,
        "            for {{ let k := c }} lt(k, add(c, {c_bytes})) {{ k := add(k, {:#x}) }} {{",
        32 * t
    )
    .unwrap();
    for i in 0..t {
        writeln!(
            out,
            "                s{i} := addmod(s{i}, mload(add(k, {:#x})), R)",
            32 * i
        )
        .unwrap();
    }
    let pow5 = |i: usize| {
        format!("                {{\n                    let x2 := mulmod(s{i}, s{i}, R)\n                    s{i} := mulmod(mulmod(x2, x2, R), s{i}, R)\n                }}\n")
    };
    out.push_str(&pow5(0));
    writeln!(
        out,
        "                let r := div(sub(k, c), {:#x})\n                if or(lt(r, {half}), iszero(lt(r, {partial_end}))) {{",
        32 * t
    )
    .unwrap();
    for i in 1..t {
        out.push_str(
            &pow5(i)
                .replace("\n                ", "\n                    ")
                .replacen("                {", "                    {", 1),
        );
    }
    writeln!(out, "                }}").unwrap();
    for (i, row) in p.mds.iter().enumerate() {
        let terms: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(j, m)| format!("mulmod({}, s{j}, R)", dec_fr(m)))
            .collect();
        // Three products below r < 2^254 add without overflow.
        let sum = terms
            .iter()
            .skip(1)
            .fold(terms[0].clone(), |acc, t| format!("add({acc}, {t})"));
        writeln!(out, "                let t{i} := mod({sum}, R)").unwrap();
    }
    for i in 0..t {
        writeln!(out, "                s{i} := t{i}").unwrap();
    }
    writeln!(out, "            }}").unwrap();
    writeln!(out, "            out := s0").unwrap();
    out
}

/// The Solidity source `contracts/src/Poseidon.sol`: the hashes the epoch
/// registry uses, of 2 inputs (tree nodes) and 9 (receipt leaves).
pub fn poseidon_source() -> String {
    format!(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\n{}{}",
        poseidon_contracts(2),
        poseidon_contracts(9)
    )
}
