// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title PlanSimulator
/// @notice Simulates a response plan's calls in one `eth_call`. It is never deployed: the executor
///         places this code at its own address by a state override for one call, so each call
///         below is made from that address (`msg.sender` is the executor, as in its transactions),
///         in order, each seeing what the earlier ones left (as the plan's transactions, mined one
///         after another, would). Returns the gas each call used; the first call that reverts
///         reverts the whole with its index and its own revert data.
contract PlanSimulator {
    struct Call {
        address to;
        uint256 value;
        bytes data;
    }

    error CallReverted(uint256 index, bytes reason);

    function simulate(Call[] calldata calls) external returns (uint256[] memory gasUsed) {
        gasUsed = new uint256[](calls.length);
        for (uint256 i = 0; i < calls.length; ++i) {
            uint256 before = gasleft();
            (bool ok, bytes memory reason) = calls[i].to.call{value: calls[i].value}(calls[i].data);
            gasUsed[i] = before - gasleft();
            if (!ok) revert CallReverted(i, reason);
        }
    }
}
