// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {WorkToken} from "../src/WorkToken.sol";
import {EpochRegistry} from "../src/EpochRegistry.sol";
import {RewardMinter} from "../src/RewardMinter.sol";
import {StakeVault} from "../src/StakeVault.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {IClaimVerifier} from "../src/IClaimVerifier.sol";
import {PoseidonT3, PoseidonT3Constants, PoseidonT10, PoseidonT10Constants} from "../src/Poseidon.sol";

/// @dev The few forge cheatcodes these tests use (forge's own `Vm` address).
interface Vm {
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function warp(uint256 timestamp) external;
    function deal(address who, uint256 amount) external;
    function assume(bool condition) external pure;
}

/// @dev Accepts every proof: the invariants are about the contracts' own accounting,
///      which must hold whatever the verifier says (the real verifier is tested in revm).
contract AcceptingVerifier is IClaimVerifier {
    function verifyProof(uint256[2] calldata, uint256[2][2] calldata, uint256[2] calldata, uint256[6] calldata)
        external
        pure
        returns (bool)
    {
        return true;
    }
}

/// @dev A whole deployment with the test contract as governance and `operator` posting.
contract System {
    uint8 internal constant DEPTH = 2;
    uint256 internal constant CAP = 2_000_000e18;
    uint256 internal constant GENESIS = 500_000e18;

    WorkToken public token;
    EpochRegistry public registry;
    JobMarket public market;
    RewardMinter public minter;
    StakeVault public vault;
    PoseidonT3 public poseidon2;
    PoseidonT10 public poseidon9;

    function deploy(address operator, address holder, uint256 bond, uint64 window) internal {
        poseidon2 = new PoseidonT3(address(new PoseidonT3Constants()));
        poseidon9 = new PoseidonT10(address(new PoseidonT10Constants()));
        token = new WorkToken("proofmint work", "WORK", CAP, address(this), holder, GENESIS);
        registry = new EpochRegistry(
            EpochRegistry.Config({
                governance: address(this),
                operator: operator,
                token: token,
                poseidon2: poseidon2,
                poseidon9: poseidon9,
                verifier: new AcceptingVerifier(),
                treeDepth: DEPTH,
                genesisEpoch: 1,
                price: 1e18,
                bond: bond,
                challengeWindow: window,
                answerWindow: window,
                disputeDeposit: 0.1 ether
            })
        );
        market = registry.market();
        minter = new RewardMinter(token, registry, 10_000e18, 0.99e18, 1e18, 1);
        vault = minter.vault();
        token.grantRole(token.MINTER_ROLE(), address(minter));
    }

    /// @dev The root of a tree of depth DEPTH holding only `leaf`, at index 0.
    function oneLeafRoot(uint256 leaf) internal view returns (uint256 node) {
        node = leaf;
        for (uint256 h = 0; h < DEPTH; h++) {
            node = poseidon2.hash([node, uint256(0)]);
        }
    }

    function emptyPath() internal pure returns (uint256[] memory siblings) {
        siblings = new uint256[](DEPTH);
    }
}
