// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {Handler, InvariantTest} from "./Base.sol";
import {AaveV3ReserveData, BackstopPool} from "../../../contracts/BackstopPool.sol";
import {DrillToken} from "../../../contracts/drills/DrillToken.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @dev Stand-in for the Aave v3 Pool's three functions the backstop uses, so the share
///      accounting can be fuzzed fast (the real Pool is exercised in test/contracts/*.test.ts).
contract StandInAavePool {
    IERC20 public immutable asset;
    mapping(address => uint256) public debtOf;
    mapping(address => uint256) public userConfiguration;

    constructor(IERC20 asset_) {
        asset = asset_;
    }

    function setBorrower(address user, uint256 debt, bool collateral) external {
        debtOf[user] = debt;
        userConfiguration[user] = collateral ? 2 : 1; // bit 1: collateral of reserve 0; bit 0: borrowing
    }

    function getReserveData(address) external view returns (AaveV3ReserveData memory d) {
        d.variableDebtTokenAddress = address(this);
    }

    function getUserConfiguration(address user) external view returns (uint256) {
        return userConfiguration[user];
    }

    /// The debt token's balanceOf.
    function balanceOf(address user) external view returns (uint256) {
        return debtOf[user];
    }

    function repay(address, uint256 amount, uint256, address onBehalfOf) external returns (uint256) {
        uint256 paid = amount < debtOf[onBehalfOf] ? amount : debtOf[onBehalfOf];
        debtOf[onBehalfOf] -= paid;
        asset.transferFrom(msg.sender, address(this), paid);
        return paid;
    }
}

contract PoolHandler is Handler {
    DrillToken public token;
    BackstopPool public pool;
    StandInAavePool public market;
    address[4] public stakers = [address(0x51), address(0x52), address(0x53), address(0x54)];
    address[2] internal borrowers = [address(0xB1), address(0xB2)];

    constructor() {
        token = new DrillToken("Drill USD", "dUSD", 6);
        pool = new BackstopPool(address(this), IERC20(address(token)), 7 days, 2 days);
        market = new StandInAavePool(IERC20(address(token)));
        pool.registerMarket(address(market), 5_000_000e6, 200);
    }

    function deposit(uint256 who, uint256 amount) external {
        address staker = stakers[who % 4];
        amount = _bound(amount, 1, 10_000_000e6);
        token.mint(staker, amount);
        vm.startPrank(staker);
        token.approve(address(pool), amount);
        try pool.deposit(amount) {} catch {}
        vm.stopPrank();
    }

    function requestWithdraw(uint256 who, uint256 shares) external {
        address staker = stakers[who % 4];
        uint256 have = pool.sharesOf(staker);
        if (have == 0) return;
        vm.prank(staker);
        pool.requestWithdraw(_bound(shares, 1, have));
    }

    function withdraw(uint256 who) external {
        vm.prank(stakers[who % 4]);
        try pool.withdraw() {} catch {}
    }

    function payPremium(uint256 amount) external {
        amount = _bound(amount, 1, 100_000e6);
        token.mint(address(this), amount);
        token.approve(address(pool), amount);
        if (pool.totalShares() == 0) return;
        pool.payPremium(0, amount);
    }

    function badDebt(uint256 who, uint256 debt, bool collateral) external {
        market.setBorrower(borrowers[who % 2], _bound(debt, 0, 3_000_000e6), collateral);
    }

    function cover(uint256 who) external {
        try pool.coverBadDebt(0, borrowers[who % 2]) {} catch {}
    }

    function donate(uint256 amount) external {
        token.mint(address(pool), _bound(amount, 1, 1_000_000e6));
    }

    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + _bound(secondsAhead, 1, 5 days));
    }
}

contract BackstopPoolInvariantTest is InvariantTest {
    PoolHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        handler = new PoolHandler();
        _target(address(handler));
    }

    /// Shares add up to the assets: share balances sum to the total; the stakers' claims never
    /// exceed the pool's assets; and the stakers' claims plus the virtual shares' claim equal the
    /// assets plus the one virtual asset, but for one unit of rounding per holder.
    function invariant_sharesAddUpToAssets() public view {
        BackstopPool pool = handler.pool();
        uint256 shares;
        uint256 claims;
        for (uint256 i = 0; i < 4; i++) {
            uint256 s = pool.sharesOf(handler.stakers(i));
            shares += s;
            claims += pool.convertToAssets(s);
        }
        require(shares == pool.totalShares(), "share balances do not sum to totalShares");
        require(claims <= pool.totalAssets(), "claims exceed assets");
        uint256 whole = claims + pool.convertToAssets(pool.VIRTUAL_SHARES());
        require(whole <= pool.totalAssets() + 1, "claims and virtual claim exceed assets");
        require(pool.totalAssets() + 1 - whole <= 5, "assets lost to rounding beyond dust");
        if (pool.totalShares() == 0) require(pool.totalAssets() == 0, "assets left with no staker");
    }

    /// The pool always holds at least what it accounts for.
    function invariant_solvent() public view {
        BackstopPool pool = handler.pool();
        require(handler.token().balanceOf(address(pool)) >= pool.totalAssets(), "accounted assets not held");
    }
}
