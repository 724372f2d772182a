//! Typed bindings of the contracts' external functions, events and errors
//! (kept by hand in step with `contracts/src`; the tests fail if they drift).

#![allow(missing_docs, clippy::too_many_arguments)]

alloy_sol_types::sol! {
    interface IClaimVerifier {
        function verifyProof(uint256[2] a, uint256[2][2] b, uint256[2] c, uint256[6] pubSignals) external view returns (bool);
    }

    interface IWorkToken {
        function mint(address to, uint256 amount) external;
        function balanceOf(address account) external view returns (uint256);
        function totalSupply() external view returns (uint256);
        function cap() external view returns (uint256);
        function approve(address spender, uint256 value) external returns (bool);
        function transfer(address to, uint256 value) external returns (bool);
        function grantRole(bytes32 role, address account) external;
        function MINTER_ROLE() external view returns (bytes32);
        error ERC20ExceededCap(uint256 increasedSupply, uint256 cap);
        error AccessControlUnauthorizedAccount(address account, bytes32 neededRole);
        error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed);
    }

    interface IEpochRegistry {
        function postEpoch(uint64 epoch, uint256 root, uint256 totalUnits, uint256 count) external;
        function latestEpoch() external view returns (uint64);
        error EpochAlreadyPosted(uint64 epoch);
        error EpochOutOfOrder(uint64 epoch, uint64 latestEpoch);
        error EmptyEpoch(uint64 epoch);
        error RootNotInField(uint256 root);
        event EpochPosted(uint64 indexed epoch, uint256 root, uint256 totalUnits, uint256 count);
    }

    interface IRewardMinter {
        function emission(uint64 epoch) external view returns (uint256);
        function claim(uint64 epoch, address node, uint256 totalUnits, uint256 firstIndex, uint256 lastIndex, uint256[2] a, uint256[2][2] b, uint256[2] c) external returns (uint256 reward);
        function deliveredUnits(address node, uint64 epoch) external view returns (uint256);
        function nextIndex(address node, uint64 epoch) external view returns (uint256);
        error DecayNotBelowOne(uint256 decayPerEpoch);
        error EmissionExceedsCap(uint256 maxTotalEmission, uint256 cap);
        error EpochBeforeGenesis(uint64 epoch, uint64 genesisEpoch);
        error EpochNotPosted(uint64 epoch);
        error InvalidRange(uint256 firstIndex, uint256 lastIndex);
        error RangeOverlapsEarlierClaim(address node, uint64 epoch, uint256 firstIndex, uint256 nextIndex);
        error ClaimExceedsEpoch(uint256 totalUnits, uint256 epochTotalUnits);
        error InvalidProof();
        event Claimed(uint64 indexed epoch, address indexed node, uint256 totalUnits, uint256 firstIndex, uint256 lastIndex, uint256 reward);
    }

    interface IStakeVault {
        function stake(uint256 amount, uint256 capacity, uint64 startEpoch, uint64 endEpoch) external;
        function release() external returns (uint256 returned, uint256 slashed);
        function slashOf(address node) external view returns (uint256);
        error AlreadyStaked(address node);
        error ZeroAmount();
        error ZeroCapacity();
        error InvalidEpochRange(uint64 startEpoch, uint64 endEpoch);
        error NoStake(address node);
        error RangeNotEnded(uint64 endEpoch, uint64 releasableAfter);
        event Released(address indexed node, uint256 returned, uint256 slashed);
    }

    interface IJobMarket {
        function payForJob(uint256 jobId, uint256 amount) external;
        error ZeroAmount();
        error JobAlreadyPaid(uint256 jobId);
        event JobPaid(uint256 indexed jobId, address indexed client, uint256 amount);
    }
}
