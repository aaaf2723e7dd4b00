// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";

/// @title DrillVault
/// @notice A plain ERC-4626 vault over one drill token (OpenZeppelin 5's ERC4626, no decimals
///         offset, no strategy): its shares are worth `totalAssets / totalSupply` of the asset, so a
///         direct transfer of the asset to the vault (a donation) raises every share's value at once,
///         the mechanism of the Cream Finance exploit. Deposits and redemptions leave the value per
///         share unchanged. Drill-only.
contract DrillVault is ERC4626 {
    constructor(IERC20 asset_, string memory name_, string memory symbol_) ERC20(name_, symbol_) ERC4626(asset_) {}
}
