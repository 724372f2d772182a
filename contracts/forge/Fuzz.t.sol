// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm, System} from "./Harness.sol";
import {EpochRegistry} from "../src/EpochRegistry.sol";
import {RewardMinter} from "../src/RewardMinter.sol";
import {StakeVault} from "../src/StakeVault.sol";
import {JobMarket} from "../src/JobMarket.sol";

/// @notice Property tests over random inputs (forge fuzz): each property is one function.
contract FuzzTest is System {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    address internal constant OPERATOR = address(0x0b);
    address internal constant CLIENT = address(0xc1);

    function setUp() public {
        deploy(OPERATOR, CLIENT, 1 ether, 3600);
        vm.deal(OPERATOR, 1_000 ether);
        vm.prank(CLIENT);
        token.approve(address(market), type(uint256).max);
    }

    /// Emission never grows and never exceeds the initial emission.
    function testFuzz_emissionIsBoundedAndDecays(uint64 epoch) public view {
        uint256 e = minter.emission(epoch);
        require(e <= minter.initialEmission(), "emission above the initial emission");
        if (epoch >= 1 && epoch < type(uint64).max) {
            require(minter.emission(epoch + 1) <= e, "emission grew");
        }
    }

    /// Job ids are field elements namespaced by their client: two clients never share one.
    function testFuzz_jobIdsAreNamespacedFieldElements(address a, address b, uint256 salt) public view {
        vm.assume(a != b);
        uint256 ida = market.jobIdOf(a, salt);
        require(ida < R, "job id outside the field");
        require(ida != market.jobIdOf(b, salt), "two clients share a job id");
    }

    /// Paying records exactly what was paid and burns exactly price x units.
    function testFuzz_paymentsBurnAndRecord(uint256 salt, address node, uint64 units) public {
        vm.assume(node != address(0));
        units = uint64(bound(units, 1, 400_000));
        uint256 supply = token.totalSupply();
        vm.prank(CLIENT);
        uint256 id = market.payForJob(salt, node, 1, units);
        JobMarket.Payment memory p = market.payment(id);
        require(p.client == CLIENT && p.node == node && p.epoch == 1 && p.units == units, "payment record");
        require(supply - token.totalSupply() == uint256(units) * 1e18, "burn");
        require(market.paidUnits(1) == units, "paid units");
        require(market.covers(id, CLIENT, node, 1, units), "covers itself");
        require(!market.covers(id, CLIENT, node, 1, units + 1), "covers more units");
        require(!market.covers(id, node == CLIENT ? address(1) : node, node, 1, units), "covers another client");
    }

    /// Posting anything but the next epoch is refused; the next one is accepted.
    function testFuzz_epochsAdvanceByOne(uint64 epoch, uint256 root) public {
        root = bound(root, 0, R - 1);
        vm.prank(OPERATOR);
        try registry.postEpoch{value: 1 ether}(epoch, root, 1) {
            require(epoch == 1, "an epoch other than the next was posted");
        } catch {
            require(epoch != 1, "the next epoch was refused");
        }
    }

    /// A stake is accepted only for future epochs, a bounded range and a backed capacity.
    function testFuzz_stakeParameters(uint256 amount, uint64 start, uint64 end) public {
        vm.prank(CLIENT);
        token.transfer(address(this), 100_000e18);
        token.approve(address(vault), type(uint256).max);
        bool valid = amount <= 100_000e18 && amount >= 1e18 && start >= 1 && end >= start && end - start < 1024;
        try vault.stake(amount, start, end) {
            require(valid, "an invalid stake was accepted");
            (uint128 staked,,, uint256 capacity) = vault.stakes(address(this));
            require(staked == amount && capacity == amount / 1e18, "stake record");
        } catch {
            require(!valid, "a valid stake was refused");
        }
    }

    /// A challenge with a receipt that is not the posted leaf never voids an epoch.
    function testFuzz_challengesOfAbsentLeavesFail(uint256 jobId, uint64 units, uint256 index) public {
        jobId = bound(jobId, 0, R - 1);
        index = bound(index, 0, 3);
        EpochRegistry.Receipt memory real = EpochRegistry.Receipt(7, address(0xa), address(0xb), 1, 5, 1, 0, 0);
        uint256 root = oneLeafRoot(registry.leafOf(real));
        vm.prank(OPERATOR);
        registry.postEpoch{value: 1 ether}(1, root, 1);
        EpochRegistry.Receipt memory other = EpochRegistry.Receipt(jobId, address(0xa), address(0xb), 1, units, 1, 0, 0);
        vm.assume(jobId != 7 || units != 5 || index != 0);
        try registry.challengeUnpaid(1, other, index, emptyPath()) {
            revert("an absent leaf voided the epoch");
        } catch {}
        require(!registry.epochInfo(1).voided, "voided");
        // The real (unpaid) leaf does.
        registry.challengeUnpaid(1, real, 0, emptyPath());
        require(registry.epochInfo(1).voided, "the unpaid leaf did not void");
    }

    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + x % (hi - lo + 1);
    }

    receive() external payable {}
}
