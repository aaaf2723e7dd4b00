// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title RecoveryVault
/// @notice Where migrated liquidity waits: a breaker's `migrateFundsAfterExploit`, a guardian or
///         anyone may put funds in (a `deposit`, a plain transfer, or native asset); they leave only
///         through a release that governance (the owner) schedules to a destination it approved, and
///         that executes no earlier than `delay` after scheduling, while that destination is still
///         approved. During the delay governance or a guardian may cancel a release: guardians can
///         veto, never withdraw. The delay is read when a release is scheduled, so shortening it
///         never speeds up a release already waiting. The native asset is `address(1)`.
contract RecoveryVault is Ownable2Step, ReentrancyGuard {
    using SafeERC20 for IERC20;

    address public constant NATIVE_ASSET = address(1);
    uint64 public constant MIN_DELAY = 1 hours;
    uint64 public constant MAX_DELAY = 60 days;

    struct Release {
        address asset;
        address destination;
        uint256 amount;
        uint64 eta;
        bool executed;
        bool cancelled;
    }

    uint64 public delay;
    mapping(address => bool) public isGuardian;
    mapping(address => bool) public isApprovedDestination;
    Release[] private _releases;

    event Deposited(address indexed asset, address indexed from, uint256 amount);
    event GuardianSet(address indexed guardian, bool enabled);
    event DestinationSet(address indexed destination, bool approved);
    event DelaySet(uint64 delay);
    event ReleaseScheduled(
        uint256 indexed id, address indexed asset, address indexed destination, uint256 amount, uint64 eta
    );
    event ReleaseCancelled(uint256 indexed id, address indexed by);
    event ReleaseExecuted(uint256 indexed id, address indexed asset, address indexed destination, uint256 amount);

    error InvalidDelay(uint64 delay);
    error InvalidAddress();
    error ZeroAmount();
    error DestinationNotApproved(address destination);
    error UnknownRelease(uint256 id);
    error ReleaseClosed(uint256 id);
    error ReleaseNotReady(uint256 id, uint64 eta);
    error NotOwnerOrGuardian(address account);
    error NativeTransferFailed();
    error RenounceDisabled();

    constructor(address governance, uint64 delay_) Ownable(governance) {
        _setDelay(delay_);
    }

    // ------------------------------------------------------------------ in

    /// @notice Pulls `amount` of `asset` from the caller (who approved the vault). Anyone.
    function deposit(address asset, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (asset == NATIVE_ASSET || asset == address(0)) revert InvalidAddress();
        IERC20(asset).safeTransferFrom(msg.sender, address(this), amount);
        emit Deposited(asset, msg.sender, amount);
    }

    receive() external payable {
        emit Deposited(NATIVE_ASSET, msg.sender, msg.value);
    }

    // ------------------------------------------------------------------ governance

    function setGuardian(address guardian, bool enabled) external onlyOwner {
        if (guardian == address(0)) revert InvalidAddress();
        isGuardian[guardian] = enabled;
        emit GuardianSet(guardian, enabled);
    }

    function setDestination(address destination, bool approved) external onlyOwner {
        if (destination == address(0) || destination == address(this)) revert InvalidAddress();
        isApprovedDestination[destination] = approved;
        emit DestinationSet(destination, approved);
    }

    function setDelay(uint64 delay_) external onlyOwner {
        _setDelay(delay_);
    }

    /// @notice Schedules `amount` of `asset` to an approved destination, executable after `delay`.
    function scheduleRelease(address asset, uint256 amount, address destination)
        external
        onlyOwner
        returns (uint256 id)
    {
        if (amount == 0) revert ZeroAmount();
        if (asset == address(0)) revert InvalidAddress();
        if (!isApprovedDestination[destination]) revert DestinationNotApproved(destination);
        uint64 eta = uint64(block.timestamp) + delay;
        id = _releases.length;
        _releases.push(
            Release({
                asset: asset,
                destination: destination,
                amount: amount,
                eta: eta,
                executed: false,
                cancelled: false
            })
        );
        emit ReleaseScheduled(id, asset, destination, amount, eta);
    }

    /// @notice Governance or a guardian stops a release before it executes.
    function cancelRelease(uint256 id) external {
        if (msg.sender != owner() && !isGuardian[msg.sender]) revert NotOwnerOrGuardian(msg.sender);
        Release storage r = _release(id);
        if (r.executed || r.cancelled) revert ReleaseClosed(id);
        r.cancelled = true;
        emit ReleaseCancelled(id, msg.sender);
    }

    /// @notice Disabled: the funds would have no one left to release them.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceDisabled();
    }

    // ------------------------------------------------------------------ out

    /// @notice Sends a scheduled release once its delay passed, if its destination is still
    ///         approved. Anyone may execute: the destination and amount were fixed by governance.
    function executeRelease(uint256 id) external nonReentrant {
        Release storage r = _release(id);
        if (r.executed || r.cancelled) revert ReleaseClosed(id);
        if (block.timestamp < r.eta) revert ReleaseNotReady(id, r.eta);
        if (!isApprovedDestination[r.destination]) revert DestinationNotApproved(r.destination);
        r.executed = true;
        if (r.asset == NATIVE_ASSET) {
            (bool ok,) = r.destination.call{value: r.amount}("");
            if (!ok) revert NativeTransferFailed();
        } else {
            IERC20(r.asset).safeTransfer(r.destination, r.amount);
        }
        emit ReleaseExecuted(id, r.asset, r.destination, r.amount);
    }

    // ------------------------------------------------------------------ views

    function getRelease(uint256 id) external view returns (Release memory) {
        if (id >= _releases.length) revert UnknownRelease(id);
        return _releases[id];
    }

    function releaseCount() external view returns (uint256) {
        return _releases.length;
    }

    function _release(uint256 id) private view returns (Release storage) {
        if (id >= _releases.length) revert UnknownRelease(id);
        return _releases[id];
    }

    function _setDelay(uint64 delay_) private {
        if (delay_ < MIN_DELAY || delay_ > MAX_DELAY) revert InvalidDelay(delay_);
        delay = delay_;
        emit DelaySet(delay_);
    }
}
