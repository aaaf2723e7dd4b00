// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title IERC7265CircuitBreaker
/// @notice The circuit-breaker interface of ERC-7265 as first published (2023-07, the version whose
///         reference implementation takes `(admin, rateLimitCooldownPeriod, withdrawalPeriod,
///         liquidityTickLength)`), so that a protocol written against it can swap Firebreak's
///         `CircuitBreaker` in. Names, argument order, events and views follow that version.
///         The native asset is `address(1)` throughout.
interface IERC7265CircuitBreaker {
    /// @notice An asset got rate-limit parameters (`registerAsset`).
    event AssetRegistered(address indexed asset, uint256 metricThreshold, uint256 minAmountToLimit);
    /// @notice A protected contract recorded an inflow (`onTokenInflow`, `onNativeAssetInflow`).
    event AssetInflow(address indexed token, uint256 indexed amount);
    /// @notice An outflow made an asset breach its limit, and the breaker became rate limited.
    event AssetRateLimitBreached(address indexed asset, uint256 timestamp);
    /// @notice An outflow reached its recipient.
    event AssetWithdraw(address indexed asset, address indexed recipient, uint256 amount);
    /// @notice A recipient's locked funds were paid out (`claimLockedFunds`).
    event LockedFundsClaimed(address indexed asset, address indexed recipient);
    /// @notice The admin changed (`setAdmin`).
    event AdminSet(address indexed newAdmin);
    /// @notice A grace period started (`startGracePeriod`).
    event GracePeriodStarted(uint256 gracePeriodEnd);

    /// @notice Registers an asset: `metricThreshold` is the share of liquidity that must remain over
    ///         the withdrawal period, in basis points (1..10000); below `minAmountToLimit` of
    ///         liquidity no limit triggers. Admin only; reverts for an asset already registered.
    function registerAsset(address _asset, uint256 _metricThreshold, uint256 _minAmountToLimit) external;

    /// @notice Changes a registered asset's parameters. Admin only.
    function updateAssetParams(address _asset, uint256 _metricThreshold, uint256 _minAmountToLimit) external;

    /// @notice Records an ERC-20 inflow into a protected contract. Protected contracts only.
    function onTokenInflow(address _token, uint256 _amount) external;

    /// @notice Records an ERC-20 outflow that the protected contract has already sent to the
    ///         breaker, and pays `_recipient` unless the outflow breaches the limit: then the funds
    ///         stay locked for `_recipient` (or the call reverts, if `_revertOnRateLimit`).
    function onTokenOutflow(address _token, uint256 _amount, address _recipient, bool _revertOnRateLimit) external;

    /// @notice Records a native-asset inflow into a protected contract. Protected contracts only.
    function onNativeAssetInflow(uint256 _amount) external;

    /// @notice As `onTokenOutflow`, for the native asset sent along with the call.
    function onNativeAssetOutflow(address _recipient, bool _revertOnRateLimit) external payable;

    /// @notice Pays a recipient's locked funds once the breaker is no longer rate limited.
    function claimLockedFunds(address _asset, address _recipient) external;

    /// @notice Hands the admin role over. Admin only; never to address(0).
    function setAdmin(address _newAdmin) external;

    /// @notice Lifts a rate limit judged a false positive and starts a grace period that lasts until
    ///         one withdrawal period after the breach. Admin only.
    function overrideRateLimit() external;

    /// @notice Lifts a rate limit once the cooldown period has passed. Anyone.
    function overrideExpiredRateLimit() external;

    /// @notice Admin only.
    function addProtectedContracts(address[] calldata _ProtectedContracts) external;

    /// @notice Admin only.
    function removeProtectedContracts(address[] calldata _ProtectedContracts) external;

    /// @notice No limit triggers until `_gracePeriodEndTimestamp` (in the future). Admin only.
    function startGracePeriod(uint256 _gracePeriodEndTimestamp) external;

    /// @notice Stops the breaker for good: inflows, outflows and claims revert from now on.
    function markAsNotOperational() external;

    /// @notice Once not operational, sends the breaker's whole balance of each asset to
    ///         `_recoveryRecipient`. Admin only.
    function migrateFundsAfterExploit(address[] calldata _assets, address _recoveryRecipient) external;

    function lockedFunds(address recipient, address asset) external view returns (uint256 amount);
    function isProtectedContract(address account) external view returns (bool protectionActive);
    function admin() external view returns (address);
    function isRateLimited() external view returns (bool);
    function rateLimitCooldownPeriod() external view returns (uint256);
    function lastRateLimitTimestamp() external view returns (uint256);
    function gracePeriodEndTimestamp() external view returns (uint256);
    function isRateLimitTriggered(address _asset) external view returns (bool);
    function isInGracePeriod() external view returns (bool);
    function isOperational() external view returns (bool);
}
