// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title Governance
/// @notice The timelock that holds every role of a deployment: the operator set, the
///         claim verifier, the job price, the bond and windows, the token's admin. A change
///         is proposed in public and runs only after `minDelay`, so users can leave first.
/// @dev OpenZeppelin's TimelockController, self-administered (no admin account).
contract Governance is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors)
        TimelockController(minDelay, proposers, executors, address(0))
    {}
}
