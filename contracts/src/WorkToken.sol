// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title WorkToken
/// @notice The network's ERC-20: a genesis allocation (so that clients can pay for the
///         first jobs), then minted only by the reward minter against verified claims,
///         burned to pay for jobs, never past its hard cap.
/// @dev The deployment hands DEFAULT_ADMIN_ROLE to the governance timelock and renounces
///      it, so no account can grant itself MINTER_ROLE; only a delayed, public timelock
///      operation could.
contract WorkToken is ERC20Capped, ERC20Burnable, AccessControl {
    /// @notice Holders of this role (the RewardMinter) may mint.
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    constructor(
        string memory name_,
        string memory symbol_,
        uint256 cap_,
        address admin,
        address genesisHolder,
        uint256 genesisSupply
    ) ERC20(name_, symbol_) ERC20Capped(cap_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (genesisSupply > 0) _mint(genesisHolder, genesisSupply);
    }

    /// @notice Mints `amount` to `to`; reverts with ERC20ExceededCap past the cap.
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Capped) {
        super._update(from, to, value);
    }
}
