// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {AggregatorV3Interface, AggregatorLegacyInterface} from "../interfaces/AggregatorV3Interface.sol";

interface IUniswapV2PairLike {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function price0CumulativeLast() external view returns (uint256);
    function price1CumulativeLast() external view returns (uint256);
    function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
}

interface IERC20DecimalsLike {
    function decimals() external view returns (uint8);
}

/// @title UniswapV2TwapOracle
/// @notice A time-weighted average price over one Uniswap v2 pair, quoted in USD through a feed
///         for the pair's other token, behind Chainlink's interface so a lending market can use it.
/// @dev    Drill-only, and deliberately of the manipulable kind real incidents used (Inverse
///         Finance, April 2022): anyone may call `update()` once `period` has passed, and the
///         answer is the average over the *last* window only. If the window opens right before a
///         swap and closes one period later, the "TWAP" is the manipulated spot price.
contract UniswapV2TwapOracle is AggregatorV3Interface, AggregatorLegacyInterface {
    uint8 public constant override decimals = 8;
    uint256 private constant Q112 = 2 ** 112;

    IUniswapV2PairLike public immutable pair;
    /// @notice The token this oracle prices; the pair's other token is the quote.
    address public immutable token;
    AggregatorV3Interface public immutable quoteFeed;
    uint256 public immutable period;
    bool private immutable tokenIsToken0;
    uint256 private immutable tokenUnit;
    uint256 private immutable quoteUnit;

    uint256 public priceCumulativeLast;
    uint32 public observedAt;
    /// @notice Average price over the last window: quote units per token unit, UQ112x112.
    uint256 public priceAverage;
    uint80 public latestRoundId;
    uint256 public updatedAt;

    error PeriodNotElapsed(uint256 elapsed, uint256 period);
    error TokenNotInPair();

    constructor(address pair_, address token_, address quoteFeed_, uint256 period_) {
        pair = IUniswapV2PairLike(pair_);
        token = token_;
        quoteFeed = AggregatorV3Interface(quoteFeed_);
        period = period_;
        address t0 = pair.token0();
        address t1 = pair.token1();
        if (token_ != t0 && token_ != t1) revert TokenNotInPair();
        tokenIsToken0 = token_ == t0;
        tokenUnit = 10 ** IERC20DecimalsLike(token_).decimals();
        quoteUnit = 10 ** IERC20DecimalsLike(tokenIsToken0 ? t1 : t0).decimals();
        (uint112 r0, uint112 r1,) = pair.getReserves();
        priceAverage = tokenIsToken0 ? (uint256(r1) * Q112) / r0 : (uint256(r0) * Q112) / r1;
        (priceCumulativeLast, observedAt) = _currentCumulative();
        latestRoundId = 1;
        updatedAt = block.timestamp;
    }

    /// @notice Close the current window and open the next one. Callable by anyone.
    function update() external {
        (uint256 cumulative, uint32 now_) = _currentCumulative();
        uint32 elapsed;
        unchecked {
            elapsed = now_ - observedAt;
        }
        if (elapsed < period) revert PeriodNotElapsed(elapsed, period);
        unchecked {
            priceAverage = (cumulative - priceCumulativeLast) / elapsed;
        }
        priceCumulativeLast = cumulative;
        observedAt = now_;
        latestRoundId += 1;
        updatedAt = block.timestamp;
        emit AnswerUpdated(_answer(), latestRoundId, block.timestamp);
    }

    function version() external pure override returns (uint256) {
        return 1;
    }

    function description() external pure override returns (string memory) {
        return "Uniswap v2 TWAP (drill)";
    }

    function latestRoundData() external view override returns (uint80, int256, uint256, uint256, uint80) {
        return (latestRoundId, _answer(), updatedAt, updatedAt, latestRoundId);
    }

    function getRoundData(uint80 roundId) external view override returns (uint80, int256, uint256, uint256, uint80) {
        // Only the latest round is kept: that is all a lending market reads.
        return (roundId, _answer(), updatedAt, updatedAt, roundId);
    }

    function latestAnswer() external view override returns (int256) {
        return _answer();
    }

    function latestTimestamp() external view override returns (uint256) {
        return updatedAt;
    }

    function latestRound() external view override returns (uint256) {
        return latestRoundId;
    }

    /// @dev USD price with 8 decimals: average (quote per token, raw units) × token unit / quote
    ///      unit × quote USD price.
    function _answer() private view returns (int256) {
        (, int256 quoteUsd,,,) = quoteFeed.latestRoundData();
        if (quoteUsd <= 0) return 0;
        uint256 quoteAnswer = uint256(quoteUsd);
        uint8 quoteDecimals = quoteFeed.decimals();
        uint256 perToken = Math.mulDiv(priceAverage, tokenUnit, quoteUnit);
        uint256 usd = Math.mulDiv(perToken, quoteAnswer, Q112);
        if (quoteDecimals > decimals) usd /= 10 ** (quoteDecimals - decimals);
        else if (quoteDecimals < decimals) usd *= 10 ** (decimals - quoteDecimals);
        return int256(usd);
    }

    /// @dev The pair's cumulative price extended to now, as Uniswap's own oracle library does.
    function _currentCumulative() private view returns (uint256 cumulative, uint32 now_) {
        now_ = uint32(block.timestamp);
        cumulative = tokenIsToken0 ? pair.price0CumulativeLast() : pair.price1CumulativeLast();
        (uint112 r0, uint112 r1, uint32 last) = pair.getReserves();
        if (last != now_ && r0 != 0 && r1 != 0) {
            unchecked {
                uint32 elapsed = now_ - last;
                uint256 spot = tokenIsToken0 ? (uint256(r1) * Q112) / r0 : (uint256(r0) * Q112) / r1;
                cumulative += spot * elapsed;
            }
        }
    }
}
