// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC7265CircuitBreaker} from "../IERC7265CircuitBreaker.sol";

/// @title DonationVault
/// @notice DRILL-ONLY AND DELIBERATELY VULNERABLE: never deploy it anywhere that holds real funds.
///
///         A multi-asset lending vault shaped after Euler Finance (SCENARIOS.md §6), for the
///         logic-exploit drain drill. Each asset is its own market: an account's collateral and
///         debt in one asset back each other (Euler's self-collateralised borrowing), healthy while
///         `collateral * 95% >= debt`. `mint` creates collateral and debt together (leverage),
///         `donateToReserves` gives collateral to the protocol, and an unhealthy account can be
///         liquidated by anyone, who takes over its debt and receives its collateral at a discount
///         that grows with how unhealthy the account is (up to 20 %).
///
///         The planted bug, Euler's: `donateToReserves` has no health check. An account can lever
///         up, donate until it is deeply unhealthy, and have a second account of its own liquidate
///         it: the liquidator receives collateral worth 20 % more than the debt it takes over and
///         withdraws the excess in cash, while the violator is left with debt and no collateral —
///         the honest depositors' cash, drained in one transaction.
///
///         Optionally protected by an ERC-7265 breaker: every inflow is reported with
///         `onTokenInflow`, every payout goes to the breaker and through `onTokenOutflow` (locked,
///         not reverted, when the breaker is rate limited). `breaker = address(0)`: pays directly.
contract DonationVault {
    using SafeERC20 for IERC20;

    uint256 public constant BPS = 10_000;
    /// @notice Self-collateralised borrowing factor: debt may reach 95 % of the collateral.
    uint256 public constant FACTOR_BPS = 9_500;
    uint256 public constant MAX_DISCOUNT_BPS = 2_000;

    IERC7265CircuitBreaker public immutable breaker;

    mapping(address asset => bool) public listed;
    mapping(address asset => mapping(address account => uint256)) public collateralOf;
    mapping(address asset => mapping(address account => uint256)) public debtOf;
    mapping(address asset => uint256) public reserves;

    event Deposit(address indexed asset, address indexed account, uint256 amount);
    event Withdraw(address indexed asset, address indexed account, address to, uint256 amount);
    event Mint(address indexed asset, address indexed account, uint256 amount);
    event Repay(address indexed asset, address indexed account, uint256 amount);
    event Donate(address indexed asset, address indexed account, uint256 amount);
    event Liquidation(
        address indexed asset, address indexed violator, address indexed liquidator, uint256 debt, uint256 collateral
    );

    error NotListed(address asset);
    error Unhealthy(address account, address asset);
    error Healthy(address account, address asset);
    error ZeroAmount();
    error SelfLiquidation();

    constructor(IERC7265CircuitBreaker breaker_, address[] memory assets) {
        breaker = breaker_;
        for (uint256 i = 0; i < assets.length; i++) listed[assets[i]] = true;
    }

    modifier onlyListed(address asset) {
        if (!listed[asset]) revert NotListed(asset);
        _;
    }

    function deposit(address asset, uint256 amount) external onlyListed(asset) {
        if (amount == 0) revert ZeroAmount();
        _pull(asset, amount);
        collateralOf[asset][msg.sender] += amount;
        emit Deposit(asset, msg.sender, amount);
    }

    function withdraw(address asset, uint256 amount, address to) external onlyListed(asset) {
        if (amount == 0) revert ZeroAmount();
        collateralOf[asset][msg.sender] -= amount;
        if (!isHealthy(msg.sender, asset)) revert Unhealthy(msg.sender, asset);
        _pay(asset, to, amount);
        emit Withdraw(asset, msg.sender, to, amount);
    }

    /// @notice Leverage: collateral and debt of `amount` each, no tokens move.
    function mint(address asset, uint256 amount) external onlyListed(asset) {
        collateralOf[asset][msg.sender] += amount;
        debtOf[asset][msg.sender] += amount;
        if (!isHealthy(msg.sender, asset)) revert Unhealthy(msg.sender, asset);
        emit Mint(asset, msg.sender, amount);
    }

    function repay(address asset, uint256 amount) external onlyListed(asset) {
        if (amount == 0) revert ZeroAmount();
        _pull(asset, amount);
        debtOf[asset][msg.sender] -= amount;
        emit Repay(asset, msg.sender, amount);
    }

    /// @notice Gives `amount` of the caller's collateral to the protocol's reserves.
    ///         BUG (planted, Euler's): no `isHealthy(msg.sender, asset)` check afterwards.
    function donateToReserves(address asset, uint256 amount) external onlyListed(asset) {
        collateralOf[asset][msg.sender] -= amount;
        reserves[asset] += amount;
        emit Donate(asset, msg.sender, amount);
    }

    /// @notice Liquidates an unhealthy account: the caller takes over as much of its debt as its
    ///         collateral covers at the discount, and receives all of that collateral.
    function liquidate(address violator, address asset) external onlyListed(asset) {
        if (violator == msg.sender) revert SelfLiquidation();
        if (isHealthy(violator, asset)) revert Healthy(violator, asset);
        uint256 collateral = collateralOf[asset][violator];
        uint256 debt = debtOf[asset][violator];
        uint256 health = (collateral * FACTOR_BPS) / debt; // bps of the healthy line
        uint256 discount = health >= BPS ? 0 : BPS - health;
        if (discount > MAX_DISCOUNT_BPS) discount = MAX_DISCOUNT_BPS;
        uint256 taken = (collateral * BPS) / (BPS + discount);
        if (taken > debt) taken = debt;
        debtOf[asset][violator] = debt - taken;
        collateralOf[asset][violator] = 0;
        debtOf[asset][msg.sender] += taken;
        collateralOf[asset][msg.sender] += collateral;
        if (!isHealthy(msg.sender, asset)) revert Unhealthy(msg.sender, asset);
        emit Liquidation(asset, violator, msg.sender, taken, collateral);
    }

    function isHealthy(address account, address asset) public view returns (bool) {
        return collateralOf[asset][account] * FACTOR_BPS >= debtOf[asset][account] * BPS;
    }

    /// @notice The most `account` can withdraw of `asset` and stay healthy (ignoring cash).
    function maxWithdraw(address account, address asset) external view returns (uint256) {
        uint256 collateral = collateralOf[asset][account];
        uint256 needed = (debtOf[asset][account] * BPS + FACTOR_BPS - 1) / FACTOR_BPS;
        return collateral > needed ? collateral - needed : 0;
    }

    function cash(address asset) external view returns (uint256) {
        return IERC20(asset).balanceOf(address(this));
    }

    function _pull(address asset, uint256 amount) private {
        IERC20(asset).safeTransferFrom(msg.sender, address(this), amount);
        if (address(breaker) != address(0)) breaker.onTokenInflow(asset, amount);
    }

    function _pay(address asset, address to, uint256 amount) private {
        if (address(breaker) == address(0)) {
            IERC20(asset).safeTransfer(to, amount);
        } else {
            IERC20(asset).safeTransfer(address(breaker), amount);
            breaker.onTokenOutflow(asset, amount, to, false);
        }
    }
}
