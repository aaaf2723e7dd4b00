// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC7265CircuitBreaker} from "../IERC7265CircuitBreaker.sol";

/// @title BreakerVault
/// @notice A one-asset deposit vault for the logic-exploit drain drill (SCENARIOS.md §6), optionally
///         protected by an ERC-7265 circuit breaker: every deposit is reported with
///         `onTokenInflow`, every payout goes to the breaker and through `onTokenOutflow`. Deployed
///         with `breaker = address(0)` it pays directly: the unprotected counterfactual, and the
///         baseline the gas benchmark compares a protected withdrawal against. Drill-only.
///
///         The planted bug: `withdrawFor` is meant for operators a depositor approved, and forgets
///         to check the approval — one missing check in one function, the class of Euler's
///         `donateToReserves`. Anyone can pay any depositor's balance to themselves.
contract BreakerVault {
    using SafeERC20 for IERC20;

    IERC20 public immutable asset;
    /// @notice address(0) = unprotected.
    IERC7265CircuitBreaker public immutable breaker;
    /// @notice Passed to `onTokenOutflow`: revert a breaching withdrawal instead of locking it.
    bool public immutable revertOnRateLimit;

    mapping(address => uint256) public balanceOf;
    mapping(address owner => mapping(address operator => bool)) public isOperator;
    uint256 public totalDeposits;

    event Deposit(address indexed owner, uint256 amount);
    event Withdraw(address indexed owner, address indexed to, uint256 amount);
    event OperatorSet(address indexed owner, address indexed operator, bool approved);

    error InsufficientBalance(uint256 balance, uint256 amount);
    error ZeroAmount();

    constructor(IERC20 asset_, IERC7265CircuitBreaker breaker_, bool revertOnRateLimit_) {
        asset = asset_;
        breaker = breaker_;
        revertOnRateLimit = revertOnRateLimit_;
    }

    function deposit(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        asset.safeTransferFrom(msg.sender, address(this), amount);
        balanceOf[msg.sender] += amount;
        totalDeposits += amount;
        if (address(breaker) != address(0)) breaker.onTokenInflow(address(asset), amount);
        emit Deposit(msg.sender, amount);
    }

    function withdraw(uint256 amount) external {
        _debit(msg.sender, amount);
        _pay(msg.sender, amount);
        emit Withdraw(msg.sender, msg.sender, amount);
    }

    function setOperator(address operator, bool approved) external {
        isOperator[msg.sender][operator] = approved;
        emit OperatorSet(msg.sender, operator, approved);
    }

    /// @notice Pays `amount` of `owner`'s balance to `to`. BUG (planted): no
    ///         `isOperator[owner][msg.sender]` check.
    function withdrawFor(address owner, uint256 amount, address to) external {
        _debit(owner, amount);
        _pay(to, amount);
        emit Withdraw(owner, to, amount);
    }

    function _debit(address owner, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        uint256 balance = balanceOf[owner];
        if (balance < amount) revert InsufficientBalance(balance, amount);
        unchecked {
            balanceOf[owner] = balance - amount;
            totalDeposits -= amount;
        }
    }

    function _pay(address to, uint256 amount) private {
        if (address(breaker) == address(0)) {
            asset.safeTransfer(to, amount);
        } else {
            asset.safeTransfer(address(breaker), amount);
            breaker.onTokenOutflow(address(asset), amount, to, revertOnRateLimit);
        }
    }
}
