// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {WorkToken} from "./WorkToken.sol";
import {EpochRegistry} from "./EpochRegistry.sol";
import {RewardMinter} from "./RewardMinter.sol";

/// @title StakeVault
/// @notice Nodes stake tokens with a committed capacity (units per epoch) over an epoch
///         range. After the range, and a grace period for late claims, the stake is
///         released in full if proven deliveries met the commitment in every epoch;
///         otherwise the slash, proportional to the total shortfall, is burned.
contract StakeVault {
    /// @dev Bounds the release loop's gas.
    uint64 public constant MAX_RANGE = 1024;

    struct Stake {
        uint256 amount;
        uint256 capacity;
        uint64 startEpoch;
        uint64 endEpoch;
    }

    WorkToken public immutable token;
    EpochRegistry public immutable registry;
    RewardMinter public immutable minter;
    /// @notice Epochs that must be posted after the range's end before release.
    uint64 public immutable graceEpochs;

    mapping(address => Stake) public stakes;

    event Staked(address indexed node, uint256 amount, uint256 capacity, uint64 startEpoch, uint64 endEpoch);
    event Released(address indexed node, uint256 returned, uint256 slashed);

    error AlreadyStaked(address node);
    error ZeroAmount();
    error ZeroCapacity();
    error InvalidEpochRange(uint64 startEpoch, uint64 endEpoch);
    error NoStake(address node);
    error RangeNotEnded(uint64 endEpoch, uint64 releasableAfter);

    constructor(WorkToken token_, EpochRegistry registry_, RewardMinter minter_, uint64 graceEpochs_) {
        token = token_;
        registry = registry_;
        minter = minter_;
        graceEpochs = graceEpochs_;
    }

    /// @notice Stakes `amount` (approved beforehand) committing `capacity` units per epoch
    ///         for epochs startEpoch..endEpoch.
    function stake(uint256 amount, uint256 capacity, uint64 startEpoch, uint64 endEpoch) external {
        if (stakes[msg.sender].amount != 0) revert AlreadyStaked(msg.sender);
        if (amount == 0) revert ZeroAmount();
        if (capacity == 0) revert ZeroCapacity();
        if (endEpoch < startEpoch || endEpoch - startEpoch >= MAX_RANGE) {
            revert InvalidEpochRange(startEpoch, endEpoch);
        }
        stakes[msg.sender] = Stake({amount: amount, capacity: capacity, startEpoch: startEpoch, endEpoch: endEpoch});
        emit Staked(msg.sender, amount, capacity, startEpoch, endEpoch);
        token.transferFrom(msg.sender, address(this), amount);
    }

    /// @notice The slash the caller's stake would take now: amount * shortfall / commitment.
    function slashOf(address node) public view returns (uint256) {
        Stake memory s = stakes[node];
        if (s.amount == 0) revert NoStake(node);
        uint256 epochs = uint256(s.endEpoch - s.startEpoch) + 1;
        uint256 shortfall;
        for (uint64 e = s.startEpoch; e <= s.endEpoch; e++) {
            uint256 delivered = minter.deliveredUnits(node, e);
            if (delivered < s.capacity) shortfall += s.capacity - delivered;
        }
        return s.amount * shortfall / (s.capacity * epochs);
    }

    /// @notice Releases the caller's stake after its range (plus grace) has been posted.
    function release() external returns (uint256 returned, uint256 slashed) {
        Stake memory s = stakes[msg.sender];
        if (s.amount == 0) revert NoStake(msg.sender);
        uint64 releasableAfter = s.endEpoch + graceEpochs;
        if (!registry.anyPosted() || registry.latestEpoch() <= releasableAfter) {
            revert RangeNotEnded(s.endEpoch, releasableAfter);
        }
        slashed = slashOf(msg.sender);
        returned = s.amount - slashed;
        delete stakes[msg.sender];
        emit Released(msg.sender, returned, slashed);
        if (slashed > 0) token.burn(slashed);
        if (returned > 0) token.transfer(msg.sender, returned);
    }
}
