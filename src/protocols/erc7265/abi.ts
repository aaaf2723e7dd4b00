/**
 * Protocols / ERC-7265 — the circuit-breaker interface of the EIP's first published version (any
 * conforming breaker), and Firebreak's extensions to it (`trip`, `guardian`, `totalLocked`,
 * `liquidity`), as typed ABIs.
 */
import { parseAbi } from 'viem';

export const erc7265Abi = parseAbi([
  'event AssetRegistered(address indexed asset, uint256 metricThreshold, uint256 minAmountToLimit)',
  'event AssetInflow(address indexed token, uint256 indexed amount)',
  'event AssetRateLimitBreached(address indexed asset, uint256 timestamp)',
  'event AssetWithdraw(address indexed asset, address indexed recipient, uint256 amount)',
  'event LockedFundsClaimed(address indexed asset, address indexed recipient)',
  'event AdminSet(address indexed newAdmin)',
  'event GracePeriodStarted(uint256 gracePeriodEnd)',
  'function registerAsset(address _asset, uint256 _metricThreshold, uint256 _minAmountToLimit)',
  'function updateAssetParams(address _asset, uint256 _metricThreshold, uint256 _minAmountToLimit)',
  'function onTokenInflow(address _token, uint256 _amount)',
  'function onTokenOutflow(address _token, uint256 _amount, address _recipient, bool _revertOnRateLimit)',
  'function onNativeAssetInflow(uint256 _amount)',
  'function onNativeAssetOutflow(address _recipient, bool _revertOnRateLimit) payable',
  'function claimLockedFunds(address _asset, address _recipient)',
  'function setAdmin(address _newAdmin)',
  'function overrideRateLimit()',
  'function overrideExpiredRateLimit()',
  'function addProtectedContracts(address[] _ProtectedContracts)',
  'function removeProtectedContracts(address[] _ProtectedContracts)',
  'function startGracePeriod(uint256 _gracePeriodEndTimestamp)',
  'function markAsNotOperational()',
  'function migrateFundsAfterExploit(address[] _assets, address _recoveryRecipient)',
  'function lockedFunds(address recipient, address asset) view returns (uint256 amount)',
  'function isProtectedContract(address account) view returns (bool protectionActive)',
  'function admin() view returns (address)',
  'function isRateLimited() view returns (bool)',
  'function rateLimitCooldownPeriod() view returns (uint256)',
  'function lastRateLimitTimestamp() view returns (uint256)',
  'function gracePeriodEndTimestamp() view returns (uint256)',
  'function isRateLimitTriggered(address _asset) view returns (bool)',
  'function isInGracePeriod() view returns (bool)',
  'function isOperational() view returns (bool)',
]);

/** Firebreak's `CircuitBreaker` additions (not in the EIP; other breakers lack them). */
export const firebreakBreakerExtensionsAbi = parseAbi([
  'event RateLimitTripped(address indexed by, uint256 timestamp)',
  'event FundsLocked(address indexed asset, address indexed recipient, uint256 amount)',
  'event MarkedNotOperational(address indexed by)',
  'function trip()',
  'function guardian() view returns (address)',
  'function setGuardian(address _guardian)',
  'function totalLocked(address asset) view returns (uint256)',
  'function liquidity(address asset) view returns (int256 settled, int256 inWindow)',
]);
