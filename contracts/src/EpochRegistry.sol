// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title EpochRegistry
/// @notice The operator posts each epoch's receipt-tree root and totals once; a
///         posted epoch never changes. Epochs are posted in increasing order, so
///         `latestEpoch` tells how far the network has come.
contract EpochRegistry is AccessControl {
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @dev BN254 scalar field modulus: a root is a field element.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    struct Epoch {
        uint256 root;
        uint256 totalUnits;
        uint256 count;
        bool posted;
    }

    mapping(uint64 => Epoch) internal _epochs;
    /// @notice The highest epoch posted so far (meaningful once `anyPosted`).
    uint64 public latestEpoch;
    bool public anyPosted;

    event EpochPosted(uint64 indexed epoch, uint256 root, uint256 totalUnits, uint256 count);

    error EpochAlreadyPosted(uint64 epoch);
    error EpochOutOfOrder(uint64 epoch, uint64 latestEpoch);
    error EmptyEpoch(uint64 epoch);
    error RootNotInField(uint256 root);

    constructor(address admin, address operator) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, operator);
    }

    /// @notice Posts `(epoch, root, totalUnits, count)`, once.
    function postEpoch(uint64 epoch, uint256 root, uint256 totalUnits, uint256 count)
        external
        onlyRole(OPERATOR_ROLE)
    {
        if (_epochs[epoch].posted) revert EpochAlreadyPosted(epoch);
        if (anyPosted && epoch <= latestEpoch) revert EpochOutOfOrder(epoch, latestEpoch);
        // Rewards divide by totalUnits; an epoch without work has nothing to claim.
        if (totalUnits == 0 || count == 0) revert EmptyEpoch(epoch);
        if (root >= R) revert RootNotInField(root);
        _epochs[epoch] = Epoch({root: root, totalUnits: totalUnits, count: count, posted: true});
        latestEpoch = epoch;
        anyPosted = true;
        emit EpochPosted(epoch, root, totalUnits, count);
    }

    /// @notice The posted record of `epoch` (`posted` is false if it was never posted).
    function epochInfo(uint64 epoch) external view returns (Epoch memory) {
        return _epochs[epoch];
    }
}
