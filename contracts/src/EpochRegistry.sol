// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {WorkToken} from "./WorkToken.sol";
import {JobMarket, IEpochClock} from "./JobMarket.sol";
import {IClaimVerifier} from "./IClaimVerifier.sol";
import {PoseidonT3, PoseidonT10} from "./Poseidon.sol";

/// @title EpochRegistry
/// @notice Operators post each epoch's receipt-tree root with a bond. During the challenge
///         window anyone may prove a leaf bad: unpaid (no matching JobMarket payment), a
///         job id admitted twice, or a client signature the operator cannot produce. A
///         successful challenge voids the epoch (nothing of it is ever minted) and pays
///         half the bond to the challenger; claims are accepted only once an epoch is
///         final: posted, not voided, window over, no dispute open.
/// @dev Receipts are EIP-712 structs under the domain {name "proofmint", version "1",
///      chainId, verifyingContract: this registry}, so a receipt signed for another
///      deployment never verifies here. Leaves are circomlib's Poseidon of
///      (DOMAIN, jobId, node, client, epoch, units, kind, inputCommitment,
///      outputCommitment); inner nodes Poseidon(left, right); leaf index bits from the
///      least significant, at the leaves.
contract EpochRegistry is AccessControl, EIP712, IEpochClock {
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @dev BN254 scalar field modulus: roots and leaf inputs are field elements.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev "proofmint.receipt.v1" as a big-endian integer: the leaf's domain separator.
    uint256 internal constant LEAF_DOMAIN = uint256(uint160(bytes20("proofmint.receipt.v1")));
    bytes32 public constant RECEIPT_TYPEHASH = keccak256(
        "Receipt(uint256 jobId,address node,address client,uint64 epoch,uint64 units,uint32 kind,uint256 inputCommitment,uint256 outputCommitment)"
    );

    struct Receipt {
        uint256 jobId;
        address node;
        address client;
        uint64 epoch;
        uint64 units;
        uint32 kind;
        uint256 inputCommitment;
        uint256 outputCommitment;
    }

    struct Epoch {
        uint256 root;
        uint64 count;
        uint64 windowEnds;
        uint32 openDisputes;
        bool posted;
        bool voided;
        bool bondReturned;
        address operator;
        uint256 bond;
        /// @dev The claim verifier in force when the epoch was posted: a later replacement
        ///      does not change which proofs this epoch accepts.
        IClaimVerifier verifier;
    }

    struct Dispute {
        address challenger;
        uint64 deadline;
        uint256 deposit;
        bytes32 receiptHash;
    }

    enum Offence {
        Unpaid,
        DuplicateJob,
        BadSignature
    }

    JobMarket public immutable market;
    PoseidonT3 public immutable poseidon2;
    PoseidonT10 public immutable poseidon9;
    uint8 public immutable treeDepth;
    uint64 public immutable genesisEpoch;
    /// @notice The governance timelock (DEFAULT_ADMIN_ROLE): receives the other half of a
    ///         forfeited bond.
    address public immutable governance;

    /// @notice Wei an operator bonds with each posting.
    uint256 public bond;
    /// @notice Seconds after posting during which challenges are open.
    uint64 public challengeWindow;
    /// @notice Seconds the operator has to answer a signature dispute.
    uint64 public answerWindow;
    /// @notice Wei a signature dispute deposits (forfeited to the operator if answered).
    uint256 public disputeDeposit;
    /// @notice The claim verifier new postings record.
    IClaimVerifier public claimVerifier;

    /// @inheritdoc IEpochClock
    uint64 public nextEpoch;
    mapping(uint64 => Epoch) internal _epochs;
    mapping(uint64 => mapping(uint256 => Dispute)) public disputes;
    /// @notice Wei withdrawable by each account (bonds, challenger rewards, deposits).
    mapping(address => uint256) public credit;

    event EpochPosted(
        uint64 indexed epoch, uint256 root, uint64 count, address operator, uint64 windowEnds, address verifier
    );
    event EpochVoided(uint64 indexed epoch, Offence offence, uint256 index, address challenger);
    event SignatureDisputed(uint64 indexed epoch, uint256 index, address challenger, uint64 deadline);
    event DisputeAnswered(uint64 indexed epoch, uint256 index);
    event ClaimVerifierChanged(address verifier);
    event ParametersChanged(uint256 bond, uint64 challengeWindow, uint64 answerWindow, uint256 disputeDeposit);

    error EpochOutOfOrder(uint64 epoch, uint64 nextEpoch);
    error EmptyEpoch(uint64 epoch);
    error TooManyLeaves(uint64 count, uint8 depth);
    error RootNotInField(uint256 root);
    error WrongBond(uint256 sent, uint256 required);
    error EpochNotPosted(uint64 epoch);
    error EpochIsVoided(uint64 epoch);
    error ChallengeWindowClosed(uint64 epoch, uint64 windowEnds);
    error EpochNotFinal(uint64 epoch);
    error NotInField(uint256 value);
    error BadPath(uint256 index, uint256 siblings);
    error LeafNotInTree(uint64 epoch, uint256 index);
    error ReceiptIsPaid(uint256 jobId);
    error NotADuplicate();
    error DisputeExists(uint64 epoch, uint256 index);
    error NoDispute(uint64 epoch, uint256 index);
    error WrongReceipt();
    error SignatureInvalid(address recovered, address client);
    error AnswerWindowOpen(uint64 deadline);
    error NothingToWithdraw();
    error TransferFailed();
    error ZeroWindow();
    error BadDepth(uint8 depth);
    error DisputesOpen(uint64 epoch, uint32 open);

    /// @notice Deployment parameters (a struct: thirteen arguments overflow the stack).
    struct Config {
        address governance;
        address operator;
        WorkToken token;
        PoseidonT3 poseidon2;
        PoseidonT10 poseidon9;
        IClaimVerifier verifier;
        uint8 treeDepth;
        uint64 genesisEpoch;
        uint256 price;
        uint256 bond;
        uint64 challengeWindow;
        uint64 answerWindow;
        uint256 disputeDeposit;
    }

    constructor(Config memory c) EIP712("proofmint", "1") {
        if (c.challengeWindow == 0 || c.answerWindow == 0) revert ZeroWindow();
        if (c.treeDepth == 0 || c.treeDepth > 32) revert BadDepth(c.treeDepth);
        _grantRole(DEFAULT_ADMIN_ROLE, c.governance);
        _grantRole(OPERATOR_ROLE, c.operator);
        governance = c.governance;
        market = new JobMarket(c.token, this, c.governance, c.price);
        poseidon2 = c.poseidon2;
        poseidon9 = c.poseidon9;
        claimVerifier = c.verifier;
        treeDepth = c.treeDepth;
        genesisEpoch = c.genesisEpoch;
        nextEpoch = c.genesisEpoch;
        bond = c.bond;
        challengeWindow = c.challengeWindow;
        answerWindow = c.answerWindow;
        disputeDeposit = c.disputeDeposit;
    }

    // ---- posting ----

    /// @notice Posts `epoch`'s root and leaf count with the bond. Epochs advance by one
    ///         (none skipped, none in the future); a voided epoch may be posted again.
    function postEpoch(uint64 epoch, uint256 root, uint64 count) external payable onlyRole(OPERATOR_ROLE) {
        Epoch storage e = _epochs[epoch];
        if (epoch == nextEpoch) {
            nextEpoch = epoch + 1;
        } else if (!(e.posted && e.voided)) {
            revert EpochOutOfOrder(epoch, nextEpoch);
        } else if (e.openDisputes != 0) {
            // Anyone can clear them with resolveDispute, which refunds their deposits.
            revert DisputesOpen(epoch, e.openDisputes);
        }
        if (count == 0) revert EmptyEpoch(epoch);
        if (uint256(count) > (uint256(1) << treeDepth)) revert TooManyLeaves(count, treeDepth);
        if (root >= R) revert RootNotInField(root);
        if (msg.value != bond) revert WrongBond(msg.value, bond);
        uint64 windowEnds = uint64(block.timestamp) + challengeWindow;
        _epochs[epoch] = Epoch({
            root: root,
            count: count,
            windowEnds: windowEnds,
            openDisputes: 0,
            posted: true,
            voided: false,
            bondReturned: false,
            operator: msg.sender,
            bond: msg.value,
            verifier: claimVerifier
        });
        emit EpochPosted(epoch, root, count, msg.sender, windowEnds, address(claimVerifier));
    }

    /// @notice The record of `epoch` (`posted` false if never posted).
    function epochInfo(uint64 epoch) external view returns (Epoch memory) {
        return _epochs[epoch];
    }

    /// @notice Whether `epoch` accepts claims: posted, not voided, challenge window over,
    ///         no signature dispute open.
    function isFinal(uint64 epoch) public view returns (bool) {
        Epoch storage e = _epochs[epoch];
        return e.posted && !e.voided && block.timestamp >= e.windowEnds && e.openDisputes == 0;
    }

    /// @notice Whether `epoch` will not change any more: final, or voided (and not reposted).
    function isSettled(uint64 epoch) external view returns (bool) {
        return isFinal(epoch) || _epochs[epoch].voided;
    }

    // ---- challenges ----

    /// @notice Voids `epoch` by showing a leaf whose receipt has no matching payment
    ///         (same job id, client, node and epoch, at least as many units).
    function challengeUnpaid(uint64 epoch, Receipt calldata r, uint256 index, uint256[] calldata siblings)
        external
    {
        _requireOpen(epoch);
        _requireLeaf(epoch, r, index, siblings);
        if (r.epoch == epoch && market.covers(r.jobId, r.client, r.node, r.epoch, r.units)) {
            revert ReceiptIsPaid(r.jobId);
        }
        _void(epoch, Offence.Unpaid, index, msg.sender);
    }

    /// @notice Voids `epoch` by showing two leaves at different indices with one job id.
    function challengeDuplicate(
        uint64 epoch,
        Receipt calldata a,
        uint256 indexA,
        uint256[] calldata siblingsA,
        Receipt calldata b,
        uint256 indexB,
        uint256[] calldata siblingsB
    ) external {
        _requireOpen(epoch);
        if (indexA == indexB || a.jobId != b.jobId) revert NotADuplicate();
        _requireLeaf(epoch, a, indexA, siblingsA);
        _requireLeaf(epoch, b, indexB, siblingsB);
        _void(epoch, Offence.DuplicateJob, indexB, msg.sender);
    }

    /// @notice Disputes the client signature of the receipt at `index`, with a deposit of
    ///         `disputeDeposit`: the operator must answer with a valid signature within
    ///         `answerWindow`, or anyone may void the epoch with `resolveDispute`.
    function disputeSignature(uint64 epoch, Receipt calldata r, uint256 index, uint256[] calldata siblings)
        external
        payable
    {
        _requireOpen(epoch);
        if (msg.value != disputeDeposit) revert WrongBond(msg.value, disputeDeposit);
        if (disputes[epoch][index].challenger != address(0)) revert DisputeExists(epoch, index);
        _requireLeaf(epoch, r, index, siblings);
        uint64 deadline = uint64(block.timestamp) + answerWindow;
        disputes[epoch][index] = Dispute({
            challenger: msg.sender,
            deadline: deadline,
            deposit: msg.value,
            receiptHash: keccak256(abi.encode(r))
        });
        _epochs[epoch].openDisputes += 1;
        emit SignatureDisputed(epoch, index, msg.sender, deadline);
    }

    /// @notice Answers a dispute with the client's signature over the disputed receipt;
    ///         the deposit goes to the epoch's operator.
    function answerDispute(uint64 epoch, uint256 index, Receipt calldata r, bytes calldata signature) external {
        Dispute memory d = disputes[epoch][index];
        if (d.challenger == address(0)) revert NoDispute(epoch, index);
        if (keccak256(abi.encode(r)) != d.receiptHash) revert WrongReceipt();
        (address signer,,) = ECDSA.tryRecover(receiptDigest(r), signature);
        if (signer != r.client || signer == address(0)) revert SignatureInvalid(signer, r.client);
        delete disputes[epoch][index];
        _epochs[epoch].openDisputes -= 1;
        credit[_epochs[epoch].operator] += d.deposit;
        emit DisputeAnswered(epoch, index);
    }

    /// @notice After an unanswered dispute's deadline, voids the epoch and refunds the
    ///         deposit; once the epoch is voided, any open dispute just refunds.
    function resolveDispute(uint64 epoch, uint256 index) external {
        Dispute memory d = disputes[epoch][index];
        if (d.challenger == address(0)) revert NoDispute(epoch, index);
        Epoch storage e = _epochs[epoch];
        if (!e.voided && block.timestamp <= d.deadline) revert AnswerWindowOpen(d.deadline);
        delete disputes[epoch][index];
        e.openDisputes -= 1;
        credit[d.challenger] += d.deposit;
        if (!e.voided) _void(epoch, Offence.BadSignature, index, d.challenger);
    }

    /// @notice The EIP-712 digest a client signs for `r` under this deployment's domain.
    function receiptDigest(Receipt calldata r) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(RECEIPT_TYPEHASH, r)));
    }

    /// @notice The EIP-712 domain separator receipts are signed under.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice The Poseidon leaf of `r`; reverts on a non-canonical field element (x and
    ///         x + r would hash alike, and only the canonical one is the receipt).
    function leafOf(Receipt calldata r) public view returns (uint256) {
        if (r.jobId >= R) revert NotInField(r.jobId);
        if (r.inputCommitment >= R) revert NotInField(r.inputCommitment);
        if (r.outputCommitment >= R) revert NotInField(r.outputCommitment);
        return poseidon9.hash(
            [
                LEAF_DOMAIN,
                r.jobId,
                uint256(uint160(r.node)),
                uint256(uint160(r.client)),
                uint256(r.epoch),
                uint256(r.units),
                uint256(r.kind),
                r.inputCommitment,
                r.outputCommitment
            ]
        );
    }

    function _requireOpen(uint64 epoch) internal view {
        Epoch storage e = _epochs[epoch];
        if (!e.posted) revert EpochNotPosted(epoch);
        if (e.voided) revert EpochIsVoided(epoch);
        if (block.timestamp >= e.windowEnds) revert ChallengeWindowClosed(epoch, e.windowEnds);
    }

    function _requireLeaf(uint64 epoch, Receipt calldata r, uint256 index, uint256[] calldata siblings)
        internal
        view
    {
        if (siblings.length != treeDepth || index >> treeDepth != 0) revert BadPath(index, siblings.length);
        uint256 node = leafOf(r);
        for (uint256 h = 0; h < siblings.length; h++) {
            node = (index >> h) & 1 == 1 ? poseidon2.hash([siblings[h], node]) : poseidon2.hash([node, siblings[h]]);
        }
        if (node != _epochs[epoch].root) revert LeafNotInTree(epoch, index);
    }

    function _void(uint64 epoch, Offence offence, uint256 index, address challenger) internal {
        Epoch storage e = _epochs[epoch];
        e.voided = true;
        uint256 reward = e.bond / 2;
        credit[challenger] += reward;
        credit[governance] += e.bond - reward;
        e.bond = 0;
        emit EpochVoided(epoch, offence, index, challenger);
    }

    // ---- money ----

    /// @notice Credits the operator with an epoch's bond once the epoch is final.
    function returnBond(uint64 epoch) external {
        Epoch storage e = _epochs[epoch];
        if (!isFinal(epoch) || e.bondReturned) revert EpochNotFinal(epoch);
        e.bondReturned = true;
        credit[e.operator] += e.bond;
        e.bond = 0;
    }

    /// @notice Sends the caller its credit.
    function withdraw() external {
        uint256 amount = credit[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credit[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    // ---- governance (the timelock) ----

    /// @notice Replaces the claim verifier for epochs posted from now on.
    function setClaimVerifier(IClaimVerifier verifier) external onlyRole(DEFAULT_ADMIN_ROLE) {
        claimVerifier = verifier;
        emit ClaimVerifierChanged(address(verifier));
    }

    function setParameters(uint256 bond_, uint64 challengeWindow_, uint64 answerWindow_, uint256 disputeDeposit_)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (challengeWindow_ == 0 || answerWindow_ == 0) revert ZeroWindow();
        bond = bond_;
        challengeWindow = challengeWindow_;
        answerWindow = answerWindow_;
        disputeDeposit = disputeDeposit_;
        emit ParametersChanged(bond_, challengeWindow_, answerWindow_, disputeDeposit_);
    }
}
