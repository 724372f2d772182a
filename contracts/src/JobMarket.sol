// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {WorkToken} from "./WorkToken.sol";

interface IEpochClock {
    /// @notice The epoch the operator posts next: payments for it and later are open.
    function nextEpoch() external view returns (uint64);
}

/// @title JobMarket
/// @notice Clients pay for jobs before they run by burning `price * units` tokens
///         (burn-and-mint equilibrium). A payment names `(jobId, client, node, epoch,
///         units)`; a receipt counts only with a matching payment, and the epoch's paid
///         units, not any figure the operator posts, divide the epoch's emission.
/// @dev Created by the EpochRegistry, whose epoch clock closes an epoch's payments when
///      it is posted, so that paidUnits(epoch) is final before anyone claims.
contract JobMarket {
    /// @dev BN254 scalar field modulus: job ids are field elements (receipt leaves hash them).
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    struct Payment {
        address client;
        address node;
        uint64 epoch;
        uint64 units;
    }

    WorkToken public immutable token;
    IEpochClock public immutable registry;
    /// @notice The governance timelock: the only account that may change the price.
    address public immutable governance;
    /// @notice Tokens burned per unit of work.
    uint256 public price;

    mapping(uint256 => Payment) internal _payments;
    /// @notice Units paid for each epoch.
    mapping(uint64 => uint256) public paidUnits;

    event JobPaid(
        uint256 indexed jobId,
        address indexed client,
        address indexed node,
        uint64 epoch,
        uint64 units,
        uint256 amount
    );
    event PriceChanged(uint256 oldPrice, uint256 newPrice);

    error ZeroUnits();
    error ZeroNode();
    error ZeroPrice();
    error JobAlreadyPaid(uint256 jobId);
    error EpochClosed(uint64 epoch, uint64 nextEpoch);
    error NotGovernance(address caller);

    constructor(WorkToken token_, IEpochClock registry_, address governance_, uint256 price_) {
        if (price_ == 0) revert ZeroPrice();
        token = token_;
        registry = registry_;
        governance = governance_;
        price = price_;
    }

    /// @notice The job id of `client`'s job `salt`: ids are namespaced by their client, so
    ///         nobody can take (squat) another client's id.
    function jobIdOf(address client, uint256 salt) public pure returns (uint256) {
        return uint256(keccak256(abi.encode(client, salt))) % R;
    }

    /// @notice Pays for job `jobIdOf(msg.sender, salt)` run by `node` in `epoch`, burning
    ///         `price * units` of the caller's tokens (approved beforehand).
    function payForJob(uint256 salt, address node, uint64 epoch, uint64 units) external returns (uint256 jobId) {
        if (units == 0) revert ZeroUnits();
        if (node == address(0)) revert ZeroNode();
        uint64 next = registry.nextEpoch();
        if (epoch < next) revert EpochClosed(epoch, next);
        jobId = jobIdOf(msg.sender, salt);
        if (_payments[jobId].client != address(0)) revert JobAlreadyPaid(jobId);
        _payments[jobId] = Payment({client: msg.sender, node: node, epoch: epoch, units: units});
        paidUnits[epoch] += units;
        uint256 amount = price * units;
        emit JobPaid(jobId, msg.sender, node, epoch, units, amount);
        token.burnFrom(msg.sender, amount);
    }

    /// @notice The payment for `jobId` (client zero if there is none).
    function payment(uint256 jobId) external view returns (Payment memory) {
        return _payments[jobId];
    }

    /// @notice Whether a receipt `(jobId, client, node, epoch, units)` is backed by a payment.
    function covers(uint256 jobId, address client, address node, uint64 epoch, uint64 units)
        external
        view
        returns (bool)
    {
        Payment memory p = _payments[jobId];
        return p.client != address(0) && p.client == client && p.node == node && p.epoch == epoch
            && p.units >= units;
    }

    /// @notice Changes the price; governance (the timelock) only.
    function setPrice(uint256 newPrice) external {
        if (msg.sender != governance) revert NotGovernance(msg.sender);
        if (newPrice == 0) revert ZeroPrice();
        emit PriceChanged(price, newPrice);
        price = newPrice;
    }
}
