// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {WorkToken} from "./WorkToken.sol";

/// @title JobMarket
/// @notice Clients pay for jobs by burning tokens (burn-and-mint equilibrium): the burn
///         and its job id are on chain for anyone to audit against the receipts.
contract JobMarket {
    WorkToken public immutable token;

    mapping(uint256 => bool) public paid;

    event JobPaid(uint256 indexed jobId, address indexed client, uint256 amount);

    error ZeroAmount();
    error JobAlreadyPaid(uint256 jobId);

    constructor(WorkToken token_) {
        token = token_;
    }

    /// @notice Burns `amount` of the caller's tokens (approved beforehand) for `jobId`.
    function payForJob(uint256 jobId, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        if (paid[jobId]) revert JobAlreadyPaid(jobId);
        paid[jobId] = true;
        emit JobPaid(jobId, msg.sender, amount);
        token.burnFrom(msg.sender, amount);
    }
}
