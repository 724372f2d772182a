// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm, System} from "./Harness.sol";
import {EpochRegistry} from "../src/EpochRegistry.sol";
import {RewardMinter} from "../src/RewardMinter.sol";

/// @notice The actors, called by forge's invariant runner in random sequences: clients
///         pay, nodes stake and claim any range and any units (the verifier accepts every
///         proof, so only the contracts' own checks stand), an operator posts honest-looking
///         or unpaid roots, anyone challenges, time passes, anyone releases.
contract Handler is System {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    address internal constant CLIENT = address(0xc1);
    uint64 internal constant WINDOW = 3600;

    address[3] public nodes = [address(0xa1), address(0xa2), address(0xa3)];
    /// Epochs posted with an unpaid leaf (the receipt to challenge them with).
    mapping(uint64 => EpochRegistry.Receipt) internal unpaid;
    mapping(uint64 => bool) public hasUnpaid;
    uint64[] public touched;
    /// Leaves each node has been rewarded for, per epoch (a leaf rewarded twice sets `doubleReward`).
    mapping(address => mapping(uint64 => mapping(uint256 => bool))) internal rewarded;
    bool public doubleReward;
    uint256 public mintedByClaims;
    uint256 internal salt;

    constructor() {
        deploy(address(this), CLIENT, 1 ether, WINDOW);
        vm.deal(address(this), 1_000_000 ether);
        vm.prank(CLIENT);
        token.approve(address(market), type(uint256).max);
        for (uint256 i = 0; i < 3; i++) {
            vm.prank(CLIENT);
            token.transfer(nodes[i], 50_000e18);
            vm.prank(nodes[i]);
            token.approve(address(vault), type(uint256).max);
        }
        // Two nodes stake for the whole run; the third stakes (and is released) as it goes.
        for (uint256 i = 0; i < 2; i++) {
            vm.prank(nodes[i]);
            vault.stake(1_000e18, 1, 1000);
        }
    }

    uint256 public claimsMinted;
    uint256 public voids;
    uint256 public releases;

    function clamp(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + x % (hi - lo + 1);
    }

    function pay(uint8 nodeSeed, uint64 units, uint8 ahead) external {
        uint64 epoch = registry.nextEpoch() + uint64(ahead % 3);
        vm.prank(CLIENT);
        market.payForJob(salt++, nodes[nodeSeed % 3], epoch, uint64(clamp(units, 1, 5_000)));
    }

    function stake(uint8 nodeSeed, uint256 amount, uint8 length) external {
        uint64 start = registry.nextEpoch();
        vm.prank(nodes[2]);
        nodeSeed;
        vault.stake(clamp(amount, 1e18, 20_000e18), start, start + uint64(length % 4));
    }

    /// Posts the next epoch: a root the fuzzer picks, or one leaf nobody paid for.
    function post(uint256 root, bool withUnpaidLeaf, uint8 nodeSeed) external {
        uint64 epoch = registry.nextEpoch();
        if (withUnpaidLeaf) {
            EpochRegistry.Receipt memory r =
                EpochRegistry.Receipt(salt++ % 1000 + 1_000_000, nodes[nodeSeed % 3], CLIENT, epoch, 1_000, 1, 0, 0);
            root = oneLeafRoot(registry.leafOf(r));
            unpaid[epoch] = r;
            hasUnpaid[epoch] = true;
        }
        registry.postEpoch{value: 1 ether}(epoch, root % 21888242871839275222246405745257275088548364400416034343698204186575808495617, 1);
        touched.push(epoch);
    }

    function challenge(uint64 epochSeed) external {
        if (touched.length == 0) return;
        uint64 epoch = touched[epochSeed % touched.length];
        if (!hasUnpaid[epoch]) return;
        registry.challengeUnpaid(epoch, unpaid[epoch], 0, emptyPath());
        voids++;
    }

    function warp(uint32 seconds_) external {
        vm.warp(block.timestamp + clamp(seconds_, 1, 2 * WINDOW));
    }

    function claim(uint8 nodeSeed, uint64 epochSeed, uint256 units, uint256 first, uint256 span) external {
        if (touched.length == 0) return;
        address node = nodes[nodeSeed % 3];
        uint64 epoch = touched[epochSeed % touched.length];
        first = clamp(first, 0, 3);
        uint256 last = first + clamp(span, 0, 3);
        RewardMinter.ClaimInput memory input;
        input.epoch = epoch;
        input.node = node;
        // Any units up to all the epoch's paid units: several nodes together can claim
        // far more than was paid, which only the minter's per-epoch cap stops.
        input.totalUnits = clamp(units, 0, market.paidUnits(epoch));
        input.firstIndex = first;
        input.lastIndex = last;
        uint256 before = token.balanceOf(node);
        vm.prank(node);
        minter.claim(input);
        mintedByClaims += token.balanceOf(node) - before;
        claimsMinted++;
        for (uint256 i = first; i <= last; i++) {
            if (rewarded[node][epoch][i]) doubleReward = true;
            rewarded[node][epoch][i] = true;
        }
    }

    function release(uint8 nodeSeed) external {
        vault.release(nodes[nodeSeed % 3]);
        releases++;
    }

    function touchedCount() external view returns (uint256) {
        return touched.length;
    }

    receive() external payable {}
}

/// @notice The protocol's accounting invariants under random call sequences.
contract InvariantsTest {
    Handler internal handler;

    function setUp() public {
        handler = new Handler();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// Total minted never passes the cap.
    function invariant_supplyWithinCap() public view {
        require(handler.token().totalSupply() <= handler.token().cap(), "supply above the cap");
    }

    /// No epoch mints more than its emission.
    function invariant_epochMintWithinEmission() public view {
        RewardMinter minter = handler.minter();
        for (uint256 i = 0; i < handler.touchedCount(); i++) {
            uint64 e = handler.touched(i);
            require(minter.mintedInEpoch(e) <= minter.emission(e), "an epoch minted past its emission");
        }
    }

    /// No leaf index is rewarded twice to a node.
    function invariant_noLeafRewardedTwice() public view {
        require(!handler.doubleReward(), "a leaf was rewarded twice");
    }

    /// Staked = locked + released + slashed.
    function invariant_stakeAccounting() public view {
        require(
            handler.vault().totalStaked()
                == handler.token().balanceOf(address(handler.vault())) + handler.vault().totalReleased()
                    + handler.vault().totalSlashed(),
            "stake accounting"
        );
    }

    /// A voided epoch mints nothing.
    function invariant_voidedEpochsMintNothing() public view {
        for (uint256 i = 0; i < handler.touchedCount(); i++) {
            uint64 e = handler.touched(i);
            if (handler.registry().epochInfo(e).voided) {
                require(handler.minter().mintedInEpoch(e) == 0, "a voided epoch minted");
            }
        }
    }

    /// The handler reaches every state the invariants speak of: claims that mint,
    /// voided epochs, released stakes (a fixed walk, so the invariants are not vacuous).
    function test_everyActionCanSucceed() public {
        handler.stake(0, 2_000e18, 1); // node 2, epochs 1..=2
        handler.pay(0, 3_000, 0); // epoch 1
        handler.pay(1, 2_000, 0);
        handler.post(0, false, 0); // epoch 1
        handler.pay(0, 500, 0); // epoch 2
        handler.post(0, true, 1); // epoch 2, with an unpaid leaf
        handler.challenge(1);
        require(handler.voids() == 1 && handler.registry().epochInfo(2).voided, "no void");
        handler.warp(3600);
        handler.claim(0, 0, 3_000, 0, 0); // node 0, epoch 1
        handler.claim(1, 0, 2_000, 0, 0); // node 1, epoch 1
        require(handler.claimsMinted() == 2 && handler.mintedByClaims() > 0, "no claim minted");
        // Node 2 claims epoch 1 too: together the claims would pass the emission.
        try handler.claim(2, 0, 5_000, 1, 0) {
            revert("an epoch minted past its emission");
        } catch {}
        handler.post(0, false, 0); // epoch 3
        handler.post(0, false, 0); // epoch 4
        handler.warp(3600);
        handler.release(2);
        require(handler.releases() == 1, "no release");
        invariant_epochMintWithinEmission();
        invariant_stakeAccounting();
        invariant_voidedEpochsMintNothing();
        invariant_mintedOnlyByClaims();
    }

    /// Everything minted was minted by claims (no other path to mint).
    function invariant_mintedOnlyByClaims() public view {
        // genesis 500,000 tokens; burns only lower the supply.
        require(
            handler.token().totalSupply() <= 500_000e18 + handler.mintedByClaims(), "tokens minted outside claims"
        );
    }
}
