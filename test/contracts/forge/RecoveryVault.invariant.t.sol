// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {Handler, InvariantTest} from "./Base.sol";
import {RecoveryVault} from "../../../contracts/RecoveryVault.sol";
import {DrillToken} from "../../../contracts/drills/DrillToken.sol";

/// @dev Governance (this handler) approves and unapproves destinations, changes the delay,
///      schedules releases (to approved and unapproved addresses); anyone tries to execute;
///      a guardian cancels; time passes. The handler records when each release was scheduled.
contract VaultHandler is Handler {
    RecoveryVault public vault;
    DrillToken public token;
    address internal constant GUARDIAN = address(0x6A4D);
    address[3] public destinations = [address(0xD1), address(0xD2), address(0xD3)];
    address public constant NEVER_APPROVED = address(0xD4);
    mapping(address => bool) public approved;

    uint256 public violations;
    uint256 public executed;
    mapping(uint256 => uint256) internal earliest; // scheduled at + delay then

    constructor() {
        token = new DrillToken("Drill USD", "dUSD", 18);
        vault = new RecoveryVault(address(this), 1 days);
        vault.setGuardian(GUARDIAN, true);
        token.mint(address(vault), 1_000_000e18);
    }

    function _dest(uint256 seed) internal view returns (address) {
        return seed % 4 == 3 ? NEVER_APPROVED : destinations[seed % 3];
    }

    function setDestination(uint256 seed, bool ok) external {
        address d = destinations[seed % 3];
        vault.setDestination(d, ok);
        approved[d] = ok;
    }

    function setDelay(uint256 seed) external {
        vault.setDelay(uint64(_bound(seed, 1 hours, 3 days)));
    }

    function schedule(uint256 amount, uint256 destSeed) external {
        uint256 delayNow = vault.delay();
        try vault.scheduleRelease(address(token), _bound(amount, 1, 100_000e18), _dest(destSeed)) returns (uint256 id) {
            earliest[id] = block.timestamp + delayNow;
        } catch {}
    }

    function execute(uint256 idSeed) external {
        uint256 count = vault.releaseCount();
        if (count == 0) return;
        uint256 id = idSeed % count;
        RecoveryVault.Release memory r = vault.getRelease(id);
        vm.prank(address(0xE0E0)); // anyone
        try vault.executeRelease(id) {
            executed++;
            if (block.timestamp < earliest[id] || !approved[r.destination]) violations++;
        } catch {}
    }

    function cancel(uint256 idSeed) external {
        uint256 count = vault.releaseCount();
        if (count == 0) return;
        vm.prank(GUARDIAN);
        try vault.cancelRelease(idSeed % count) {} catch {}
    }

    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + _bound(secondsAhead, 1, 1 days));
    }
}

contract RecoveryVaultInvariantTest is InvariantTest {
    VaultHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        handler = new VaultHandler();
        _target(address(handler));
    }

    function invariant_neverEarlyNorUnapproved() public view {
        require(handler.violations() == 0, "released before the delay or to an unapproved address");
        require(handler.token().balanceOf(handler.NEVER_APPROVED()) == 0, "paid a never-approved address");
    }

    function invariant_conserved() public view {
        DrillToken token = handler.token();
        uint256 total = token.balanceOf(address(handler.vault()));
        for (uint256 i = 0; i < 3; i++) {
            total += token.balanceOf(handler.destinations(i));
        }
        require(total == 1_000_000e18, "funds appeared or vanished");
    }
}
