// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {WorkToken} from "./WorkToken.sol";
import {EpochRegistry} from "./EpochRegistry.sol";

interface IDeliveries {
    function deliveredUnits(address node, uint64 epoch) external view returns (uint256);
}

/// @title StakeVault
/// @notice Nodes stake tokens over a range of future epochs; the stake buys a capacity of
///         `amount / stakePerUnit` units per epoch, so no node picks a capacity its stake
///         does not back. Claiming needs a stake active in the epoch. After the range, a
///         grace period for late claims, and once every epoch of the range is settled,
///         anyone may release the stake: the node gets it back less the slash
///         (amount * shortfall / commitment over the range's non-voided epochs), which is
///         burned.
/// @dev Created by the RewardMinter, which it reads deliveries from.
///      Accounting invariant: totalStaked == locked + totalReleased + totalSlashed.
contract StakeVault {
    /// @dev Bounds the release loop's gas.
    uint64 public constant MAX_RANGE = 1024;
    /// @dev Bounds every product in the slash arithmetic.
    uint256 public constant MAX_AMOUNT = type(uint128).max;

    struct Stake {
        uint128 amount;
        uint64 startEpoch;
        uint64 endEpoch;
        uint256 capacity;
    }

    WorkToken public immutable token;
    EpochRegistry public immutable registry;
    IDeliveries public immutable minter;
    /// @notice Tokens staked per unit of committed capacity per epoch.
    uint256 public immutable stakePerUnit;
    /// @notice Epochs that must be posted after the range's end before release.
    uint64 public immutable graceEpochs;

    mapping(address => Stake) public stakes;
    uint256 public totalStaked;
    uint256 public totalReleased;
    uint256 public totalSlashed;

    event Staked(address indexed node, uint256 amount, uint256 capacity, uint64 startEpoch, uint64 endEpoch);
    event Released(address indexed node, uint256 returned, uint256 slashed);

    error AlreadyStaked(address node);
    error ZeroStakePerUnit();
    error StakeBelowOneUnit(uint256 amount, uint256 stakePerUnit);
    error StakeTooLarge(uint256 amount);
    error StakeMustStartInFuture(uint64 startEpoch, uint64 nextEpoch);
    error InvalidEpochRange(uint64 startEpoch, uint64 endEpoch);
    error NoStake(address node);
    error RangeNotEnded(uint64 endEpoch, uint64 releasableAfter);
    error EpochNotSettled(uint64 epoch);

    constructor(
        WorkToken token_,
        EpochRegistry registry_,
        IDeliveries minter_,
        uint256 stakePerUnit_,
        uint64 graceEpochs_
    ) {
        if (stakePerUnit_ == 0) revert ZeroStakePerUnit();
        token = token_;
        registry = registry_;
        minter = minter_;
        stakePerUnit = stakePerUnit_;
        graceEpochs = graceEpochs_;
    }

    /// @notice Stakes `amount` (approved beforehand) for epochs startEpoch..endEpoch, none
    ///         of them posted yet.
    function stake(uint256 amount, uint64 startEpoch, uint64 endEpoch) external {
        if (stakes[msg.sender].amount != 0) revert AlreadyStaked(msg.sender);
        if (amount > MAX_AMOUNT) revert StakeTooLarge(amount);
        uint256 capacity = amount / stakePerUnit;
        if (capacity == 0) revert StakeBelowOneUnit(amount, stakePerUnit);
        uint64 next = registry.nextEpoch();
        if (startEpoch < next) revert StakeMustStartInFuture(startEpoch, next);
        if (endEpoch < startEpoch || endEpoch - startEpoch >= MAX_RANGE) {
            revert InvalidEpochRange(startEpoch, endEpoch);
        }
        stakes[msg.sender] =
            Stake({amount: uint128(amount), startEpoch: startEpoch, endEpoch: endEpoch, capacity: capacity});
        totalStaked += amount;
        emit Staked(msg.sender, amount, capacity, startEpoch, endEpoch);
        token.transferFrom(msg.sender, address(this), amount);
    }

    /// @notice Whether `node` has a stake covering `epoch`.
    function isActive(address node, uint64 epoch) external view returns (bool) {
        Stake storage s = stakes[node];
        return s.amount != 0 && s.startEpoch <= epoch && epoch <= s.endEpoch;
    }

    /// @notice The slash `node`'s stake would take now: amount * shortfall / commitment,
    ///         over the epochs of its range that were not voided.
    function slashOf(address node) public view returns (uint256) {
        Stake memory s = stakes[node];
        if (s.amount == 0) revert NoStake(node);
        uint256 shortfall;
        uint256 counted;
        for (uint64 e = s.startEpoch; e <= s.endEpoch; e++) {
            // An epoch the operator lost to a challenge is not the node's shortfall.
            if (registry.epochInfo(e).voided) continue;
            counted++;
            uint256 delivered = minter.deliveredUnits(node, e);
            if (delivered < s.capacity) shortfall += s.capacity - delivered;
        }
        if (counted == 0) return 0;
        return Math.mulDiv(s.amount, shortfall, s.capacity * counted);
    }

    /// @notice Releases `node`'s stake once its range, plus grace, is over and settled:
    ///         anyone may call it, so a node cannot dodge its slash by never releasing.
    function release(address node) external returns (uint256 returned, uint256 slashed) {
        Stake memory s = stakes[node];
        if (s.amount == 0) revert NoStake(node);
        uint64 releasableAfter = s.endEpoch + graceEpochs;
        if (registry.nextEpoch() <= releasableAfter + 1) revert RangeNotEnded(s.endEpoch, releasableAfter);
        for (uint64 e = s.startEpoch; e <= s.endEpoch; e++) {
            if (!registry.isSettled(e)) revert EpochNotSettled(e);
        }
        slashed = slashOf(node);
        returned = s.amount - slashed;
        delete stakes[node];
        totalReleased += returned;
        totalSlashed += slashed;
        emit Released(node, returned, slashed);
        if (slashed > 0) token.burn(slashed);
        if (returned > 0) token.transfer(node, returned);
    }
}
