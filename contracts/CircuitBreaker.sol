// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC7265CircuitBreaker} from "./IERC7265CircuitBreaker.sol";

/// @title CircuitBreaker
/// @notice An ERC-7265 circuit breaker (the first published interface): protected contracts report
///         every inflow and route every outflow through it; when an asset's net outflow over the
///         rolling withdrawal period would leave less than `minLiqRetainedBps` of the liquidity it
///         had at the start of that period, the breaker becomes rate limited and holds outflows as
///         locked funds for their recipients until the admin overrides the limit or the cooldown
///         passes.
///
/// Limit semantics (as the reference implementation): for each registered asset the breaker keeps
/// `settled`, the net inflow recorded before the rolling window, and `inWindow`, the net inflow
/// (negative for a net outflow) recorded within it. A limit triggers when
/// `settled >= minAmountToLimit` and `settled + inWindow < settled * minLiqRetainedBps / 10000`.
/// Inflows within the window net against outflows, so a flash-loaned deposit withdrawn again does
/// not move the measure; liquidity that arrived within the window is not yet part of the base.
///
/// Rolling window: time is cut in ticks of `TICK_LENGTH` seconds; the window is the last
/// `WINDOW_TICKS = WITHDRAWAL_PERIOD / TICK_LENGTH` ticks. Each asset keeps a ring of
/// `WINDOW_TICKS` buckets (net change, tick) in storage, plus the current tick's net change in its
/// parameter slot, so that flows within one tick write one slot only. When time moves to a later
/// tick, the finished tick is written to the ring and the buckets that left the window move from
/// `inWindow` into `settled`: one slot visited per elapsed tick, and none at all once a whole
/// window has elapsed (everything has left it). A stale bucket is known by its tick, so slots are
/// never cleared. `minAmountToLimit` sits in its own slot, read only when the retention test fails.
///
/// Firebreak extensions, outside the EIP: a `guardian` (set by the admin, e.g. a `GuardianHub`)
/// may `trip()` the breaker (rate limit now, for every registered asset, without waiting for a
/// breach) and `markAsNotOperational()`; it can never lift a limit, start a grace period, move
/// funds or change parameters. Lock, trip, override and migration events, and `totalLocked`, make
/// the accounting auditable: `balance == totalLocked` for every asset between calls.
contract CircuitBreaker is IERC7265CircuitBreaker {
    using SafeERC20 for IERC20;

    /// @notice The native asset's stand-in address, as the EIP says.
    address public constant NATIVE_ADDRESS_PROXY = address(1);
    uint256 public constant BPS_DENOMINATOR = 10_000;
    /// @notice Bounds the ring, hence the worst-case gas of an outflow after a long idle period.
    uint256 public constant MAX_WINDOW_TICKS = 1024;

    uint256 public immutable WITHDRAWAL_PERIOD;
    uint256 public immutable TICK_LENGTH;
    uint256 public immutable WINDOW_TICKS;

    /// @dev Parameters, the last tick recorded and its net change: one slot, the only one a flow
    ///      within the same tick writes.
    struct Params {
        uint16 minLiqRetainedBps; // 0 = not registered
        uint32 lastTick;
        int128 current; // net change recorded in lastTick
    }

    /// @dev Running totals up to (not including) lastTick: one slot, written when the tick changes.
    struct Totals {
        int128 settled; // net change before the window
        int128 windowPast; // net change in the window's ticks before lastTick
    }

    /// @dev One tick's net change: one slot, never cleared.
    struct Bucket {
        int128 amount;
        uint64 tick;
    }

    /// @dev Flags read on every hook: one slot.
    struct State {
        uint64 lastRateLimitTimestamp;
        uint64 gracePeriodEndTimestamp;
        bool rateLimited;
        bool notOperational;
    }

    address public override admin;
    address public guardian;
    uint256 public immutable override rateLimitCooldownPeriod;
    State private _state;

    mapping(address => bool) public override isProtectedContract;
    mapping(address => Params) private _params;
    mapping(address => Totals) private _totals;
    mapping(address => uint256) private _limitBeginThreshold;
    mapping(address => mapping(uint256 => Bucket)) private _buckets;
    mapping(address recipient => mapping(address asset => uint256)) public override lockedFunds;
    /// @notice Sum of `lockedFunds` over recipients, per asset: what the breaker must still hold.
    mapping(address => uint256) public totalLocked;

    // ---- Firebreak events (outside the EIP) ----
    event AssetParamsUpdated(address indexed asset, uint256 metricThreshold, uint256 minAmountToLimit);
    event FundsLocked(address indexed asset, address indexed recipient, uint256 amount);
    event RateLimitTripped(address indexed by, uint256 timestamp);
    event RateLimitOverridden(address indexed by, uint256 gracePeriodEnd);
    event MarkedNotOperational(address indexed by);
    event FundsMigrated(address indexed asset, address indexed recipient, uint256 amount);
    event ProtectedContractSet(address indexed account, bool protectionActive);
    event GuardianSet(address indexed guardian);

    error NotAdmin();
    error NotAdminOrGuardian();
    error NotAProtectedContract();
    error NotOperational();
    error StillOperational();
    error RateLimited();
    error NotRateLimited();
    error CooldownPeriodNotReached();
    error NoLockedFunds();
    error InvalidAdminAddress();
    error InvalidRecipientAddress();
    error InvalidGracePeriodEnd();
    error InvalidPeriods(uint256 withdrawalPeriod, uint256 tickLength);
    error InvalidMetricThreshold(uint256 metricThreshold);
    error AssetAlreadyRegistered(address asset);
    error AssetNotRegistered(address asset);
    error AmountTooLarge(uint256 amount);
    error NativeTransferFailed();
    error UnexpectedNativeValue();

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin();
        _;
    }

    modifier onlyProtected() {
        if (!isProtectedContract[msg.sender]) revert NotAProtectedContract();
        _;
    }

    /// @param _admin Governance of the protected protocol.
    /// @param _rateLimitCooldownPeriod How long a rate limit lasts before anyone may lift it.
    /// @param _withdrawalPeriod The rolling window, seconds; a multiple of the tick length.
    /// @param _liquidityTickLength The bucket width, seconds.
    constructor(address _admin, uint256 _rateLimitCooldownPeriod, uint256 _withdrawalPeriod, uint256 _liquidityTickLength) {
        if (_admin == address(0)) revert InvalidAdminAddress();
        if (
            _liquidityTickLength == 0 || _withdrawalPeriod < _liquidityTickLength
                || _withdrawalPeriod % _liquidityTickLength != 0
                || _withdrawalPeriod / _liquidityTickLength > MAX_WINDOW_TICKS
        ) revert InvalidPeriods(_withdrawalPeriod, _liquidityTickLength);
        admin = _admin;
        rateLimitCooldownPeriod = _rateLimitCooldownPeriod;
        WITHDRAWAL_PERIOD = _withdrawalPeriod;
        TICK_LENGTH = _liquidityTickLength;
        WINDOW_TICKS = _withdrawalPeriod / _liquidityTickLength;
        emit AdminSet(_admin);
    }

    // ---------------------------------------------------------------- admin

    function registerAsset(address _asset, uint256 _metricThreshold, uint256 _minAmountToLimit)
        external
        override
        onlyAdmin
    {
        if (_params[_asset].minLiqRetainedBps != 0) revert AssetAlreadyRegistered(_asset);
        _checkParams(_metricThreshold);
        _params[_asset] =
            Params({minLiqRetainedBps: uint16(_metricThreshold), lastTick: uint32(_currentTick()), current: 0});
        _limitBeginThreshold[_asset] = _minAmountToLimit;
        emit AssetRegistered(_asset, _metricThreshold, _minAmountToLimit);
    }

    function updateAssetParams(address _asset, uint256 _metricThreshold, uint256 _minAmountToLimit)
        external
        override
        onlyAdmin
    {
        Params storage p = _params[_asset];
        if (p.minLiqRetainedBps == 0) revert AssetNotRegistered(_asset);
        _checkParams(_metricThreshold);
        _record(_asset, 0); // bring the window up to now under the old parameters
        p.minLiqRetainedBps = uint16(_metricThreshold);
        _limitBeginThreshold[_asset] = _minAmountToLimit;
        emit AssetParamsUpdated(_asset, _metricThreshold, _minAmountToLimit);
    }

    function addProtectedContracts(address[] calldata _ProtectedContracts) external override onlyAdmin {
        for (uint256 i = 0; i < _ProtectedContracts.length; i++) {
            isProtectedContract[_ProtectedContracts[i]] = true;
            emit ProtectedContractSet(_ProtectedContracts[i], true);
        }
    }

    function removeProtectedContracts(address[] calldata _ProtectedContracts) external override onlyAdmin {
        for (uint256 i = 0; i < _ProtectedContracts.length; i++) {
            isProtectedContract[_ProtectedContracts[i]] = false;
            emit ProtectedContractSet(_ProtectedContracts[i], false);
        }
    }

    function setAdmin(address _newAdmin) external override onlyAdmin {
        if (_newAdmin == address(0)) revert InvalidAdminAddress();
        admin = _newAdmin;
        emit AdminSet(_newAdmin);
    }

    /// @notice Firebreak extension: the address that may trip the breaker and mark it not
    ///         operational (address(0) for none). Admin only.
    function setGuardian(address _guardian) external onlyAdmin {
        guardian = _guardian;
        emit GuardianSet(_guardian);
    }

    function overrideRateLimit() external override onlyAdmin {
        State memory s = _state;
        if (!s.rateLimited) revert NotRateLimited();
        s.rateLimited = false;
        s.gracePeriodEndTimestamp = uint64(uint256(s.lastRateLimitTimestamp) + WITHDRAWAL_PERIOD);
        _state = s;
        emit RateLimitOverridden(msg.sender, s.gracePeriodEndTimestamp);
    }

    function startGracePeriod(uint256 _gracePeriodEndTimestamp) external override onlyAdmin {
        if (_gracePeriodEndTimestamp <= block.timestamp || _gracePeriodEndTimestamp > type(uint64).max) {
            revert InvalidGracePeriodEnd();
        }
        _state.gracePeriodEndTimestamp = uint64(_gracePeriodEndTimestamp);
        emit GracePeriodStarted(_gracePeriodEndTimestamp);
    }

    function migrateFundsAfterExploit(address[] calldata _assets, address _recoveryRecipient)
        external
        override
        onlyAdmin
    {
        if (!_state.notOperational) revert StillOperational();
        if (_recoveryRecipient == address(0)) revert InvalidRecipientAddress();
        for (uint256 i = 0; i < _assets.length; i++) {
            address asset = _assets[i];
            uint256 amount =
                asset == NATIVE_ADDRESS_PROXY ? address(this).balance : IERC20(asset).balanceOf(address(this));
            totalLocked[asset] = 0;
            _transfer(asset, _recoveryRecipient, amount);
            emit FundsMigrated(asset, _recoveryRecipient, amount);
        }
    }

    // ---------------------------------------------------------------- admin or guardian

    /// @notice Firebreak extension: rate-limits the breaker now, as a breach would (every later
    ///         outflow of a registered asset is locked), and ends any grace period. Lifted like a
    ///         breach: `overrideRateLimit` (admin) or `overrideExpiredRateLimit` after the cooldown.
    function trip() external {
        if (msg.sender != admin && msg.sender != guardian) revert NotAdminOrGuardian();
        State memory s = _state;
        s.rateLimited = true;
        s.lastRateLimitTimestamp = uint64(block.timestamp);
        s.gracePeriodEndTimestamp = 0;
        _state = s;
        emit RateLimitTripped(msg.sender, block.timestamp);
    }

    /// @notice Stops the breaker for good. Admin (the EIP) or guardian (Firebreak extension).
    function markAsNotOperational() external override {
        if (msg.sender != admin && msg.sender != guardian) revert NotAdminOrGuardian();
        _state.notOperational = true;
        emit MarkedNotOperational(msg.sender);
    }

    // ---------------------------------------------------------------- anyone

    function overrideExpiredRateLimit() external override {
        State memory s = _state;
        if (!s.rateLimited) revert NotRateLimited();
        if (block.timestamp - s.lastRateLimitTimestamp < rateLimitCooldownPeriod) revert CooldownPeriodNotReached();
        _state.rateLimited = false;
        emit RateLimitOverridden(msg.sender, s.gracePeriodEndTimestamp);
    }

    function claimLockedFunds(address _asset, address _recipient) external override {
        State memory s = _state;
        if (s.notOperational) revert NotOperational();
        if (s.rateLimited) revert RateLimited();
        uint256 amount = lockedFunds[_recipient][_asset];
        if (amount == 0) revert NoLockedFunds();
        lockedFunds[_recipient][_asset] = 0;
        totalLocked[_asset] -= amount;
        emit LockedFundsClaimed(_asset, _recipient);
        _transfer(_asset, _recipient, amount);
    }

    // ---------------------------------------------------------------- protected contracts

    function onTokenInflow(address _token, uint256 _amount) external override onlyProtected {
        _inflow(_token, _amount);
    }

    function onNativeAssetInflow(uint256 _amount) external override onlyProtected {
        _inflow(NATIVE_ADDRESS_PROXY, _amount);
    }

    function onTokenOutflow(address _token, uint256 _amount, address _recipient, bool _revertOnRateLimit)
        external
        override
        onlyProtected
    {
        _outflow(_token, _amount, _recipient, _revertOnRateLimit);
    }

    function onNativeAssetOutflow(address _recipient, bool _revertOnRateLimit) external payable override onlyProtected {
        _outflow(NATIVE_ADDRESS_PROXY, msg.value, _recipient, _revertOnRateLimit);
    }

    /// @dev The breaker takes native asset only through `onNativeAssetOutflow`.
    receive() external payable {
        revert UnexpectedNativeValue();
    }

    // ---------------------------------------------------------------- views

    function isRateLimited() external view override returns (bool) {
        return _state.rateLimited;
    }

    function isOperational() external view override returns (bool) {
        return !_state.notOperational;
    }

    function lastRateLimitTimestamp() external view override returns (uint256) {
        return _state.lastRateLimitTimestamp;
    }

    function gracePeriodEndTimestamp() external view override returns (uint256) {
        return _state.gracePeriodEndTimestamp;
    }

    function isInGracePeriod() public view override returns (bool) {
        return block.timestamp <= _state.gracePeriodEndTimestamp;
    }

    /// @notice Whether the asset's limit is breached now (its window as of this block).
    function isRateLimitTriggered(address _asset) external view override returns (bool) {
        uint256 bps = _params[_asset].minLiqRetainedBps;
        if (bps == 0) return false;
        (int256 settled, int256 inWindow) = liquidity(_asset);
        return _breached(_asset, bps, settled, inWindow);
    }

    /// @notice An asset's parameters (bps 0 = not registered).
    function assetParams(address _asset)
        external
        view
        returns (uint256 minLiqRetainedBps, uint256 limitBeginThreshold)
    {
        return (_params[_asset].minLiqRetainedBps, _limitBeginThreshold[_asset]);
    }

    /// @notice An asset's measure as of this block: net inflow before the window, and within it.
    function liquidity(address _asset) public view returns (int256 settled, int256 inWindow) {
        Params memory p = _params[_asset];
        Totals memory t = _totals[_asset];
        uint256 nowTick = _currentTick();
        if (nowTick != p.lastTick) t = _rolled(_asset, p, t, nowTick);
        else t.windowPast += p.current;
        return (t.settled, t.windowPast);
    }

    // ---------------------------------------------------------------- internals

    function _inflow(address asset, uint256 amount) private {
        if (_state.notOperational) revert NotOperational();
        if (_params[asset].minLiqRetainedBps != 0) _record(asset, _toInt128(amount));
        emit AssetInflow(asset, amount);
    }

    function _outflow(address asset, uint256 amount, address recipient, bool revertOnRateLimit) private {
        State memory s = _state;
        if (s.notOperational) revert NotOperational();
        if (recipient == address(0)) revert InvalidRecipientAddress();
        // Unregistered assets pass straight through (the EIP: they are never rate limited).
        (uint256 bps, int256 settled, int256 inWindow) = _record(asset, -_toInt128(amount));
        if (bps != 0) {
            bool lock = s.rateLimited;
            if (!lock && block.timestamp > s.gracePeriodEndTimestamp && _breached(asset, bps, settled, inWindow)) {
                if (revertOnRateLimit) revert RateLimited();
                s.rateLimited = true;
                s.lastRateLimitTimestamp = uint64(block.timestamp);
                _state = s;
                emit AssetRateLimitBreached(asset, block.timestamp);
                lock = true;
            }
            if (lock) {
                if (revertOnRateLimit) revert RateLimited();
                lockedFunds[recipient][asset] += amount;
                totalLocked[asset] += amount;
                emit FundsLocked(asset, recipient, amount);
                return;
            }
        }
        _transfer(asset, recipient, amount);
        emit AssetWithdraw(asset, recipient, amount);
    }

    /// @dev Retention test first (no extra read); the minimum liquidity only when it fails.
    function _breached(address asset, uint256 bps, int256 settled, int256 inWindow) private view returns (bool) {
        int256 minLiq = (settled * int256(bps)) / int256(BPS_DENOMINATOR);
        if (settled + inWindow >= minLiq) return false;
        return settled >= 0 && uint256(settled) >= _limitBeginThreshold[asset];
    }

    /// @dev Adds `delta` to a registered asset's current tick, rolling the window to now first.
    ///      Returns the asset's bps (0: not registered, nothing recorded) and its measure.
    function _record(address asset, int128 delta) private returns (uint256 bps, int256 settled, int256 inWindow) {
        Params memory p = _params[asset];
        bps = p.minLiqRetainedBps;
        if (bps == 0) return (0, 0, 0);
        Totals memory t = _totals[asset];
        uint256 nowTick = _currentTick();
        if (nowTick != p.lastTick) {
            if (p.current != 0) _buckets[asset][uint256(p.lastTick) % WINDOW_TICKS] = Bucket(p.current, p.lastTick);
            t = _rolled(asset, p, t, nowTick);
            _totals[asset] = t;
            p.lastTick = uint32(nowTick);
            p.current = 0;
        }
        p.current += delta;
        _params[asset] = p;
        return (bps, t.settled, t.windowPast + p.current);
    }

    /// @dev The totals at `nowTick` (> lastTick): the last tick joins the window's past, then the
    ///      ticks that left the window move to `settled`.
    function _rolled(address asset, Params memory p, Totals memory t, uint256 nowTick)
        private
        view
        returns (Totals memory)
    {
        uint256 last = p.lastTick;
        t.windowPast += p.current;
        if (nowTick - last >= WINDOW_TICKS) {
            t.settled += t.windowPast; // the whole window has passed
            t.windowPast = 0;
            return t;
        }
        for (uint256 j = last + 1; j <= nowTick; j++) {
            if (j < WINDOW_TICKS) continue;
            uint256 leaving = j - WINDOW_TICKS;
            Bucket memory b = _buckets[asset][leaving % WINDOW_TICKS];
            if (b.tick == leaving) {
                t.settled += b.amount;
                t.windowPast -= b.amount;
            }
        }
        return t;
    }

    function _currentTick() private view returns (uint256) {
        return block.timestamp / TICK_LENGTH;
    }

    function _checkParams(uint256 metricThreshold) private pure {
        if (metricThreshold == 0 || metricThreshold > BPS_DENOMINATOR) revert InvalidMetricThreshold(metricThreshold);
    }

    function _toInt128(uint256 amount) private pure returns (int128) {
        if (amount > uint256(uint128(type(int128).max))) revert AmountTooLarge(amount);
        return int128(int256(amount));
    }

    function _transfer(address asset, address to, uint256 amount) private {
        if (amount == 0) return;
        if (asset == NATIVE_ADDRESS_PROXY) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert NativeTransferFailed();
        } else {
            IERC20(asset).safeTransfer(to, amount);
        }
    }
}
