// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {AggregatorV3Interface, AggregatorLegacyInterface} from "../interfaces/AggregatorV3Interface.sol";

/// @title VaultSharePriceFeed
/// @notice A Chainlink-style price adapter for an ERC-4626 share: the underlying asset's feed
///         answer times the assets one whole share redeems for (`convertToAssets`), in the
///         underlying feed's decimals. The way lending markets price vault shares (Cream priced
///         yUSD by its price per share), and so exactly as manipulable as the vault's exchange rate:
///         a donation to the vault moves this answer with no trade and no new round. Rounds are the
///         underlying feed's; a past round is priced at the vault's current rate. Drill-only.
contract VaultSharePriceFeed is AggregatorV3Interface, AggregatorLegacyInterface {
    IERC4626 public immutable vault;
    AggregatorV3Interface public immutable underlyingFeed;
    uint8 public immutable override decimals;
    string public override description;
    uint256 private immutable oneShare;
    uint256 private immutable oneAsset;

    constructor(IERC4626 vault_, AggregatorV3Interface underlyingFeed_, uint8 assetDecimals, string memory description_) {
        vault = vault_;
        underlyingFeed = underlyingFeed_;
        decimals = underlyingFeed_.decimals();
        description = description_;
        oneShare = 10 ** uint256(vault_.decimals());
        oneAsset = 10 ** uint256(assetDecimals);
    }

    function version() external pure override returns (uint256) {
        return 1;
    }

    function getRoundData(uint80 roundId)
        external
        view
        override
        returns (uint80, int256, uint256, uint256, uint80)
    {
        (uint80 id, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredIn) =
            underlyingFeed.getRoundData(roundId);
        return (id, _price(answer), startedAt, updatedAt, answeredIn);
    }

    function latestRoundData() public view override returns (uint80, int256, uint256, uint256, uint80) {
        (uint80 id, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredIn) =
            underlyingFeed.latestRoundData();
        return (id, _price(answer), startedAt, updatedAt, answeredIn);
    }

    function latestAnswer() external view override returns (int256 answer) {
        (, answer,,,) = latestRoundData();
    }

    function latestTimestamp() external view override returns (uint256 updatedAt) {
        (,,, updatedAt,) = latestRoundData();
    }

    function latestRound() external view override returns (uint256) {
        (uint80 id,,,,) = underlyingFeed.latestRoundData();
        return id;
    }

    /// @dev Underlying price × assets per whole share; a non-positive underlying answer passes through.
    function _price(int256 underlyingAnswer) private view returns (int256) {
        if (underlyingAnswer <= 0) return underlyingAnswer;
        return int256(uint256(underlyingAnswer) * vault.convertToAssets(oneShare) / oneAsset);
    }
}
