// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";

/// @dev The few Aave v3 Pool functions the spawner calls (signatures of @aave/core-v3 1.19.3).
interface IAavePoolMinimal {
    function supply(address asset, uint256 amount, address onBehalfOf, uint16 referralCode) external;
    function borrow(address asset, uint256 amount, uint256 interestRateMode, uint16 referralCode, address onBehalfOf)
        external;
    function setUserEMode(uint8 categoryId) external;
}

interface IERC20Minimal {
    function approve(address spender, uint256 amount) external returns (bool);
}

/// @title PositionAccount
/// @notice A tiny account contract (deployed as EIP-1167 clones) that holds one Aave position: its
///         owner (the spawner) makes it call anything, so it can set its e-mode, borrow, repay,
///         withdraw, transfer aTokens and toggle collateral as `msg.sender`. Drill-only.
contract PositionAccount {
    address public owner;

    error NotOwner();
    error AlreadyInitialized();

    constructor() {
        // Locks the implementation; clones start with no owner and are initialized once.
        owner = msg.sender;
    }

    function initialize(address owner_) external {
        if (owner != address(0)) revert AlreadyInitialized();
        owner = owner_;
    }

    /// @notice Calls `target` with `data` as this account; bubbles the revert data up unchanged.
    function execute(address target, bytes calldata data) external returns (bytes memory result) {
        if (msg.sender != owner) revert NotOwner();
        bool ok;
        (ok, result) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(result, 32), mload(result))
            }
        }
    }
}

/// @title PositionSpawner
/// @notice Opens thousands of Aave v3 positions in a few transactions, for drills, tests and
///         benchmarks: each position is a fresh `PositionAccount` clone that receives supplies
///         (made by the spawner on its behalf from the spawner's own tokens), optionally enters an
///         e-mode category, then borrows at the variable rate and approves the pool to take the
///         borrowed asset back (for later repayments). `run` then scripts any calls, by the spawner
///         itself or through an account. Only the deployer may use it. Drill-only.
contract PositionSpawner {
    struct Leg {
        address asset;
        uint256 amount;
    }

    struct Position {
        uint8 eMode;
        Leg[] supplies;
        Leg[] borrows;
    }

    /// @dev `account == address(this)`: the spawner calls `target` itself; otherwise the account does.
    struct Call {
        address account;
        address target;
        bytes data;
    }

    uint256 private constant VARIABLE_RATE = 2;

    address public immutable owner;
    IAavePoolMinimal public immutable pool;
    address public immutable accountImplementation;
    address[] private _accounts;

    event Opened(uint256 firstIndex, uint256 count);

    error NotOwner();
    error CallFailed(uint256 index, bytes reason);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    constructor(address pool_) {
        owner = msg.sender;
        pool = IAavePoolMinimal(pool_);
        accountImplementation = address(new PositionAccount());
    }

    /// @notice Opens one position per entry; returns the new accounts (also appended to `accounts`).
    ///         The spawner must hold the supplied tokens and have approved the pool for them.
    function open(Position[] calldata positions) external onlyOwner returns (address[] memory created) {
        created = new address[](positions.length);
        uint256 first = _accounts.length;
        for (uint256 i = 0; i < positions.length; i++) {
            Position calldata p = positions[i];
            PositionAccount account = PositionAccount(Clones.clone(accountImplementation));
            account.initialize(address(this));
            for (uint256 j = 0; j < p.supplies.length; j++) {
                pool.supply(p.supplies[j].asset, p.supplies[j].amount, address(account), 0);
            }
            if (p.eMode != 0) {
                account.execute(address(pool), abi.encodeCall(IAavePoolMinimal.setUserEMode, (p.eMode)));
            }
            for (uint256 j = 0; j < p.borrows.length; j++) {
                Leg calldata b = p.borrows[j];
                account.execute(
                    address(pool),
                    abi.encodeCall(IAavePoolMinimal.borrow, (b.asset, b.amount, VARIABLE_RATE, 0, address(account)))
                );
                account.execute(b.asset, abi.encodeCall(IERC20Minimal.approve, (address(pool), type(uint256).max)));
            }
            created[i] = address(account);
            _accounts.push(address(account));
        }
        emit Opened(first, positions.length);
    }

    /// @notice Runs calls in order, each by the spawner or through one of its accounts; a failure
    ///         reverts everything with the failing call's index and revert data.
    function run(Call[] calldata calls) external onlyOwner {
        for (uint256 i = 0; i < calls.length; i++) {
            Call calldata c = calls[i];
            bool ok;
            bytes memory reason;
            if (c.account == address(this)) {
                (ok, reason) = c.target.call(c.data);
            } else {
                (ok, reason) = c.account.call(abi.encodeCall(PositionAccount.execute, (c.target, c.data)));
            }
            if (!ok) revert CallFailed(i, reason);
        }
    }

    function accountsCount() external view returns (uint256) {
        return _accounts.length;
    }

    /// @notice `count` accounts from `start` (clipped to the end).
    function accountsSlice(uint256 start, uint256 count) external view returns (address[] memory out) {
        uint256 end = start + count;
        if (end > _accounts.length) end = _accounts.length;
        if (start >= end) return new address[](0);
        out = new address[](end - start);
        for (uint256 i = start; i < end; i++) {
            out[i - start] = _accounts[i];
        }
    }
}
