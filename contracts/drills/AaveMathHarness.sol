// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {WadRayMath} from "@aave/core-v3/contracts/protocol/libraries/math/WadRayMath.sol";
import {PercentageMath} from "@aave/core-v3/contracts/protocol/libraries/math/PercentageMath.sol";
import {MathUtils} from "@aave/core-v3/contracts/protocol/libraries/math/MathUtils.sol";

/// @title AaveMathHarness
/// @notice Exposes Aave v3's own math libraries (compiled from the @aave/core-v3 1.19.3 sources,
///         unmodified) in batches, so that the risk engine's `bigint` reproduction is tested
///         against what the contracts compute. Test-only; never deployed as part of the product.
contract AaveMathHarness {
    using WadRayMath for uint256;
    using PercentageMath for uint256;

    function rayMul(uint256[] calldata a, uint256[] calldata b) external pure returns (uint256[] memory out) {
        out = new uint256[](a.length);
        for (uint256 i = 0; i < a.length; i++) out[i] = a[i].rayMul(b[i]);
    }

    function rayDiv(uint256[] calldata a, uint256[] calldata b) external pure returns (uint256[] memory out) {
        out = new uint256[](a.length);
        for (uint256 i = 0; i < a.length; i++) out[i] = a[i].rayDiv(b[i]);
    }

    function wadMul(uint256[] calldata a, uint256[] calldata b) external pure returns (uint256[] memory out) {
        out = new uint256[](a.length);
        for (uint256 i = 0; i < a.length; i++) out[i] = a[i].wadMul(b[i]);
    }

    function wadDiv(uint256[] calldata a, uint256[] calldata b) external pure returns (uint256[] memory out) {
        out = new uint256[](a.length);
        for (uint256 i = 0; i < a.length; i++) out[i] = a[i].wadDiv(b[i]);
    }

    function percentMul(uint256[] calldata v, uint256[] calldata p) external pure returns (uint256[] memory out) {
        out = new uint256[](v.length);
        for (uint256 i = 0; i < v.length; i++) out[i] = v[i].percentMul(p[i]);
    }

    function percentDiv(uint256[] calldata v, uint256[] calldata p) external pure returns (uint256[] memory out) {
        out = new uint256[](v.length);
        for (uint256 i = 0; i < v.length; i++) out[i] = v[i].percentDiv(p[i]);
    }

    /// @notice Compounded interest from `current - elapsed` to `current`, for each pair.
    function compounded(uint256[] calldata rate, uint256[] calldata elapsed, uint256 current)
        external
        pure
        returns (uint256[] memory out)
    {
        out = new uint256[](rate.length);
        for (uint256 i = 0; i < rate.length; i++) {
            out[i] = MathUtils.calculateCompoundedInterest(rate[i], uint40(current - elapsed[i]), current);
        }
    }

    /// @notice Linear interest over `elapsed` seconds up to this block, and the block's timestamp.
    function linear(uint256[] calldata rate, uint256[] calldata elapsed)
        external
        view
        returns (uint256[] memory out, uint256 timestamp)
    {
        out = new uint256[](rate.length);
        for (uint256 i = 0; i < rate.length; i++) {
            out[i] = MathUtils.calculateLinearInterest(rate[i], uint40(block.timestamp - elapsed[i]));
        }
        timestamp = block.timestamp;
    }
}
