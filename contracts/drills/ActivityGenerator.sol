// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title ActivityGenerator
/// @notice Drill-only: produces a block's worth of ordinary token activity in one transaction, so
///         a benchmark can fill thousands of blocks with real ERC-20 `Transfer` logs (emitted by
///         the real tokens) without signing thousands of transactions per block. It pays out of its
///         own balance: fund it first.
contract ActivityGenerator {
    /// @notice One transfer of `amount` to each recipient, cycling through `tokens`: to.length transfers.
    function spray(IERC20[] calldata tokens, address[] calldata to, uint256 amount) external {
        for (uint256 i = 0; i < to.length; ++i) {
            IERC20 token = tokens[i % tokens.length];
            // A failed transfer reverts the batch: the drill tokens revert rather than return false.
            token.transfer(to[i], amount);
        }
    }
}
