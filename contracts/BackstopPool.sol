// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @dev Aave v3.0 `DataTypes.ReserveData`, field for field (only the token addresses are used).
struct AaveV3ReserveData {
    uint256 configuration;
    uint128 liquidityIndex;
    uint128 currentLiquidityRate;
    uint128 variableBorrowIndex;
    uint128 currentVariableBorrowRate;
    uint128 currentStableBorrowRate;
    uint40 lastUpdateTimestamp;
    uint16 id;
    address aTokenAddress;
    address stableDebtTokenAddress;
    address variableDebtTokenAddress;
    address interestRateStrategyAddress;
    uint128 accruedToTreasury;
    uint128 unbacked;
    uint128 isolationModeTotalDebt;
}

/// @dev The part of Aave v3's Pool the backstop reads and calls.
interface IAaveV3PoolForBackstop {
    function getReserveData(address asset) external view returns (AaveV3ReserveData memory);
    /// @dev `DataTypes.UserConfigurationMap`: a one-word struct.
    function getUserConfiguration(address user) external view returns (uint256);
    function repay(address asset, uint256 amount, uint256 interestRateMode, address onBehalfOf)
        external
        returns (uint256);
}

/// @title BackstopPool
/// @notice An insurance pool for lending markets. Stakers deposit one stable asset and receive
///         shares; governance (the owner) registers protected Aave v3 markets, each with a coverage
///         limit and a premium rate; when a market has realised bad debt in that asset, anyone may
///         have the pool repay it, up to the market's remaining coverage, and every staker bears the
///         loss pro rata (the assets behind each share fall). Withdrawals wait a cooldown, so
///         stakers cannot leave ahead of a payout once an incident starts; shares waiting in a
///         withdrawal request still bear losses.
///
/// Realised bad debt, read from the market itself (no price, no oracle anyone can set): an Aave
/// v3 borrower whose user configuration has no collateral bit set (`getUserConfiguration`: bit
/// 2i+1 of reserve i) and who still owes variable debt in the pool's asset. Aave clears a collateral
/// bit when a liquidation takes the whole balance, and never lets a borrower withdraw or disable
/// collateral that backs debt, so such debt can no longer be recovered by any liquidation: it is
/// a loss of the market's suppliers. The pool repays it with `Pool.repay(asset, amount, 2,
/// borrower)`, paying what the variable debt token says is owed (interest included). Stable-rate
/// debt is not covered (disabled on Aave v3 markets since 2023). Aave v3.3+ markets write such
/// debt off themselves ("deficit"); there the pool would find none to repay.
///
/// Shares: `shares = assets * (totalShares + 1e3) / (totalAssets + 1)`; the virtual 1e3 shares and
/// 1 asset make the first deposit 1:1e3 and defeat the donation (inflation) attack. `totalAssets`
/// is accounted, not read from the balance, so a donation moves nothing. Invariant: the assets
/// behind all stakers' shares never exceed `totalAssets`, and fall short of it by rounding dust.
///
/// Premium: a configurable yearly rate on each market's coverage limit accrues as a debt of the
/// market; `payPremium` (anyone, e.g. the market's treasury) adds to `totalAssets`, so stakers earn
/// it. Coverage does not lapse when the premium is unpaid: the rate comes from the risk engine's
/// VaR in a later step, with enforcement.
contract BackstopPool is Ownable2Step, ReentrancyGuard {
    using SafeERC20 for IERC20;

    uint256 public constant VARIABLE_RATE_MODE = 2;
    uint256 public constant VIRTUAL_SHARES = 1e3;
    uint256 public constant BPS = 10_000;
    uint64 public constant MIN_COOLDOWN = 1 hours;
    uint64 public constant MAX_COOLDOWN = 90 days;
    uint64 public constant MIN_WITHDRAW_WINDOW = 1 hours;
    uint256 private constant COLLATERAL_BITS = 0xAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA;

    struct Market {
        IAaveV3PoolForBackstop pool;
        address variableDebtToken;
        uint256 coverageLimit;
        uint256 coverageUsed;
        uint16 premiumRateBps; // per year, on the coverage limit
        uint64 premiumAccruedAt;
        uint256 premiumOwed;
    }

    struct WithdrawRequest {
        uint256 shares;
        uint64 readyAt;
    }

    IERC20 public immutable asset;
    uint256 public totalAssets;
    uint256 public totalShares;
    mapping(address => uint256) public sharesOf;
    mapping(address => WithdrawRequest) public withdrawRequests;
    uint64 public cooldown;
    /// @notice How long after the cooldown a request stays executable.
    uint64 public withdrawWindow;

    Market[] private _markets;

    event Deposited(address indexed staker, uint256 assets, uint256 shares);
    event WithdrawRequested(address indexed staker, uint256 shares, uint64 readyAt);
    event Withdrawn(address indexed staker, uint256 shares, uint256 assets);
    event MarketRegistered(uint256 indexed marketId, address indexed pool, uint256 coverageLimit, uint16 premiumRateBps);
    event CoverageLimitSet(uint256 indexed marketId, uint256 coverageLimit);
    event PremiumRateSet(uint256 indexed marketId, uint16 premiumRateBps);
    event PremiumPaid(uint256 indexed marketId, address indexed payer, uint256 amount);
    event BadDebtCovered(uint256 indexed marketId, address indexed borrower, uint256 repaid, uint256 debtBefore);
    event CooldownSet(uint64 cooldown, uint64 withdrawWindow);

    error ZeroAmount();
    error ZeroShares();
    error InsufficientShares(uint256 have, uint256 want);
    error NoWithdrawRequest();
    error CooldownNotOver(uint64 readyAt);
    error WithdrawWindowPassed(uint64 closedAt);
    error InvalidCooldown(uint64 cooldown, uint64 withdrawWindow);
    error InvalidMarket(address pool);
    error UnknownMarket(uint256 marketId);
    error InvalidPremiumRate(uint16 premiumRateBps);
    error NotRealisedBadDebt(address borrower);
    error NoCoverageLeft(uint256 marketId);
    error NoStakers();
    error RenounceDisabled();

    constructor(address governance, IERC20 asset_, uint64 cooldown_, uint64 withdrawWindow_) Ownable(governance) {
        asset = asset_;
        _setCooldown(cooldown_, withdrawWindow_);
    }

    // ------------------------------------------------------------------ stakers

    function deposit(uint256 assets) external nonReentrant returns (uint256 shares) {
        if (assets == 0) revert ZeroAmount();
        shares = previewDeposit(assets);
        if (shares == 0) revert ZeroShares();
        asset.safeTransferFrom(msg.sender, address(this), assets);
        totalAssets += assets;
        totalShares += shares;
        sharesOf[msg.sender] += shares;
        emit Deposited(msg.sender, assets, shares);
    }

    /// @notice Starts the cooldown for `shares` (replacing any earlier request). They keep bearing
    ///         losses until withdrawn.
    function requestWithdraw(uint256 shares) external {
        if (shares == 0) revert ZeroShares();
        uint256 have = sharesOf[msg.sender];
        if (shares > have) revert InsufficientShares(have, shares);
        uint64 readyAt = uint64(block.timestamp) + cooldown;
        withdrawRequests[msg.sender] = WithdrawRequest({shares: shares, readyAt: readyAt});
        emit WithdrawRequested(msg.sender, shares, readyAt);
    }

    /// @notice Burns the requested shares once the cooldown is over (and the window still open),
    ///         paying what they are worth now.
    function withdraw() external nonReentrant returns (uint256 assets) {
        WithdrawRequest memory r = withdrawRequests[msg.sender];
        if (r.shares == 0) revert NoWithdrawRequest();
        if (block.timestamp < r.readyAt) revert CooldownNotOver(r.readyAt);
        if (block.timestamp > uint256(r.readyAt) + withdrawWindow) {
            revert WithdrawWindowPassed(r.readyAt + withdrawWindow);
        }
        uint256 have = sharesOf[msg.sender];
        uint256 shares = r.shares < have ? r.shares : have;
        delete withdrawRequests[msg.sender];
        // The last shares out take everything, rounding dust included: no asset is left unowned.
        assets = shares == totalShares ? totalAssets : convertToAssets(shares);
        sharesOf[msg.sender] = have - shares;
        totalShares -= shares;
        totalAssets -= assets;
        asset.safeTransfer(msg.sender, assets);
        emit Withdrawn(msg.sender, shares, assets);
    }

    // ------------------------------------------------------------------ cover

    /// @notice Repays `borrower`'s realised bad debt in `marketId` (see the contract's notes), up
    ///         to the market's remaining coverage and the pool's assets. Anyone may call: the
    ///         condition is read from the market.
    function coverBadDebt(uint256 marketId, address borrower) external nonReentrant returns (uint256 repaid) {
        Market storage m = _market(marketId);
        uint256 debt = badDebtOf(marketId, borrower);
        if (debt == 0) revert NotRealisedBadDebt(borrower);
        uint256 left = m.coverageLimit > m.coverageUsed ? m.coverageLimit - m.coverageUsed : 0;
        uint256 amount = Math.min(Math.min(debt, left), totalAssets);
        if (amount == 0) revert NoCoverageLeft(marketId);
        address pool = address(m.pool);
        uint256 balanceBefore = asset.balanceOf(address(this));
        asset.forceApprove(pool, amount);
        m.pool.repay(address(asset), amount, VARIABLE_RATE_MODE, borrower);
        asset.forceApprove(pool, 0);
        // What actually left the pool, whatever the market reports.
        repaid = balanceBefore - asset.balanceOf(address(this));
        m.coverageUsed += repaid;
        totalAssets -= repaid;
        emit BadDebtCovered(marketId, borrower, repaid, debt);
    }

    /// @notice `borrower`'s realised bad debt in the pool's asset: their variable debt if no
    ///         collateral backs it any more, else 0.
    function badDebtOf(uint256 marketId, address borrower) public view returns (uint256) {
        Market storage m = _market(marketId);
        if (m.pool.getUserConfiguration(borrower) & COLLATERAL_BITS != 0) return 0;
        return IERC20(m.variableDebtToken).balanceOf(borrower);
    }

    /// @notice Pays premium for a market: the assets go to the stakers (`totalAssets`). Anyone;
    ///         refused while the pool has no stakers (nobody would own it).
    function payPremium(uint256 marketId, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (totalShares == 0) revert NoStakers();
        Market storage m = _market(marketId);
        _accrue(m);
        asset.safeTransferFrom(msg.sender, address(this), amount);
        m.premiumOwed = amount >= m.premiumOwed ? 0 : m.premiumOwed - amount;
        totalAssets += amount;
        emit PremiumPaid(marketId, msg.sender, amount);
    }

    // ------------------------------------------------------------------ governance

    /// @notice Registers an Aave v3 market (its Pool proxy) whose debt in the pool's asset is covered.
    function registerMarket(address pool, uint256 coverageLimit, uint16 premiumRateBps)
        external
        onlyOwner
        returns (uint256 marketId)
    {
        if (pool.code.length == 0) revert InvalidMarket(pool);
        if (premiumRateBps > BPS) revert InvalidPremiumRate(premiumRateBps);
        address debtToken = IAaveV3PoolForBackstop(pool).getReserveData(address(asset)).variableDebtTokenAddress;
        if (debtToken == address(0)) revert InvalidMarket(pool);
        marketId = _markets.length;
        _markets.push(
            Market({
                pool: IAaveV3PoolForBackstop(pool),
                variableDebtToken: debtToken,
                coverageLimit: coverageLimit,
                coverageUsed: 0,
                premiumRateBps: premiumRateBps,
                premiumAccruedAt: uint64(block.timestamp),
                premiumOwed: 0
            })
        );
        emit MarketRegistered(marketId, pool, coverageLimit, premiumRateBps);
    }

    function setCoverageLimit(uint256 marketId, uint256 coverageLimit) external onlyOwner {
        Market storage m = _market(marketId);
        _accrue(m);
        m.coverageLimit = coverageLimit;
        emit CoverageLimitSet(marketId, coverageLimit);
    }

    function setPremiumRate(uint256 marketId, uint16 premiumRateBps) external onlyOwner {
        if (premiumRateBps > BPS) revert InvalidPremiumRate(premiumRateBps);
        Market storage m = _market(marketId);
        _accrue(m);
        m.premiumRateBps = premiumRateBps;
        emit PremiumRateSet(marketId, premiumRateBps);
    }

    function setCooldown(uint64 cooldown_, uint64 withdrawWindow_) external onlyOwner {
        _setCooldown(cooldown_, withdrawWindow_);
    }

    /// @notice Disabled: markets and cooldowns must stay governable.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceDisabled();
    }

    // ------------------------------------------------------------------ views

    function previewDeposit(uint256 assets) public view returns (uint256) {
        return Math.mulDiv(assets, totalShares + VIRTUAL_SHARES, totalAssets + 1);
    }

    function convertToAssets(uint256 shares) public view returns (uint256) {
        return Math.mulDiv(shares, totalAssets + 1, totalShares + VIRTUAL_SHARES);
    }

    function assetsOf(address staker) external view returns (uint256) {
        return convertToAssets(sharesOf[staker]);
    }

    function marketCount() external view returns (uint256) {
        return _markets.length;
    }

    function getMarket(uint256 marketId) external view returns (Market memory m) {
        m = _market(marketId);
        m.premiumOwed += _accruedSince(m);
    }

    function premiumOwed(uint256 marketId) external view returns (uint256) {
        Market storage m = _market(marketId);
        return m.premiumOwed + _accruedSince(m);
    }

    // ------------------------------------------------------------------ internals

    function _market(uint256 marketId) private view returns (Market storage) {
        if (marketId >= _markets.length) revert UnknownMarket(marketId);
        return _markets[marketId];
    }

    function _accruedSince(Market memory m) private view returns (uint256) {
        return (m.coverageLimit * m.premiumRateBps * (block.timestamp - m.premiumAccruedAt)) / (BPS * 365 days);
    }

    function _accrue(Market storage m) private {
        m.premiumOwed += _accruedSince(m);
        m.premiumAccruedAt = uint64(block.timestamp);
    }

    function _setCooldown(uint64 cooldown_, uint64 withdrawWindow_) private {
        if (cooldown_ < MIN_COOLDOWN || cooldown_ > MAX_COOLDOWN || withdrawWindow_ < MIN_WITHDRAW_WINDOW) {
            revert InvalidCooldown(cooldown_, withdrawWindow_);
        }
        cooldown = cooldown_;
        withdrawWindow = withdrawWindow_;
        emit CooldownSet(cooldown_, withdrawWindow_);
    }
}
