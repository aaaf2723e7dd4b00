// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

interface IBalanceOf {
    function balanceOf(address holder) external view returns (uint256);
}

interface IAaveAccountData {
    function getUserAccountData(address user)
        external
        view
        returns (
            uint256 totalCollateralBase,
            uint256 totalDebtBase,
            uint256 availableBorrowsBase,
            uint256 currentLiquidationThreshold,
            uint256 ltv,
            uint256 healthFactor
        );
}

/// @title AccountDataReader
/// @notice Reads Aave v3 `getUserAccountData`, or token balances, for many users in one `eth_call`
///         (a purpose-built multicall): the node's side of the position book's parity test and
///         benchmark, and a drill's market snapshot (called with its code as a state override, so
///         nothing is deployed). Drill-only; never deployed as part of the product.
contract AccountDataReader {
    /// @notice Six words per user, in `users` order: totalCollateralBase, totalDebtBase,
    ///         availableBorrowsBase, currentLiquidationThreshold, ltv, healthFactor.
    function getUserAccountData(address pool, address[] calldata users) external view returns (uint256[] memory out) {
        out = new uint256[](users.length * 6);
        IAaveAccountData p = IAaveAccountData(pool);
        for (uint256 i = 0; i < users.length; i++) {
            (uint256 c, uint256 d, uint256 a, uint256 lt, uint256 ltv, uint256 hf) = p.getUserAccountData(users[i]);
            uint256 k = i * 6;
            out[k] = c;
            out[k + 1] = d;
            out[k + 2] = a;
            out[k + 3] = lt;
            out[k + 4] = ltv;
            out[k + 5] = hf;
        }
    }

    /// @notice `balanceOf` of every holder in every token: `out[i * tokens.length + j]` is
    ///         holder i's balance of token j.
    function balancesOf(address[] calldata tokens, address[] calldata holders)
        external
        view
        returns (uint256[] memory out)
    {
        out = new uint256[](holders.length * tokens.length);
        for (uint256 i = 0; i < holders.length; i++) {
            for (uint256 j = 0; j < tokens.length; j++) {
                out[i * tokens.length + j] = IBalanceOf(tokens[j]).balanceOf(holders[i]);
            }
        }
    }
}
