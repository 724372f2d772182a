//! Typed bindings of the contracts' external functions, events and errors
//! (kept by hand in step with `contracts/src`; the tests fail if they drift).

#![allow(missing_docs, clippy::too_many_arguments)]

alloy_sol_types::sol! {
    #![sol(all_derives)]

    /// A receipt as the registry's challenges take it.
    struct ReceiptData {
        uint256 jobId;
        address node;
        address client;
        uint64 epoch;
        uint64 units;
        uint32 kind;
        uint256 inputCommitment;
        uint256 outputCommitment;
    }

    /// A claim's public inputs (less the root) and its proof.
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

    struct RegistryConfig {
        address governance;
        address operator;
        address token;
        address poseidon2;
        address poseidon9;
        address verifier;
        uint8 treeDepth;
        uint64 genesisEpoch;
        uint256 price;
        uint256 bond;
        uint64 challengeWindow;
        uint64 answerWindow;
        uint256 disputeDeposit;
    }

    struct EpochRecord {
        uint256 root;
        uint64 count;
        uint64 windowEnds;
        uint32 openDisputes;
        bool posted;
        bool voided;
        bool bondReturned;
        address operator;
        uint256 bond;
        address verifier;
    }

    struct PaymentRecord {
        address client;
        address node;
        uint64 epoch;
        uint64 units;
    }

    interface IClaimVerifier {
        function verifyProof(uint256[2] a, uint256[2][2] b, uint256[2] c, uint256[6] pubSignals) external view returns (bool);
    }

    interface IPoseidon2 {
        function hash(uint256[2] inputs) external view returns (uint256);
    }

    interface IPoseidon9 {
        function hash(uint256[9] inputs) external view returns (uint256);
        error WrongConstants(address constants);
    }

    interface IWorkToken {
        function mint(address to, uint256 amount) external;
        function burn(uint256 amount) external;
        function balanceOf(address account) external view returns (uint256);
        function totalSupply() external view returns (uint256);
        function cap() external view returns (uint256);
        function approve(address spender, uint256 value) external returns (bool);
        function allowance(address owner, address spender) external view returns (uint256);
        function transfer(address to, uint256 value) external returns (bool);
        function grantRole(bytes32 role, address account) external;
        function renounceRole(bytes32 role, address callerConfirmation) external;
        function hasRole(bytes32 role, address account) external view returns (bool);
        function MINTER_ROLE() external view returns (bytes32);
        function DEFAULT_ADMIN_ROLE() external view returns (bytes32);
        error ERC20ExceededCap(uint256 increasedSupply, uint256 cap);
        error AccessControlUnauthorizedAccount(address account, bytes32 neededRole);
        error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed);
    }

    interface IGovernance {
        function schedule(address target, uint256 value, bytes data, bytes32 predecessor, bytes32 salt, uint256 delay) external;
        function execute(address target, uint256 value, bytes payload, bytes32 predecessor, bytes32 salt) external payable;
        function hashOperation(address target, uint256 value, bytes data, bytes32 predecessor, bytes32 salt) external pure returns (bytes32);
        function getMinDelay() external view returns (uint256);
        error TimelockUnexpectedOperationState(bytes32 operationId, bytes32 expectedStates);
        error TimelockInsufficientDelay(uint256 delay, uint256 minDelay);
        error AccessControlUnauthorizedAccount(address account, bytes32 neededRole);
    }

    interface IEpochRegistry {
        function postEpoch(uint64 epoch, uint256 root, uint64 count) external payable;
        function nextEpoch() external view returns (uint64);
        function bond() external view returns (uint256);
        function disputeDeposit() external view returns (uint256);
        function challengeWindow() external view returns (uint64);
        function market() external view returns (address);
        function epochInfo(uint64 epoch) external view returns (EpochRecord memory);
        function isFinal(uint64 epoch) external view returns (bool);
        function challengeUnpaid(uint64 epoch, ReceiptData r, uint256 index, uint256[] siblings) external;
        function challengeDuplicate(uint64 epoch, ReceiptData a, uint256 indexA, uint256[] siblingsA, ReceiptData b, uint256 indexB, uint256[] siblingsB) external;
        function disputeSignature(uint64 epoch, ReceiptData r, uint256 index, uint256[] siblings) external payable;
        function answerDispute(uint64 epoch, uint256 index, ReceiptData r, bytes signature) external;
        function resolveDispute(uint64 epoch, uint256 index) external;
        function receiptDigest(ReceiptData r) external view returns (bytes32);
        function domainSeparator() external view returns (bytes32);
        function leafOf(ReceiptData r) external view returns (uint256);
        function returnBond(uint64 epoch) external;
        function withdraw() external;
        function credit(address account) external view returns (uint256);
        function setClaimVerifier(address verifier) external;
        function grantRole(bytes32 role, address account) external;
        function OPERATOR_ROLE() external view returns (bytes32);
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
        error DisputesOpen(uint64 epoch, uint32 open);
        error AccessControlUnauthorizedAccount(address account, bytes32 neededRole);
        event EpochPosted(uint64 indexed epoch, uint256 root, uint64 count, address operator, uint64 windowEnds, address verifier);
        event EpochVoided(uint64 indexed epoch, uint8 offence, uint256 index, address challenger);
    }

    interface IRewardMinter {
        function emission(uint64 epoch) external view returns (uint256);
        function claim(ClaimInput input) external returns (uint256 reward);
        function claimWithAuthorization(ClaimInput input, uint256 deadline, bytes signature) external returns (uint256 reward);
        function authorizationDigest(uint64 epoch, address node, uint256 totalUnits, uint256 firstIndex, uint256 lastIndex, uint256 nonce, uint256 deadline) external view returns (bytes32);
        function deliveredUnits(address node, uint64 epoch) external view returns (uint256);
        function nextIndex(address node, uint64 epoch) external view returns (uint256);
        function mintedInEpoch(uint64 epoch) external view returns (uint256);
        function claimNonce(address node) external view returns (uint256);
        function vault() external view returns (address);
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
        event Claimed(uint64 indexed epoch, address indexed node, uint256 totalUnits, uint256 firstIndex, uint256 lastIndex, uint256 reward);
    }

    interface IStakeVault {
        function stake(uint256 amount, uint64 startEpoch, uint64 endEpoch) external;
        function release(address node) external returns (uint256 returned, uint256 slashed);
        function slashOf(address node) external view returns (uint256);
        function isActive(address node, uint64 epoch) external view returns (bool);
        function totalStaked() external view returns (uint256);
        function totalReleased() external view returns (uint256);
        function totalSlashed() external view returns (uint256);
        error AlreadyStaked(address node);
        error StakeBelowOneUnit(uint256 amount, uint256 stakePerUnit);
        error StakeTooLarge(uint256 amount);
        error StakeMustStartInFuture(uint64 startEpoch, uint64 nextEpoch);
        error InvalidEpochRange(uint64 startEpoch, uint64 endEpoch);
        error NoStake(address node);
        error RangeNotEnded(uint64 endEpoch, uint64 releasableAfter);
        error EpochNotSettled(uint64 epoch);
        event Released(address indexed node, uint256 returned, uint256 slashed);
    }

    interface IJobMarket {
        function payForJob(uint256 salt, address node, uint64 epoch, uint64 units) external returns (uint256 jobId);
        function jobIdOf(address client, uint256 salt) external pure returns (uint256);
        function payment(uint256 jobId) external view returns (PaymentRecord memory);
        function paidUnits(uint64 epoch) external view returns (uint256);
        function price() external view returns (uint256);
        function setPrice(uint256 newPrice) external;
        error ZeroUnits();
        error ZeroNode();
        error JobAlreadyPaid(uint256 jobId);
        error EpochClosed(uint64 epoch, uint64 nextEpoch);
        error NotGovernance(address caller);
        event JobPaid(uint256 indexed jobId, address indexed client, address indexed node, uint64 epoch, uint64 units, uint256 amount);
    }
}
