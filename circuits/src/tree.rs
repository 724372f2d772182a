//! The epoch tree: a binary Poseidon Merkle tree over receipt leaves.
//!
//! Inner nodes are `Poseidon(left, right)`; an empty leaf is 0; leaf index bits
//! are read from the least significant bit at the leaves (bit 0 says whether
//! the leaf is a right child). Only the occupied part of each level is stored:
//! an empty subtree of height h hashes to the precomputed `zeros[h]`, so
//! building is linear in the number of leaves, not in 2^depth.
//!
//! This module does not own which leaves are admitted (see [`crate::epoch`]).

use ark_bn254::Fr;
use ark_ff::Zero;
use rayon::prelude::*;

use crate::poseidon::hash2;

/// Deepest tree supported (2^32 leaves).
pub const MAX_DEPTH: usize = 32;
/// Default depth of an epoch tree.
pub const DEFAULT_DEPTH: usize = 20;

/// Why a tree could not be built or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("depth {0} is outside 1..={MAX_DEPTH}")]
    BadDepth(usize),
    #[error("{leaves} leaves do not fit a tree of depth {depth}")]
    TooManyLeaves { leaves: usize, depth: usize },
    #[error("leaf index {index} is past the {count} leaves of the tree")]
    NoSuchLeaf { index: u64, count: usize },
}

/// `zeros[h]` is the root of an empty subtree of height `h`.
pub fn empty_roots(depth: usize) -> Vec<Fr> {
    let mut zeros = Vec::with_capacity(depth + 1);
    zeros.push(Fr::zero());
    for h in 0..depth {
        zeros.push(hash2(zeros[h], zeros[h]));
    }
    zeros
}

/// A built epoch tree.
#[derive(Debug, Clone)]
pub struct EpochTree {
    depth: usize,
    /// `levels[0]` are the leaves; `levels[h]` the occupied nodes at height h.
    levels: Vec<Vec<Fr>>,
    zeros: Vec<Fr>,
}

impl EpochTree {
    /// Builds the tree over `leaves` in order (leaf i at index i).
    pub fn new(depth: usize, leaves: Vec<Fr>) -> Result<Self, TreeError> {
        if !(1..=MAX_DEPTH).contains(&depth) {
            return Err(TreeError::BadDepth(depth));
        }
        if (leaves.len() as u128) > (1u128 << depth) {
            return Err(TreeError::TooManyLeaves {
                leaves: leaves.len(),
                depth,
            });
        }
        let zeros = empty_roots(depth);
        let mut levels = Vec::with_capacity(depth + 1);
        levels.push(leaves);
        for h in 0..depth {
            let below = &levels[h];
            let zero = zeros[h];
            let next: Vec<Fr> = below
                .par_chunks(2)
                .map(|pair| hash2(pair[0], pair.get(1).copied().unwrap_or(zero)))
                .collect();
            levels.push(next);
        }
        Ok(Self {
            depth,
            levels,
            zeros,
        })
    }

    pub fn depth(&self) -> usize {
        self.depth
    }

    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    pub fn leaves(&self) -> &[Fr] {
        &self.levels[0]
    }

    pub fn root(&self) -> Fr {
        self.levels[self.depth]
            .first()
            .copied()
            .unwrap_or(self.zeros[self.depth])
    }

    /// The siblings from the leaf up to the root's children.
    pub fn path(&self, index: u64) -> Result<Vec<Fr>, TreeError> {
        if index >= self.len() as u64 {
            return Err(TreeError::NoSuchLeaf {
                index,
                count: self.len(),
            });
        }
        let mut position = index as usize;
        let mut siblings = Vec::with_capacity(self.depth);
        for h in 0..self.depth {
            let sibling = self.levels[h]
                .get(position ^ 1)
                .copied()
                .unwrap_or(self.zeros[h]);
            siblings.push(sibling);
            position >>= 1;
        }
        Ok(siblings)
    }
}

/// The root reached from `leaf` at `index` along `siblings` (native reference
/// of the circuit's membership check).
pub fn root_from_path(leaf: Fr, index: u64, siblings: &[Fr]) -> Fr {
    siblings
        .iter()
        .enumerate()
        .fold(leaf, |node, (h, sibling)| {
            if (index >> h) & 1 == 1 {
                hash2(*sibling, node)
            } else {
                hash2(node, *sibling)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dense definition: every one of the 2^depth leaves hashed level by level.
    fn dense_root(depth: usize, leaves: &[Fr]) -> Fr {
        let mut level: Vec<Fr> = (0..1usize << depth)
            .map(|i| leaves.get(i).copied().unwrap_or(Fr::zero()))
            .collect();
        while level.len() > 1 {
            level = level.chunks(2).map(|p| hash2(p[0], p[1])).collect();
        }
        level[0]
    }

    #[test]
    fn sparse_build_matches_dense_definition() {
        for depth in 1..=5 {
            for count in 0..=(1usize << depth) {
                let leaves: Vec<Fr> = (0..count as u64).map(|i| Fr::from(i * 7 + 1)).collect();
                let tree = EpochTree::new(depth, leaves.clone()).unwrap();
                assert_eq!(
                    tree.root(),
                    dense_root(depth, &leaves),
                    "depth {depth} count {count}"
                );
                for (i, leaf) in leaves.iter().enumerate() {
                    let path = tree.path(i as u64).unwrap();
                    assert_eq!(root_from_path(*leaf, i as u64, &path), tree.root());
                }
            }
        }
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert_eq!(
            EpochTree::new(0, vec![]).unwrap_err(),
            TreeError::BadDepth(0)
        );
        assert_eq!(
            EpochTree::new(33, vec![]).unwrap_err(),
            TreeError::BadDepth(33)
        );
        assert!(matches!(
            EpochTree::new(2, vec![Fr::zero(); 5]),
            Err(TreeError::TooManyLeaves { .. })
        ));
        let tree = EpochTree::new(3, vec![Fr::from(1u64)]).unwrap();
        assert!(matches!(tree.path(1), Err(TreeError::NoSuchLeaf { .. })));
    }

    #[test]
    fn a_path_does_not_open_another_leaf_or_index() {
        let leaves: Vec<Fr> = (1..=6u64).map(Fr::from).collect();
        let tree = EpochTree::new(4, leaves).unwrap();
        let path = tree.path(2).unwrap();
        assert_eq!(root_from_path(Fr::from(3u64), 2, &path), tree.root());
        assert_ne!(root_from_path(Fr::from(4u64), 2, &path), tree.root());
        assert_ne!(root_from_path(Fr::from(3u64), 3, &path), tree.root());
    }

    #[test]
    fn empty_tree_root_is_the_empty_subtree_root() {
        let tree = EpochTree::new(20, vec![]).unwrap();
        assert_eq!(tree.root(), empty_roots(20)[20]);
    }
}
