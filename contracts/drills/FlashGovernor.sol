// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @dev The part of OpenZeppelin's TimelockController the governor drives.
interface ITimelockBatch {
    function getMinDelay() external view returns (uint256);
    function scheduleBatch(
        address[] calldata targets,
        uint256[] calldata values,
        bytes[] calldata payloads,
        bytes32 predecessor,
        bytes32 salt,
        uint256 delay
    ) external;
    function executeBatch(
        address[] calldata targets,
        uint256[] calldata values,
        bytes[] calldata payloads,
        bytes32 predecessor,
        bytes32 salt
    ) external payable;
}

/// @title FlashGovernor
/// @notice DRILL-ONLY AND DELIBERATELY VULNERABLE: never deploy it anywhere that holds real funds.
///
///         A governor shaped after Beanstalk's (SCENARIOS.md §7) for the flash-loan governance
///         drill. Voting power is stake deposited in the governor's silo, counted when the vote is
///         cast, with no snapshot: stake deposited, voted with and withdrawn in one transaction
///         counts in full (the first bug). `emergencyCommit` passes a proposal that is at least
///         `emergencyDelay` old once its votes reach the supermajority of the stake deposited
///         right now, and carries it out in the same transaction (the second bug: no delay between
///         the vote and the execution).
///
///         With a `timelock` (an OpenZeppelin TimelockController in which this governor is a
///         proposer), carrying out a proposal means scheduling its calls there with the timelock's
///         minimum delay: anyone may execute them once it has passed, and a holder of the
///         timelock's CANCELLER_ROLE (a guardian) may cancel them before. Without one, the governor
///         makes the calls itself at once.
contract FlashGovernor {
    using SafeERC20 for IERC20;

    struct Proposal {
        address proposer;
        uint64 createdAt;
        bool committed;
        uint256 votes;
        address[] targets;
        bytes[] payloads;
    }

    IERC20 public immutable stakeToken;
    uint256 public immutable emergencyDelay;
    uint256 public immutable supermajorityBps;
    /// @notice address(0): proposals are carried out by the governor itself, at once.
    ITimelockBatch public immutable timelock;

    mapping(address => uint256) public stakeOf;
    uint256 public totalStake;
    Proposal[] private _proposals;
    mapping(uint256 => mapping(address => bool)) public hasVoted;

    event Staked(address indexed account, uint256 amount);
    event Unstaked(address indexed account, uint256 amount);
    event Proposed(uint256 indexed id, address indexed proposer, address[] targets, bytes[] payloads);
    event Voted(uint256 indexed id, address indexed voter, uint256 weight);
    event Committed(uint256 indexed id, uint256 votes, uint256 totalStake, bool scheduled);

    error AlreadyVoted();
    error AlreadyCommitted();
    error TooEarly(uint256 readyAt);
    error NotEnoughVotes(uint256 votes, uint256 needed);
    error CallFailed(uint256 index, bytes reason);
    error EmptyProposal();

    constructor(IERC20 stakeToken_, uint256 emergencyDelay_, uint256 supermajorityBps_, ITimelockBatch timelock_) {
        stakeToken = stakeToken_;
        emergencyDelay = emergencyDelay_;
        supermajorityBps = supermajorityBps_;
        timelock = timelock_;
    }

    function stake(uint256 amount) external {
        stakeToken.safeTransferFrom(msg.sender, address(this), amount);
        stakeOf[msg.sender] += amount;
        totalStake += amount;
        emit Staked(msg.sender, amount);
    }

    function unstake(uint256 amount) external {
        stakeOf[msg.sender] -= amount;
        totalStake -= amount;
        stakeToken.safeTransfer(msg.sender, amount);
        emit Unstaked(msg.sender, amount);
    }

    function propose(address[] memory targets, bytes[] memory payloads) external returns (uint256 id) {
        if (targets.length == 0 || targets.length != payloads.length) revert EmptyProposal();
        id = _proposals.length;
        Proposal storage p = _proposals.push();
        p.proposer = msg.sender;
        p.createdAt = uint64(block.timestamp);
        p.targets = targets;
        for (uint256 i = 0; i < payloads.length; i++) p.payloads.push(payloads[i]);
        emit Proposed(id, msg.sender, targets, payloads);
    }

    /// @notice Votes for a proposal with the caller's stake as it is now. BUG (planted): no snapshot.
    function vote(uint256 id) external {
        if (hasVoted[id][msg.sender]) revert AlreadyVoted();
        hasVoted[id][msg.sender] = true;
        uint256 weight = stakeOf[msg.sender];
        _proposals[id].votes += weight;
        emit Voted(id, msg.sender, weight);
    }

    /// @notice Passes and carries out a proposal with a supermajority of the current stake.
    ///         BUG (planted): carried out in the same transaction as the vote (or, with a
    ///         timelock, scheduled with only its minimum delay).
    function emergencyCommit(uint256 id) external {
        Proposal storage p = _proposals[id];
        if (p.committed) revert AlreadyCommitted();
        uint256 readyAt = uint256(p.createdAt) + emergencyDelay;
        if (block.timestamp < readyAt) revert TooEarly(readyAt);
        uint256 needed = (totalStake * supermajorityBps + 9_999) / 10_000;
        if (p.votes < needed) revert NotEnoughVotes(p.votes, needed);
        p.committed = true;
        bool scheduled = address(timelock) != address(0);
        if (scheduled) {
            timelock.scheduleBatch(
                p.targets, new uint256[](p.targets.length), p.payloads, bytes32(0), bytes32(id), timelock.getMinDelay()
            );
        } else {
            for (uint256 i = 0; i < p.targets.length; i++) {
                (bool ok, bytes memory reason) = p.targets[i].call(p.payloads[i]);
                if (!ok) revert CallFailed(i, reason);
            }
        }
        emit Committed(id, p.votes, totalStake, scheduled);
    }

    /// @notice Executes a committed proposal's calls queued in the timelock (anyone; the timelock
    ///         checks the delay and that nobody cancelled them).
    function executeQueued(uint256 id) external {
        Proposal storage p = _proposals[id];
        timelock.executeBatch(p.targets, new uint256[](p.targets.length), p.payloads, bytes32(0), bytes32(id));
    }

    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    function proposalVotes(uint256 id) external view returns (uint256) {
        return _proposals[id].votes;
    }
}
