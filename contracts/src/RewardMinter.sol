// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {WorkToken} from "./WorkToken.sol";
import {EpochRegistry} from "./EpochRegistry.sol";
import {IClaimVerifier} from "./IClaimVerifier.sol";

/// @title RewardMinter
/// @notice Mints rewards against Groth16 claim proofs: a node proven to hold receipts
///         worth `totalUnits` of an epoch's `epochTotalUnits` receives
///         `emission(epoch) * totalUnits / epochTotalUnits`.
/// @dev Emission decays geometrically from `initialEmission` at `genesisEpoch` by the
///      fixed-point ratio `decayPerEpoch` (1e18 = 1). Each epoch's rewards add up to at
///      most its emission (every leaf belongs to one node and is claimable once), and
///      the series sums to at most initialEmission / (1 - decay), which the constructor
///      checks against the token's cap.
contract RewardMinter {
    uint256 internal constant ONE = 1e18;

    WorkToken public immutable token;
    EpochRegistry public immutable registry;
    IClaimVerifier public immutable verifier;
    uint256 public immutable initialEmission;
    uint256 public immutable decayPerEpoch;
    uint64 public immutable genesisEpoch;

    /// @notice The first leaf index a node's next claim in an epoch may start at.
    mapping(address => mapping(uint64 => uint256)) public nextIndex;
    /// @notice Units a node has proven delivered in an epoch.
    mapping(address => mapping(uint64 => uint256)) public deliveredUnits;

    event Claimed(
        uint64 indexed epoch,
        address indexed node,
        uint256 totalUnits,
        uint256 firstIndex,
        uint256 lastIndex,
        uint256 reward
    );

    error DecayNotBelowOne(uint256 decayPerEpoch);
    error EmissionExceedsCap(uint256 maxTotalEmission, uint256 cap);
    error EpochBeforeGenesis(uint64 epoch, uint64 genesisEpoch);
    error EpochNotPosted(uint64 epoch);
    error InvalidRange(uint256 firstIndex, uint256 lastIndex);
    error RangeOverlapsEarlierClaim(address node, uint64 epoch, uint256 firstIndex, uint256 nextIndex);
    error ClaimExceedsEpoch(uint256 totalUnits, uint256 epochTotalUnits);
    error InvalidProof();

    constructor(
        WorkToken token_,
        EpochRegistry registry_,
        IClaimVerifier verifier_,
        uint256 initialEmission_,
        uint256 decayPerEpoch_,
        uint64 genesisEpoch_
    ) {
        if (decayPerEpoch_ >= ONE) revert DecayNotBelowOne(decayPerEpoch_);
        uint256 maxTotal = initialEmission_ * ONE / (ONE - decayPerEpoch_);
        if (maxTotal > token_.cap()) revert EmissionExceedsCap(maxTotal, token_.cap());
        token = token_;
        registry = registry_;
        verifier = verifier_;
        initialEmission = initialEmission_;
        decayPerEpoch = decayPerEpoch_;
        genesisEpoch = genesisEpoch_;
    }

    /// @notice Tokens emitted for `epoch`: initialEmission * decay^(epoch - genesis), rounded down.
    function emission(uint64 epoch) public view returns (uint256) {
        if (epoch < genesisEpoch) return 0;
        uint256 factor = ONE;
        uint256 base = decayPerEpoch;
        for (uint256 n = epoch - genesisEpoch; n > 0; n >>= 1) {
            if (n & 1 == 1) factor = factor * base / ONE;
            base = base * base / ONE;
        }
        return initialEmission * factor / ONE;
    }

    /// @notice Claims `node`'s reward for the receipts at leaves firstIndex..lastIndex of
    ///         `epoch`, proven by (a, b, c). Anyone may submit; the tokens go to the node.
    function claim(
        uint64 epoch,
        address node,
        uint256 totalUnits,
        uint256 firstIndex,
        uint256 lastIndex,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c
    ) external returns (uint256 reward) {
        if (epoch < genesisEpoch) revert EpochBeforeGenesis(epoch, genesisEpoch);
        EpochRegistry.Epoch memory posted = registry.epochInfo(epoch);
        if (!posted.posted) revert EpochNotPosted(epoch);
        if (firstIndex > lastIndex) revert InvalidRange(firstIndex, lastIndex);
        uint256 next = nextIndex[node][epoch];
        if (firstIndex < next) revert RangeOverlapsEarlierClaim(node, epoch, firstIndex, next);
        if (totalUnits > posted.totalUnits) revert ClaimExceedsEpoch(totalUnits, posted.totalUnits);
        uint256[6] memory pubSignals =
            [posted.root, uint256(epoch), uint256(uint160(node)), totalUnits, firstIndex, lastIndex];
        if (!verifier.verifyProof(a, b, c, pubSignals)) revert InvalidProof();

        nextIndex[node][epoch] = lastIndex + 1;
        deliveredUnits[node][epoch] += totalUnits;
        reward = emission(epoch) * totalUnits / posted.totalUnits;
        emit Claimed(epoch, node, totalUnits, firstIndex, lastIndex, reward);
        if (reward > 0) token.mint(node, reward);
    }
}
