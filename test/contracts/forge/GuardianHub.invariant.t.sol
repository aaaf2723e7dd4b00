// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {Handler, InvariantTest} from "./Base.sol";
import {GuardianHub} from "../../../contracts/GuardianHub.sol";

/// @dev A contract the hub may act on: two allow-listed levers and calls it must never make.
contract HubTarget {
    address public immutable hub;
    uint256 public trips;
    uint256 public pausesOn;
    uint256 public pausesOff;
    uint256 public drains;

    constructor(address hub_) {
        hub = hub_;
    }

    function trip() external {
        require(msg.sender == hub, "not hub");
        trips++;
    }

    function setPaused(bool paused) external {
        require(msg.sender == hub, "not hub");
        if (paused) pausesOn++;
        else pausesOff++;
    }

    function drain(address to) external {
        require(msg.sender == hub, "not hub");
        to;
        drains++;
    }

    function executions() external view returns (uint256) {
        return trips + pausesOn + pausesOff + drains;
    }
}

/// @dev Random agents (and outsiders) propose, confirm and revoke allowed and forbidden calls;
///      governance rotates keys and changes the threshold; time passes. The handler keeps its own
///      record of who confirmed what since each proposal (re)opened.
contract HubHandler is Handler {
    GuardianHub public hub;
    HubTarget public target;
    address[8] internal keys =
        [address(0xA1), address(0xA2), address(0xA3), address(0xA4), address(0xA5), address(0xA6), address(0xA7), address(0xA8)];
    address internal constant OUTSIDER = address(0xBAD);

    uint256 public underConfirmed; // executions with fewer than k confirmations from current agents
    uint256 public executions;
    mapping(bytes32 => address[]) internal confirmers;

    constructor() {
        address[] memory agents = new address[](3);
        agents[0] = keys[0];
        agents[1] = keys[1];
        agents[2] = keys[2];
        hub = new GuardianHub(address(this), agents, 2, 1 hours);
        target = new HubTarget(address(hub));
        hub.allowCall(address(target), HubTarget.trip.selector, GuardianHub.Rule.NoArgs, address(0));
        hub.allowCall(address(target), HubTarget.setPaused.selector, GuardianHub.Rule.BoolTrue, address(0));
    }

    function _call(uint256 seed) internal view returns (bytes memory) {
        uint256 pick = seed % 6;
        if (pick == 0) return abi.encodeCall(HubTarget.trip, ());
        if (pick == 1) return abi.encodeCall(HubTarget.setPaused, (true));
        if (pick == 2) return abi.encodeCall(HubTarget.setPaused, (false));
        if (pick == 3) return abi.encodeCall(HubTarget.drain, (OUTSIDER));
        if (pick == 4) return bytes.concat(abi.encodeCall(HubTarget.trip, ()), bytes32(seed)); // extra bytes
        return abi.encodePacked(bytes2(0x1234));
    }

    function _caller(uint256 seed) internal view returns (address) {
        return seed % 7 == 0 ? OUTSIDER : keys[seed % keys.length];
    }

    function act(uint256 callerSeed, uint256 callSeed, uint256 saltSeed, uint8 mode) external {
        address caller = _caller(callerSeed);
        bytes memory data = _call(callSeed);
        bytes32 salt = bytes32(saltSeed % 3);
        bytes32 id = hub.proposalId(address(target), data, salt);
        GuardianHub.ProposalState before = hub.proposalState(id);
        bool reopening = before != GuardianHub.ProposalState.Pending && before != GuardianHub.ProposalState.Executed;
        uint256 executedBefore = target.executions();
        vm.prank(caller);
        bool ok;
        if (mode % 3 == 0) {
            try hub.propose(address(target), data, salt) {
                ok = true;
            } catch {}
        } else if (mode % 3 == 1) {
            try hub.confirm(address(target), data, salt) {
                ok = true;
            } catch {}
        } else {
            try hub.proposeOrConfirm(address(target), data, salt) {
                ok = true;
            } catch {}
        }
        if (!ok) return;
        if (reopening) delete confirmers[id];
        confirmers[id].push(caller);
        if (target.executions() > executedBefore) {
            executions++;
            uint256 valid;
            address[] memory who = confirmers[id];
            for (uint256 i = 0; i < who.length; i++) {
                bool dup;
                for (uint256 j = 0; j < i; j++) {
                    if (who[j] == who[i]) dup = true;
                }
                if (!dup && hub.isAgent(who[i])) valid++;
            }
            if (valid < hub.threshold()) underConfirmed++;
        }
    }

    function revoke(uint256 callerSeed, uint256 callSeed, uint256 saltSeed) external {
        address caller = _caller(callerSeed);
        bytes32 id = hub.proposalId(address(target), _call(callSeed), bytes32(saltSeed % 3));
        vm.prank(caller);
        try hub.revoke(id) {
            address[] storage who = confirmers[id];
            for (uint256 i = 0; i < who.length; i++) {
                if (who[i] == caller) {
                    who[i] = who[who.length - 1];
                    who.pop();
                    break;
                }
            }
        } catch {}
    }

    function rotate(uint256 oldSeed, uint256 newSeed) external {
        try hub.replaceAgent(keys[oldSeed % keys.length], keys[newSeed % keys.length]) {} catch {}
    }

    function setThreshold(uint8 k) external {
        try hub.setThreshold(uint8(_bound(k, 1, 3))) {} catch {}
    }

    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + _bound(secondsAhead, 1, 2 hours));
    }
}

contract GuardianHubInvariantTest is InvariantTest {
    HubHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        handler = new HubHandler();
        _target(address(handler));
    }

    /// Never a selector off the allow-list, never arguments its rule refuses.
    function invariant_onlyAllowedCalls() public view {
        require(handler.target().drains() == 0, "executed an off-list selector");
        require(handler.target().pausesOff() == 0, "executed f(false) under a BoolTrue rule");
    }

    /// Every execution had at least k distinct confirmations from agents of the current set.
    function invariant_neverBelowThreshold() public view {
        require(handler.underConfirmed() == 0, "executed with fewer than k confirmations");
    }
}
