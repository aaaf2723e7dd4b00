// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @dev The Aave v3 Pool's simple flash loan.
interface IAaveSimpleFlashLoan {
    function flashLoanSimple(address receiver, address asset, uint256 amount, bytes calldata params, uint16 referral)
        external;
}

/// @title FlashLoanRunner
/// @notice DRILL-ONLY: a scenario's `flash-loan` step. Its owner (an account of the drill)
///         flash-borrows an asset from the Aave v3 market; the runner makes the step's calls in
///         order, as itself, repays the loan and its premium (the shortfall taken from the owner's
///         wallet, which approves this contract), and sends every token listed in `sweep` it
///         still holds to the owner.
contract FlashLoanRunner {
    using SafeERC20 for IERC20;

    struct Call {
        address target;
        bytes data;
    }

    address public immutable owner;
    IAaveSimpleFlashLoan public immutable lender;

    error NotOwner();
    error NotLender();
    /// @notice Call `index` of the step reverted with `reason`.
    error CallFailed(uint256 index, bytes reason);

    constructor(IAaveSimpleFlashLoan lender_) {
        owner = msg.sender;
        lender = lender_;
    }

    function run(address asset, uint256 amount, Call[] calldata calls, address[] calldata sweep) external {
        if (msg.sender != owner) revert NotOwner();
        lender.flashLoanSimple(address(this), asset, amount, abi.encode(calls), 0);
        for (uint256 i = 0; i < sweep.length; i++) {
            uint256 left = IERC20(sweep[i]).balanceOf(address(this));
            if (left > 0) IERC20(sweep[i]).safeTransfer(owner, left);
        }
    }

    function executeOperation(address asset, uint256 amount, uint256 premium, address initiator, bytes calldata params)
        external
        returns (bool)
    {
        if (msg.sender != address(lender) || initiator != address(this)) revert NotLender();
        Call[] memory calls = abi.decode(params, (Call[]));
        for (uint256 i = 0; i < calls.length; i++) {
            (bool ok, bytes memory reason) = calls[i].target.call(calls[i].data);
            if (!ok) revert CallFailed(i, reason);
        }
        uint256 have = IERC20(asset).balanceOf(address(this));
        if (have < amount + premium) IERC20(asset).safeTransferFrom(owner, address(this), amount + premium - have);
        IERC20(asset).forceApprove(address(lender), amount + premium);
        return true;
    }
}
