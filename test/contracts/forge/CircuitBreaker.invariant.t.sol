// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {Handler, InvariantTest} from "./Base.sol";
import {CircuitBreaker} from "../../../contracts/CircuitBreaker.sol";
import {IERC7265CircuitBreaker} from "../../../contracts/IERC7265CircuitBreaker.sol";
import {BreakerVault} from "../../../contracts/drills/BreakerVault.sol";
import {DrillToken} from "../../../contracts/drills/DrillToken.sol";

/// @dev Drives a BreakerVault protected by a CircuitBreaker (70% retention, 4 h window in 5 min
///      ticks) with random deposits, withdrawals, time jumps, claims, overrides and trips, and keeps
///      its own model of the rolling window to check the breaker's against.
contract BreakerHandler is Handler {
    uint256 internal constant WINDOW = 4 hours;
    uint256 internal constant TICK = 5 minutes;
    uint256 internal constant BPS = 7000;

    DrillToken public token;
    CircuitBreaker public breaker;
    BreakerVault public vault;
    address[4] internal actors = [address(0xA11CE), address(0xB0B), address(0xCA401), address(0xD0D0)];
    address public constant RECOVERY = address(0x5AFE);

    // Ghosts
    uint256 public received; // sent by the vault to the breaker
    uint256 public paidOut; // reached recipients (direct or claimed)
    uint256 public migrated;
    uint256 public violations; // an outflow past the limit that reached its recipient
    uint256 public modelMismatches; // breaker's window differs from the model
    uint256 public withdrawals;
    uint256 public locks;

    struct Flow {
        uint256 tick;
        int256 delta;
    }

    Flow[] internal flows;

    constructor() {
        token = new DrillToken("Drill USD", "dUSD", 18);
        breaker = new CircuitBreaker(address(this), 3 days, WINDOW, TICK);
        vault = new BreakerVault(token, IERC7265CircuitBreaker(address(breaker)), false);
        breaker.registerAsset(address(token), BPS, 0);
        address[] memory protectedContracts = new address[](1);
        protectedContracts[0] = address(vault);
        breaker.addProtectedContracts(protectedContracts);
    }

    function deposit(uint256 actorSeed, uint256 amount) external {
        address actor = actors[actorSeed % actors.length];
        amount = _bound(amount, 1, 1_000_000e18);
        token.mint(actor, amount);
        vm.startPrank(actor);
        token.approve(address(vault), amount);
        try vault.deposit(amount) {
            flows.push(Flow(block.timestamp / TICK, int256(amount)));
        } catch {}
        vm.stopPrank();
        _checkModel();
    }

    function withdraw(uint256 actorSeed, uint256 amount) external {
        address actor = actors[actorSeed % actors.length];
        uint256 balance = vault.balanceOf(actor);
        if (balance == 0) return;
        amount = _bound(amount, 1, balance);
        bool wasLimited = breaker.isRateLimited();
        uint256 before = token.balanceOf(actor);
        vm.prank(actor);
        try vault.withdraw(amount) {
            withdrawals++;
            received += amount;
            flows.push(Flow(block.timestamp / TICK, -int256(amount)));
            uint256 paid = token.balanceOf(actor) - before;
            paidOut += paid;
            if (paid == 0) locks++;
            bool breached = _modelBreached() && !breaker.isInGracePeriod();
            if (paid != 0 && (wasLimited || breached)) violations++;
            if (paid != 0 && paid != amount) violations++;
        } catch {}
        _checkModel();
    }

    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + _bound(secondsAhead, 1, 6 hours));
        _checkModel();
    }

    function claim(uint256 actorSeed) external {
        address actor = actors[actorSeed % actors.length];
        uint256 before = token.balanceOf(actor);
        try breaker.claimLockedFunds(address(token), actor) {
            paidOut += token.balanceOf(actor) - before;
        } catch {}
    }

    function overrideLimit() external {
        try breaker.overrideRateLimit() {} catch {}
    }

    function overrideExpired() external {
        try breaker.overrideExpiredRateLimit() {} catch {}
    }

    function trip() external {
        breaker.trip();
    }

    /// Rarely: the exploit response (not operational, then migration of what the breaker holds).
    function shutDown(uint256 seed) external {
        if (seed % 64 != 0) return;
        breaker.markAsNotOperational();
        address[] memory assets = new address[](1);
        assets[0] = address(token);
        uint256 before = token.balanceOf(RECOVERY);
        breaker.migrateFundsAfterExploit(assets, RECOVERY);
        migrated += token.balanceOf(RECOVERY) - before;
    }

    function _model() internal view returns (int256 settled, int256 inWindow) {
        uint256 nowTick = block.timestamp / TICK;
        uint256 windowTicks = WINDOW / TICK;
        for (uint256 i = 0; i < flows.length; i++) {
            if (nowTick - flows[i].tick >= windowTicks) settled += flows[i].delta;
            else inWindow += flows[i].delta;
        }
    }

    function _modelBreached() internal view returns (bool) {
        (int256 settled, int256 inWindow) = _model();
        if (settled < 0) return false;
        return settled + inWindow < (settled * int256(BPS)) / 10_000;
    }

    function _checkModel() internal {
        if (!breaker.isOperational()) return;
        (int256 settled, int256 inWindow) = _model();
        (int256 s, int256 w) = breaker.liquidity(address(token));
        if (s != settled || w != inWindow) modelMismatches++;
        if (breaker.isRateLimitTriggered(address(token)) != _modelBreached()) modelMismatches++;
    }
}

contract CircuitBreakerInvariantTest is InvariantTest {
    BreakerHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        handler = new BreakerHandler();
        _target(address(handler));
    }

    /// Held + sent (+ migrated) = received: the breaker never loses or creates funds.
    function invariant_conservesFunds() public view {
        uint256 held = handler.token().balanceOf(address(handler.breaker()));
        require(held + handler.paidOut() + handler.migrated() == handler.received(), "funds not conserved");
    }

    /// What the breaker holds is exactly what it owes as locked funds (until a migration).
    function invariant_heldIsLocked() public view {
        CircuitBreaker breaker = handler.breaker();
        address token = address(handler.token());
        if (!breaker.isOperational()) return;
        require(handler.token().balanceOf(address(breaker)) == breaker.totalLocked(token), "held != locked");
    }

    /// No outflow past the limit (outside a grace period) or during a rate limit reached its recipient.
    function invariant_noOutflowPastTheLimit() public view {
        require(handler.violations() == 0, "an outflow past the limit was paid");
    }

    /// The ring of tick buckets agrees with a plain model of the rolling window.
    function invariant_windowMatchesModel() public view {
        require(handler.modelMismatches() == 0, "rolling window differs from the model");
    }
}
