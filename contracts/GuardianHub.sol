// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// @dev The part of Aave v3's Pool the hub reads to check an argument (`ReserveConfigurationMap`
///      is a one-word struct, so it decodes as a uint256).
interface IAaveV3PoolConfigurationReader {
    function getConfiguration(address asset) external view returns (uint256);
}

/// @dev The Aave v3 PoolConfigurator levers the hub knows; only their selectors are used.
interface IAaveV3RiskLevers {
    function setReserveFreeze(address asset, bool freeze) external;
    function setReservePause(address asset, bool paused) external;
    function setPoolPause(bool paused) external;
    function setReserveBorrowing(address asset, bool enabled) external;
    function setReserveFlashLoaning(address asset, bool enabled) external;
    function setReserveStableRateBorrowing(address asset, bool enabled) external;
    function setSupplyCap(address asset, uint256 newSupplyCap) external;
    function setBorrowCap(address asset, uint256 newBorrowCap) external;
    function configureReserveAsCollateral(address asset, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus)
        external;
}

/// @title GuardianHub
/// @notice k-of-n security agents that can only reduce risk. Governance (the owner, normally a
///         timelock) chooses the agents, the threshold k and an allow-list of (target, selector)
///         pairs, each with a rule that checks the call's arguments. Any agent proposes a call; the
///         k-th confirmation executes it in the same transaction. Proposals expire; any change to
///         the agents or the threshold voids every pending proposal; every step emits an event.
///
/// Why `Ownable2Step` rather than `AccessControl`: the hub has exactly one authority above the
/// agents (governance), and the agents are not a role but a counted set with a threshold, which
/// the hub manages itself. One owner leaves no role-admin graph to misconfigure; the two-step
/// hand-over means ownership cannot be sent to a mistyped address; renouncing is disabled, so the
/// hub can never be left without anyone able to rotate a compromised agent.
///
/// What the hub enforces, whatever governance allow-lists (so a governance mistake is bounded):
/// - Calls carry no value: the hub has no payable function and sends 0 with every call.
/// - Never a call to the hub itself, never a selector on the deny list below (token moves and
///   approvals, ownership and roles, upgrades, unpause, the ERC-7265 breaker's resume, release
///   and parameter functions, Aave's reserve-admin functions a risk admin can reach).
/// - The Aave v3 PoolConfigurator levers it knows always get their argument rule, whichever rule
///   governance asked for (a different one is refused when allow-listing):
///   `setReserveFreeze` and `setReservePause`: `(asset, true)` only; `setPoolPause`: `(true)` only;
///   `setReserveBorrowing`, `setReserveFlashLoaning`, `setReserveStableRateBorrowing`:
///   `(asset, false)` only; `setSupplyCap` / `setBorrowCap`: a non-zero cap no higher than the
///   current one (0 means "no cap" in Aave, so it is refused); `configureReserveAsCollateral`:
///   an LTV no higher than the current one with the liquidation threshold and bonus unchanged
///   (lowering the threshold would make positions liquidatable). `asset` must be a reserve listed
///   in the Aave Pool named with the rule, whose current configuration is read at execution.
/// - Any other selector can only be allow-listed with a fixed-calldata rule: `NoArgs` (exactly the
///   4-byte selector, e.g. a breaker's `trip()` or `pause()`) or `BoolTrue` (exactly `f(true)`).
///   The agents can then make that one exact call and nothing else: they never choose an address
///   or an amount for an unknown contract.
contract GuardianHub is Ownable2Step {
    /// @notice How a call's arguments are checked. `None` = not allowed.
    enum Rule {
        None,
        NoArgs,
        BoolTrue,
        AaveReserveFlagTrue,
        AaveReserveFlagFalse,
        AaveSupplyCapLower,
        AaveBorrowCapLower,
        AaveLtvLower
    }

    enum ProposalState {
        Unknown,
        Pending,
        Executed,
        Expired,
        Stale
    }

    struct Allowed {
        Rule rule;
        /// The Aave Pool whose reserve configuration the Aave rules read (0 for the others).
        address pool;
    }

    /// @dev One slot. The target and calldata are not stored: the id commits to them.
    struct Proposal {
        uint64 expiresAt; // 0 = no such proposal
        uint32 version; // configVersion when proposed
        uint32 confirmedMask; // bit i = agent i confirmed
        uint8 confirmations;
        bool executed;
    }

    uint256 public constant MAX_AGENTS = 32;
    uint64 public constant MIN_PROPOSAL_TTL = 1 minutes;
    uint64 public constant MAX_PROPOSAL_TTL = 30 days;

    uint256 private constant AAVE_LTV_MASK = 0xFFFF;
    uint256 private constant AAVE_BORROW_CAP_SHIFT = 80;
    uint256 private constant AAVE_SUPPLY_CAP_SHIFT = 116;
    uint256 private constant AAVE_CAP_MASK = 0xFFFFFFFFF; // 36 bits

    address[] private _agents;
    mapping(address => uint256) private _agentSlot; // index + 1; 0 = not an agent
    uint8 public threshold;
    /// @notice Bumped on every change to the agents or the threshold; voids pending proposals.
    uint32 public configVersion;
    uint64 public proposalTtl;

    mapping(address target => mapping(bytes4 selector => Allowed)) private _allowed;
    mapping(bytes32 => Proposal) private _proposals;

    event Proposed(
        bytes32 indexed id,
        address indexed proposer,
        address indexed target,
        bytes4 selector,
        bytes data,
        bytes32 salt,
        uint64 expiresAt
    );
    event Confirmed(bytes32 indexed id, address indexed agent, uint8 confirmations, uint8 threshold);
    event Revoked(bytes32 indexed id, address indexed agent, uint8 confirmations);
    event Executed(bytes32 indexed id, address indexed target, bytes4 selector, address indexed executor);
    event CallAllowed(address indexed target, bytes4 indexed selector, Rule rule, address pool);
    event CallDisallowed(address indexed target, bytes4 indexed selector);
    event AgentAdded(address indexed agent);
    event AgentRemoved(address indexed agent);
    event ThresholdSet(uint8 threshold, uint256 agents, uint32 configVersion);
    event ProposalTtlSet(uint64 ttl);

    error NotAgent(address account);
    error InvalidAgents();
    error InvalidThreshold(uint256 threshold, uint256 agents);
    error InvalidProposalTtl(uint64 ttl);
    error InvalidTarget(address target);
    error InvalidRule(bytes4 selector, Rule rule);
    error InvalidPool(address pool);
    error SelectorDenied(bytes4 selector);
    error CallNotAllowed(address target, bytes4 selector);
    error ArgumentsRefused(address target, bytes4 selector);
    error ProposalExists(bytes32 id);
    error UnknownProposal(bytes32 id);
    error ProposalNotPending(bytes32 id, ProposalState state);
    error AlreadyConfirmed(bytes32 id, address agent);
    error NotConfirmed(bytes32 id, address agent);
    error CallFailed(bytes32 id, bytes returnData);
    error RenounceDisabled();

    modifier onlyAgent() {
        if (_agentSlot[msg.sender] == 0) revert NotAgent(msg.sender);
        _;
    }

    constructor(address governance, address[] memory agents_, uint8 threshold_, uint64 proposalTtl_)
        Ownable(governance)
    {
        _setAgents(agents_, threshold_);
        _setProposalTtl(proposalTtl_);
    }

    // ------------------------------------------------------------------ agents

    /// @notice Proposes `target.call(data)` and confirms it; executes it if the threshold is 1.
    ///         `salt` lets the same call be proposed again later (Firebreak passes its
    ///         deterministic action id, so two engines proposing one action meet on one id).
    function propose(address target, bytes calldata data, bytes32 salt) external onlyAgent returns (bytes32 id) {
        id = proposalId(target, data, salt);
        if (!_open(_proposals[id])) revert ProposalExists(id);
        _create(id, target, data, salt);
        _confirm(id, target, data);
    }

    /// @notice Confirms a pending proposal; the k-th confirmation executes it (and reverts, with
    ///         the confirmation, if the call reverts or is no longer allowed). An expired or
    ///         voided proposal can be proposed again under the same id, from no confirmations.
    function confirm(address target, bytes calldata data, bytes32 salt) external onlyAgent returns (bytes32 id) {
        id = proposalId(target, data, salt);
        if (_proposals[id].expiresAt == 0) revert UnknownProposal(id);
        _confirm(id, target, data);
    }

    /// @notice `propose` if nobody has yet, else `confirm`: what independent agents call, so that
    ///         they need not know who came first.
    function proposeOrConfirm(address target, bytes calldata data, bytes32 salt)
        external
        onlyAgent
        returns (bytes32 id)
    {
        id = proposalId(target, data, salt);
        if (_open(_proposals[id])) _create(id, target, data, salt);
        _confirm(id, target, data);
    }

    /// @notice Withdraws the caller's confirmation of a pending proposal.
    function revoke(bytes32 id) external onlyAgent {
        Proposal storage p = _proposals[id];
        ProposalState state = _stateOf(p);
        if (state != ProposalState.Pending) revert ProposalNotPending(id, state);
        uint32 bit = _bit(_agentSlot[msg.sender]);
        if (p.confirmedMask & bit == 0) revert NotConfirmed(id, msg.sender);
        p.confirmedMask &= ~bit;
        p.confirmations -= 1;
        emit Revoked(id, msg.sender, p.confirmations);
    }

    // ------------------------------------------------------------------ governance

    /// @notice Replaces the whole agent set and the threshold; voids pending proposals.
    function setAgents(address[] calldata agents_, uint8 threshold_) external onlyOwner {
        _setAgents(agents_, threshold_);
    }

    /// @notice Rotates one agent's key, keeping the others and the threshold; voids pending proposals.
    function replaceAgent(address oldAgent, address newAgent) external onlyOwner {
        uint256 slot = _agentSlot[oldAgent];
        if (slot == 0) revert NotAgent(oldAgent);
        if (newAgent == address(0) || _agentSlot[newAgent] != 0) revert InvalidAgents();
        _agents[slot - 1] = newAgent;
        delete _agentSlot[oldAgent];
        _agentSlot[newAgent] = slot;
        configVersion += 1;
        emit AgentRemoved(oldAgent);
        emit AgentAdded(newAgent);
        emit ThresholdSet(threshold, _agents.length, configVersion);
    }

    function setThreshold(uint8 threshold_) external onlyOwner {
        if (threshold_ == 0 || threshold_ > _agents.length) revert InvalidThreshold(threshold_, _agents.length);
        threshold = threshold_;
        configVersion += 1;
        emit ThresholdSet(threshold_, _agents.length, configVersion);
    }

    function setProposalTtl(uint64 ttl) external onlyOwner {
        _setProposalTtl(ttl);
    }

    /// @notice Allow-lists `target.selector` under `rule` (see the contract's notes for what is
    ///         refused). `pool` is the Aave v3 Pool for the Aave rules, address(0) otherwise.
    function allowCall(address target, bytes4 selector, Rule rule, address pool) external onlyOwner {
        if (target == address(0) || target == address(this) || target.code.length == 0) revert InvalidTarget(target);
        if (isDenied(selector)) revert SelectorDenied(selector);
        Rule expected = knownRule(selector);
        if (rule == Rule.None) revert InvalidRule(selector, rule);
        if (expected != Rule.None) {
            if (rule != expected) revert InvalidRule(selector, rule);
        } else if (rule != Rule.NoArgs && rule != Rule.BoolTrue) {
            revert InvalidRule(selector, rule);
        }
        bool aave = rule >= Rule.AaveReserveFlagTrue;
        if (aave ? pool.code.length == 0 : pool != address(0)) revert InvalidPool(pool);
        _allowed[target][selector] = Allowed({rule: rule, pool: pool});
        emit CallAllowed(target, selector, rule, pool);
    }

    function disallowCall(address target, bytes4 selector) external onlyOwner {
        delete _allowed[target][selector];
        emit CallDisallowed(target, selector);
    }

    /// @notice Disabled: the hub must always have an owner able to rotate agents.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceDisabled();
    }

    // ------------------------------------------------------------------ views

    function proposalId(address target, bytes calldata data, bytes32 salt) public view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), target, keccak256(data), salt));
    }

    function proposalState(bytes32 id) external view returns (ProposalState) {
        return _stateOf(_proposals[id]);
    }

    function getProposal(bytes32 id)
        external
        view
        returns (ProposalState state, uint64 expiresAt, uint8 confirmations, uint32 confirmedMask, uint32 version)
    {
        Proposal memory p = _proposals[id];
        return (_stateOf(_proposals[id]), p.expiresAt, p.confirmations, p.confirmedMask, p.version);
    }

    function hasConfirmed(bytes32 id, address agent) external view returns (bool) {
        uint256 slot = _agentSlot[agent];
        Proposal memory p = _proposals[id];
        return slot != 0 && p.version == configVersion && p.confirmedMask & _bit(slot) != 0;
    }

    function getAgents() external view returns (address[] memory) {
        return _agents;
    }

    function isAgent(address account) external view returns (bool) {
        return _agentSlot[account] != 0;
    }

    function allowedCall(address target, bytes4 selector) external view returns (Rule rule, address pool) {
        Allowed memory a = _allowed[target][selector];
        return (a.rule, a.pool);
    }

    /// @notice Reverts with the reason the hub would refuse `target.call(data)` now; returns if
    ///         it would make it. For agents to check before proposing.
    function validateCall(address target, bytes calldata data) external view {
        _checkCall(target, data);
    }

    /// @notice The rule a known Aave v3 lever must have (`None` for selectors the hub does not know).
    function knownRule(bytes4 selector) public pure returns (Rule) {
        if (selector == IAaveV3RiskLevers.setReserveFreeze.selector) return Rule.AaveReserveFlagTrue;
        if (selector == IAaveV3RiskLevers.setReservePause.selector) return Rule.AaveReserveFlagTrue;
        if (selector == IAaveV3RiskLevers.setPoolPause.selector) return Rule.BoolTrue;
        if (selector == IAaveV3RiskLevers.setReserveBorrowing.selector) return Rule.AaveReserveFlagFalse;
        if (selector == IAaveV3RiskLevers.setReserveFlashLoaning.selector) return Rule.AaveReserveFlagFalse;
        if (selector == IAaveV3RiskLevers.setReserveStableRateBorrowing.selector) return Rule.AaveReserveFlagFalse;
        if (selector == IAaveV3RiskLevers.setSupplyCap.selector) return Rule.AaveSupplyCapLower;
        if (selector == IAaveV3RiskLevers.setBorrowCap.selector) return Rule.AaveBorrowCapLower;
        if (selector == IAaveV3RiskLevers.configureReserveAsCollateral.selector) return Rule.AaveLtvLower;
        return Rule.None;
    }

    /// @notice Selectors the hub refuses to allow-list under any rule: moving or approving
    ///         tokens, ownership and roles, upgrades, unpausing, an ERC-7265 breaker's resume,
    ///         release and parameter functions, and Aave risk-admin functions that are not levers.
    function isDenied(bytes4 s) public pure returns (bool) {
        return s == bytes4(keccak256("transfer(address,uint256)"))
            || s == bytes4(keccak256("transferFrom(address,address,uint256)"))
            || s == bytes4(keccak256("approve(address,uint256)"))
            || s == bytes4(keccak256("increaseAllowance(address,uint256)"))
            || s == bytes4(keccak256("permit(address,address,uint256,uint256,uint8,bytes32,bytes32)"))
            || s == bytes4(keccak256("setApprovalForAll(address,bool)"))
            || s == bytes4(keccak256("safeTransferFrom(address,address,uint256)"))
            || s == bytes4(keccak256("safeTransferFrom(address,address,uint256,bytes)"))
            || s == bytes4(keccak256("transferOwnership(address)")) || s == bytes4(keccak256("renounceOwnership()"))
            || s == bytes4(keccak256("acceptOwnership()")) || s == bytes4(keccak256("grantRole(bytes32,address)"))
            || s == bytes4(keccak256("revokeRole(bytes32,address)"))
            || s == bytes4(keccak256("renounceRole(bytes32,address)")) || s == bytes4(keccak256("upgradeTo(address)"))
            || s == bytes4(keccak256("upgradeToAndCall(address,bytes)")) || s == bytes4(keccak256("changeAdmin(address)"))
            || s == bytes4(keccak256("setAdmin(address)")) || s == bytes4(keccak256("setGuardian(address)"))
            || s == bytes4(keccak256("unpause()")) || s == bytes4(keccak256("overrideRateLimit()"))
            || s == bytes4(keccak256("overrideExpiredRateLimit()")) || s == bytes4(keccak256("startGracePeriod(uint256)"))
            || s == bytes4(keccak256("migrateFundsAfterExploit(address[],address)"))
            || s == bytes4(keccak256("claimLockedFunds(address,address)"))
            || s == bytes4(keccak256("registerAsset(address,uint256,uint256)"))
            || s == bytes4(keccak256("updateAssetParams(address,uint256,uint256)"))
            || s == bytes4(keccak256("addProtectedContracts(address[])"))
            || s == bytes4(keccak256("removeProtectedContracts(address[])"))
            || s == bytes4(keccak256("setReserveInterestRateStrategyAddress(address,address)"))
            || s == bytes4(keccak256("setReserveActive(address,bool)")) || s == bytes4(keccak256("dropReserve(address)"))
            || s == bytes4(keccak256("setDebtCeiling(address,uint256)"))
            || s == bytes4(keccak256("setReserveFactor(address,uint256)"))
            || s == bytes4(keccak256("setLiquidationProtocolFee(address,uint256)"))
            || s == bytes4(keccak256("setUnbackedMintCap(address,uint256)"))
            || s == bytes4(keccak256("setBorrowableInIsolation(address,bool)"))
            || s == bytes4(keccak256("setSiloedBorrowing(address,bool)"))
            || s == bytes4(keccak256("setAssetEModeCategory(address,uint8)"))
            || s == bytes4(keccak256("setEModeCategory(uint8,uint16,uint16,uint16,address,string)"));
    }

    // ------------------------------------------------------------------ internals

    function _create(bytes32 id, address target, bytes calldata data, bytes32 salt) private {
        _checkCall(target, data); // refuse early what could never execute
        uint64 expiresAt = uint64(block.timestamp) + proposalTtl;
        _proposals[id] = Proposal({
            expiresAt: expiresAt,
            version: configVersion,
            confirmedMask: 0,
            confirmations: 0,
            executed: false
        });
        emit Proposed(id, msg.sender, target, bytes4(data[:4]), data, salt, expiresAt);
    }

    function _confirm(bytes32 id, address target, bytes calldata data) private {
        Proposal storage p = _proposals[id];
        ProposalState state = _stateOf(p);
        if (state != ProposalState.Pending) revert ProposalNotPending(id, state);
        uint32 bit = _bit(_agentSlot[msg.sender]);
        if (p.confirmedMask & bit != 0) revert AlreadyConfirmed(id, msg.sender);
        p.confirmedMask |= bit;
        uint8 confirmations = p.confirmations + 1;
        p.confirmations = confirmations;
        emit Confirmed(id, msg.sender, confirmations, threshold);
        if (confirmations >= threshold) _execute(id, p, target, data);
    }

    function _execute(bytes32 id, Proposal storage p, address target, bytes calldata data) private {
        _checkCall(target, data); // the allow-list or the market may have changed since the proposal
        p.executed = true;
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) revert CallFailed(id, ret);
        emit Executed(id, target, bytes4(data[:4]), msg.sender);
    }

    /// @dev Agent `slot` (index + 1, at most MAX_AGENTS)'s bit in a confirmation mask.
    function _bit(uint256 slot) private pure returns (uint32) {
        return uint32(1 << (slot - 1));
    }

    /// @dev Whether an id is free to (re)propose: never used, or expired, or voided by a change
    ///      of agents (so an engine may retry the same action id after a rotation or an expiry).
    function _open(Proposal storage p) private view returns (bool) {
        ProposalState state = _stateOf(p);
        return state == ProposalState.Unknown || state == ProposalState.Expired || state == ProposalState.Stale;
    }

    function _stateOf(Proposal storage p) private view returns (ProposalState) {
        if (p.expiresAt == 0) return ProposalState.Unknown;
        if (p.executed) return ProposalState.Executed;
        if (p.version != configVersion) return ProposalState.Stale;
        if (block.timestamp >= p.expiresAt) return ProposalState.Expired;
        return ProposalState.Pending;
    }

    /// @dev Reverts unless `target.call(data)` is allow-listed and its arguments pass the rule.
    function _checkCall(address target, bytes calldata data) private view {
        if (data.length < 4) revert CallNotAllowed(target, bytes4(0));
        bytes4 selector = bytes4(data[:4]);
        Allowed memory a = _allowed[target][selector];
        Rule rule = a.rule;
        if (rule == Rule.None) revert CallNotAllowed(target, selector);
        bool ok;
        if (rule == Rule.NoArgs) {
            ok = data.length == 4;
        } else if (rule == Rule.BoolTrue) {
            ok = data.length == 36 && uint256(bytes32(data[4:36])) == 1;
        } else {
            ok = _checkAave(rule, a.pool, data);
        }
        if (!ok) revert ArgumentsRefused(target, selector);
    }

    function _checkAave(Rule rule, address pool, bytes calldata data) private view returns (bool) {
        uint256 words = rule == Rule.AaveLtvLower ? 4 : 2;
        if (data.length != 4 + 32 * words) return false;
        uint256 assetWord = uint256(bytes32(data[4:36]));
        if (assetWord >> 160 != 0) return false;
        uint256 config = IAaveV3PoolConfigurationReader(pool).getConfiguration(address(uint160(assetWord)));
        if (config == 0) return false; // not a listed reserve
        uint256 arg = uint256(bytes32(data[36:68]));
        if (rule == Rule.AaveReserveFlagTrue) return arg == 1;
        if (rule == Rule.AaveReserveFlagFalse) return arg == 0;
        if (rule == Rule.AaveSupplyCapLower || rule == Rule.AaveBorrowCapLower) {
            uint256 shift = rule == Rule.AaveSupplyCapLower ? AAVE_SUPPLY_CAP_SHIFT : AAVE_BORROW_CAP_SHIFT;
            uint256 current = (config >> shift) & AAVE_CAP_MASK;
            // 0 is "no cap" in Aave: never a lowering. Any non-zero cap lowers an uncapped reserve.
            return arg != 0 && (current == 0 || arg <= current);
        }
        // AaveLtvLower: ltv down or equal, liquidation threshold and bonus unchanged.
        uint256 liquidationThreshold = uint256(bytes32(data[68:100]));
        uint256 liquidationBonus = uint256(bytes32(data[100:132]));
        return arg <= (config & AAVE_LTV_MASK) && liquidationThreshold == ((config >> 16) & AAVE_LTV_MASK)
            && liquidationBonus == ((config >> 32) & AAVE_LTV_MASK);
    }

    function _setAgents(address[] memory agents_, uint8 threshold_) private {
        uint256 n = agents_.length;
        if (n == 0 || n > MAX_AGENTS) revert InvalidAgents();
        if (threshold_ == 0 || threshold_ > n) revert InvalidThreshold(threshold_, n);
        for (uint256 i = 0; i < _agents.length; i++) {
            delete _agentSlot[_agents[i]];
            emit AgentRemoved(_agents[i]);
        }
        delete _agents;
        for (uint256 i = 0; i < n; i++) {
            address agent = agents_[i];
            if (agent == address(0) || _agentSlot[agent] != 0) revert InvalidAgents();
            _agents.push(agent);
            _agentSlot[agent] = i + 1;
            emit AgentAdded(agent);
        }
        threshold = threshold_;
        configVersion += 1;
        emit ThresholdSet(threshold_, n, configVersion);
    }

    function _setProposalTtl(uint64 ttl) private {
        if (ttl < MIN_PROPOSAL_TTL || ttl > MAX_PROPOSAL_TTL) revert InvalidProposalTtl(ttl);
        proposalTtl = ttl;
        emit ProposalTtlSet(ttl);
    }
}
