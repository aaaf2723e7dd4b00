// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

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
/// @notice Reads Aave v3 `getUserAccountData` for many users in one `eth_call` (a purpose-built
///         multicall): the node's side of the position book's parity test and benchmark.
///         Drill-only; never deployed as part of the product.
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
}
