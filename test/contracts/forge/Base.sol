// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @dev The few forge cheatcodes these tests use (no forge-std: it is not on the npm registry in a
///      maintained form, and the tests need little of it).
interface Vm {
    function warp(uint256 timestamp) external;
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
}

/// @dev What forge looks for on an invariant test: `IS_TEST`, `targetContracts()` (the handlers
///      whose functions it calls at random) and `invariant_*` functions that revert when broken.
abstract contract InvariantTest {
    bool public constant IS_TEST = true;
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    address[] private _targets;

    function targetContracts() public view returns (address[] memory) {
        return _targets;
    }

    function _target(address handler) internal {
        _targets.push(handler);
    }
}

/// @dev Shared by handlers: a bounded pick and time control.
abstract contract Handler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (max <= min) return min;
        return min + (x % (max - min + 1));
    }
}
