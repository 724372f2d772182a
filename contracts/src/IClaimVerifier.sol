// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The generated Groth16 verifier's interface (snarkjs-compatible ABI).
/// @dev pubSignals: root, epoch, node, totalUnits, firstIndex, lastIndex.
interface IClaimVerifier {
    function verifyProof(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[6] calldata pubSignals
    ) external view returns (bool);
}
