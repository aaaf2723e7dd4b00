// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {AggregatorV3Interface, AggregatorLegacyInterface} from "../interfaces/AggregatorV3Interface.sol";

/// @title DrillPriceFeed
/// @notice A Chainlink-compatible feed whose answer the drill sets: it plays both the protocol's
///         feeds and the independent reference prices a detector compares against. Drill-only.
contract DrillPriceFeed is AggregatorV3Interface, AggregatorLegacyInterface {
    struct Round {
        int256 answer;
        uint256 updatedAt;
    }

    uint8 public immutable override decimals;
    string public override description;
    address public updater;
    uint80 public latestRoundId;
    mapping(uint80 => Round) private rounds;

    error NotUpdater();
    error NoSuchRound(uint80 roundId);

    constructor(uint8 decimals_, string memory description_, int256 initialAnswer) {
        decimals = decimals_;
        description = description_;
        updater = msg.sender;
        _push(initialAnswer);
    }

    function version() external pure override returns (uint256) {
        return 4;
    }

    /// @notice Publish a new answer (a new round), as a Chainlink node would.
    function setAnswer(int256 answer) external {
        if (msg.sender != updater) revert NotUpdater();
        _push(answer);
    }

    function setUpdater(address next) external {
        if (msg.sender != updater) revert NotUpdater();
        updater = next;
    }

    function getRoundData(uint80 roundId)
        external
        view
        override
        returns (uint80, int256, uint256, uint256, uint80)
    {
        Round memory r = rounds[roundId];
        if (r.updatedAt == 0) revert NoSuchRound(roundId);
        return (roundId, r.answer, r.updatedAt, r.updatedAt, roundId);
    }

    function latestRoundData() external view override returns (uint80, int256, uint256, uint256, uint80) {
        Round memory r = rounds[latestRoundId];
        return (latestRoundId, r.answer, r.updatedAt, r.updatedAt, latestRoundId);
    }

    function latestAnswer() external view override returns (int256) {
        return rounds[latestRoundId].answer;
    }

    function latestTimestamp() external view override returns (uint256) {
        return rounds[latestRoundId].updatedAt;
    }

    function latestRound() external view override returns (uint256) {
        return latestRoundId;
    }

    function _push(int256 answer) private {
        latestRoundId += 1;
        rounds[latestRoundId] = Round(answer, block.timestamp);
        emit AnswerUpdated(answer, latestRoundId, block.timestamp);
    }
}
