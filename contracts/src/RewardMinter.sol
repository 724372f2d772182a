// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {WorkToken} from "./WorkToken.sol";
import {EpochRegistry} from "./EpochRegistry.sol";
import {JobMarket} from "./JobMarket.sol";
import {IClaimVerifier} from "./IClaimVerifier.sol";
import {StakeVault, IDeliveries} from "./StakeVault.sol";

/// @title RewardMinter
/// @notice Mints rewards against Groth16 claim proofs: a node proven to hold receipts worth
///         `totalUnits` of a final epoch receives `emission(epoch) * totalUnits /
///         paidUnits(epoch)`, where paidUnits is what clients paid for on chain, never a
///         figure the operator posts; and no epoch ever mints more than its emission.
/// @dev A claim is submitted by its node, or by anyone carrying the node's EIP-712
///      `ClaimAuthorization` (ERC-1271 wallets included), whose nonce orders a node's
///      relayed claims: nobody can claim a victim's last leaf first, or replay its second
///      claim ahead of its first. Claiming needs a stake active in the epoch.
///      Emission decays geometrically from `initialEmission` at the registry's genesis
///      epoch by the fixed-point ratio `decayPerEpoch` (1e18 = 1); the series sums to at
///      most initialEmission / (1 - decay), which the constructor checks fits the room the
///      token's cap leaves above its genesis supply.
contract RewardMinter is EIP712 {
    uint256 internal constant ONE = 1e18;
    bytes32 public constant CLAIM_TYPEHASH = keccak256(
        "ClaimAuthorization(uint64 epoch,address node,uint256 totalUnits,uint256 firstIndex,uint256 lastIndex,uint256 nonce,uint256 deadline)"
    );

    /// @notice A claim: its public inputs (the root comes from the registry) and its proof.
    struct ClaimInput {
        uint64 epoch;
        address node;
        uint256 totalUnits;
        uint256 firstIndex;
        uint256 lastIndex;
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    WorkToken public immutable token;
    EpochRegistry public immutable registry;
    JobMarket public immutable market;
    StakeVault public immutable vault;
    uint256 public immutable initialEmission;
    uint256 public immutable decayPerEpoch;
    uint64 public immutable genesisEpoch;

    /// @notice The first leaf index a node's next claim in an epoch may start at.
    mapping(address => mapping(uint64 => uint256)) public nextIndex;
    /// @notice Units a node has proven delivered in an epoch.
    mapping(address => mapping(uint64 => uint256)) public deliveredUnits;
    /// @notice Tokens minted for each epoch so far (never above emission(epoch)).
    mapping(uint64 => uint256) public mintedInEpoch;
    /// @notice The nonce a node's next relayed claim authorization must carry.
    mapping(address => uint256) public claimNonce;

    event Claimed(
        uint64 indexed epoch,
        address indexed node,
        uint256 totalUnits,
        uint256 firstIndex,
        uint256 lastIndex,
        uint256 reward
    );

    error DecayNotBelowOne(uint256 decayPerEpoch);
    error EmissionExceedsCap(uint256 maxTotalEmission, uint256 room);
    error ClaimNotAuthorized(address node, address sender);
    error AuthorizationExpired(uint256 deadline);
    error EpochNotPosted(uint64 epoch);
    error EpochIsVoided(uint64 epoch);
    error EpochNotFinal(uint64 epoch);
    error NoActiveStake(address node, uint64 epoch);
    error InvalidRange(uint256 firstIndex, uint256 lastIndex);
    error RangeOverlapsEarlierClaim(address node, uint64 epoch, uint256 firstIndex, uint256 nextIndex);
    error NothingPaid(uint64 epoch);
    error ClaimExceedsPaidUnits(uint256 totalUnits, uint256 paidUnits);
    error EpochEmissionExceeded(uint64 epoch, uint256 minted, uint256 emission);
    error InvalidProof();

    constructor(
        WorkToken token_,
        EpochRegistry registry_,
        uint256 initialEmission_,
        uint256 decayPerEpoch_,
        uint256 stakePerUnit,
        uint64 graceEpochs
    ) EIP712("proofmint", "1") {
        if (decayPerEpoch_ >= ONE) revert DecayNotBelowOne(decayPerEpoch_);
        uint256 maxTotal = initialEmission_ * ONE / (ONE - decayPerEpoch_);
        uint256 room = token_.cap() - token_.totalSupply();
        if (maxTotal > room) revert EmissionExceedsCap(maxTotal, room);
        token = token_;
        registry = registry_;
        market = registry_.market();
        initialEmission = initialEmission_;
        decayPerEpoch = decayPerEpoch_;
        genesisEpoch = registry_.genesisEpoch();
        vault = new StakeVault(token_, registry_, IDeliveries(address(this)), stakePerUnit, graceEpochs);
    }

    /// @notice Tokens emitted for `epoch`: initialEmission * decay^(epoch - genesis), rounded down.
    function emission(uint64 epoch) public view returns (uint256) {
        if (epoch < genesisEpoch) return 0;
        uint256 factor = ONE;
        uint256 base = decayPerEpoch;
        for (uint256 n = epoch - genesisEpoch; n > 0; n >>= 1) {
            if (n & 1 == 1) factor = factor * base / ONE;
            base = base * base / ONE;
        }
        return initialEmission * factor / ONE;
    }

    /// @notice Claims the caller's reward for its receipts at leaves firstIndex..lastIndex
    ///         of `epoch`, proven by (a, b, c). `claim.node` must be the caller.
    function claim(ClaimInput calldata input) external returns (uint256) {
        if (msg.sender != input.node) revert ClaimNotAuthorized(input.node, msg.sender);
        return _claim(input);
    }

    /// @notice The same claim submitted by a relayer, with the node's EIP-712
    ///         `ClaimAuthorization` for exactly this claim, its next nonce and a deadline.
    function claimWithAuthorization(ClaimInput calldata input, uint256 deadline, bytes calldata signature)
        external
        returns (uint256)
    {
        if (block.timestamp > deadline) revert AuthorizationExpired(deadline);
        address node = input.node;
        uint256 nonce = claimNonce[node];
        bytes32 digest = authorizationDigest(
            input.epoch, node, input.totalUnits, input.firstIndex, input.lastIndex, nonce, deadline
        );
        if (!SignatureChecker.isValidSignatureNow(node, digest, signature)) {
            revert ClaimNotAuthorized(node, msg.sender);
        }
        claimNonce[node] = nonce + 1;
        return _claim(input);
    }

    /// @notice The EIP-712 digest a node signs to authorize a relayed claim.
    function authorizationDigest(
        uint64 epoch,
        address node,
        uint256 totalUnits,
        uint256 firstIndex,
        uint256 lastIndex,
        uint256 nonce,
        uint256 deadline
    ) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(CLAIM_TYPEHASH, epoch, node, totalUnits, firstIndex, lastIndex, nonce, deadline))
        );
    }

    function _claim(ClaimInput calldata input) internal returns (uint256 reward) {
        uint64 epoch = input.epoch;
        address node = input.node;
        uint256 paid = _checkAndVerify(input);
        reward = _record(epoch, input.totalUnits, paid);
        nextIndex[node][epoch] = input.lastIndex + 1;
        deliveredUnits[node][epoch] += input.totalUnits;
        emit Claimed(epoch, node, input.totalUnits, input.firstIndex, input.lastIndex, reward);
        if (reward > 0) token.mint(node, reward);
    }

    /// @dev Every refusal, then the proof against the epoch's own verifier; returns the
    ///      epoch's paid units.
    function _checkAndVerify(ClaimInput calldata input) internal view returns (uint256 paid) {
        uint64 epoch = input.epoch;
        address node = input.node;
        EpochRegistry.Epoch memory posted = registry.epochInfo(epoch);
        if (!posted.posted) revert EpochNotPosted(epoch);
        if (posted.voided) revert EpochIsVoided(epoch);
        if (!registry.isFinal(epoch)) revert EpochNotFinal(epoch);
        if (!vault.isActive(node, epoch)) revert NoActiveStake(node, epoch);
        if (input.firstIndex > input.lastIndex) revert InvalidRange(input.firstIndex, input.lastIndex);
        uint256 next = nextIndex[node][epoch];
        if (input.firstIndex < next) revert RangeOverlapsEarlierClaim(node, epoch, input.firstIndex, next);
        paid = market.paidUnits(epoch);
        if (paid == 0) revert NothingPaid(epoch);
        if (input.totalUnits > paid) revert ClaimExceedsPaidUnits(input.totalUnits, paid);
        uint256[6] memory pubSignals = [
            posted.root, uint256(epoch), uint256(uint160(node)), input.totalUnits, input.firstIndex, input.lastIndex
        ];
        if (!posted.verifier.verifyProof(input.a, input.b, input.c, pubSignals)) revert InvalidProof();
    }

    /// @dev The reward for `totalUnits` of `paid`, counted against the epoch's emission,
    ///      which it never exceeds whatever the tree holds.
    function _record(uint64 epoch, uint256 totalUnits, uint256 paid) internal returns (uint256 reward) {
        uint256 epochEmission = emission(epoch);
        reward = epochEmission * totalUnits / paid;
        uint256 minted = mintedInEpoch[epoch] + reward;
        if (minted > epochEmission) revert EpochEmissionExceeded(epoch, minted, epochEmission);
        mintedInEpoch[epoch] = minted;
    }
}
