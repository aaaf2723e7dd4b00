/**
 * Detect — `governance-watch`: admin and parameter changes of an Aave v3 market, and calls queued
 * in an OpenZeppelin `TimelockController`, classified by risk, with the time left before a queued
 * call can execute (the seed's "governance delay" window: the time a guardian has to veto).
 *
 * Executed changes come from the market's own events: PoolConfigurator (collateral parameters,
 * caps, freeze/pause, borrowing, rate strategy, token upgrades, ...), AaveOracle (price sources),
 * ACLManager (role grants and revocations) and PoolAddressesProvider (implementation and address
 * changes). Queued calls come from each configured timelock's `CallScheduled`: the call data is
 * decoded against the functions that matter (fund transfers, roles and ownership, upgrades,
 * oracle sources, risk parameters) and the finding carries its target, function, arguments, eta
 * and seconds left. `CallExecuted` and `Cancelled` close it; a dangerous call still pending when
 * less than `warnBeforeSeconds` remain is raised once more.
 *
 * Classes and severities: risk-reducing (a freeze, a pause, a lower LTV or cap) `info`; parameter
 * `low` (executed) or `medium` (queued); risk-increasing (an unfreeze, a higher LTV, a cap raised
 * or removed) `medium`; oracle, admin, upgrade and funds `high` — `critical` when queued with less
 * than `minDelaySeconds` before it can execute (Beanstalk: a proposal that moved the treasury, with
 * no delay). Blind spots: governors other than a TimelockController (Governor Bravo, Aave's own
 * executors: add their queue event as a declarative rule); a harmless-looking call to a contract
 * that does the harm (only the top-level call is decoded); the direction of a collateral change
 * for an asset listed after the detector started is unknown until its next change.
 */
import { type AbiEvent, decodeFunctionData, type Hex, keccak256, parseAbiItem, toHex } from 'viem';
import {
  aaveOracleAbi,
  aclManagerAbi,
  poolAddressesProviderAbi,
  poolConfiguratorAbi,
} from '../protocols/aave-v3/abi';
import { findingOf } from './finding';
import type { DecodedLog } from './logs';
import type { DetectorDefinition, Finding, Severity } from './types';

export interface GovernanceWatchParams {
  market?: Hex | undefined;
  pool?: Hex | undefined;
  poolConfigurator?: Hex | undefined;
  oracle?: Hex | undefined;
  aclManager?: Hex | undefined;
  addressesProvider?: Hex | undefined;
  timelocks: Hex[];
  /** A dangerous call queued with less delay than this is `critical`. */
  minDelaySeconds: number;
  /** Raise a pending dangerous call again once fewer seconds than this remain. */
  warnBeforeSeconds: number;
}

export type GovernanceClass =
  | 'risk-reducing'
  | 'parameter'
  | 'risk-increasing'
  | 'oracle'
  | 'admin'
  | 'upgrade'
  | 'funds'
  | 'unknown';

const DANGEROUS: ReadonlySet<GovernanceClass> = new Set(['oracle', 'admin', 'upgrade', 'funds']);

const ROLE_NAMES = new Map<string, string>(
  [
    'POOL_ADMIN',
    'EMERGENCY_ADMIN',
    'RISK_ADMIN',
    'FLASH_BORROWER',
    'BRIDGE',
    'ASSET_LISTING_ADMIN',
    'PROPOSER_ROLE',
    'EXECUTOR_ROLE',
    'CANCELLER_ROLE',
  ].map((r) => [keccak256(toHex(r)), r]),
);
ROLE_NAMES.set(`0x${'00'.repeat(32)}`, 'DEFAULT_ADMIN');
export const roleName = (role: string) => ROLE_NAMES.get(role.toLowerCase()) ?? role;

/** Functions a queued call is decoded against, with their class (a function taking a flag is judged by it). */
const FUNCTIONS: {
  signature: string;
  classify: (args: readonly unknown[], value: bigint) => GovernanceClass;
}[] = [
  ...['transfer(address,uint256)', 'transferFrom(address,address,uint256)', 'approve(address,uint256)'].map(
    (s) => ({
      signature: s,
      classify: () => 'funds' as const,
    }),
  ),
  ...[
    'grantRole(bytes32,address)',
    'revokeRole(bytes32,address)',
    'renounceRole(bytes32,address)',
    'transferOwnership(address)',
    'setACLAdmin(address)',
    'setACLManager(address)',
    'addPoolAdmin(address)',
    'addEmergencyAdmin(address)',
    'addRiskAdmin(address)',
    'updateDelay(uint256)',
    'changeAdmin(address)',
  ].map((s) => ({ signature: s, classify: () => 'admin' as const })),
  ...[
    'upgradeTo(address)',
    'upgradeToAndCall(address,bytes)',
    'setPoolImpl(address)',
    'setPoolConfiguratorImpl(address)',
    'setAddressAsProxy(bytes32,address)',
    'setAddress(bytes32,address)',
    'setPoolDataProvider(address)',
  ].map((s) => ({ signature: s, classify: () => 'upgrade' as const })),
  ...[
    'setAssetSources(address[],address[])',
    'setFallbackOracle(address)',
    'setPriceOracle(address)',
    'setPriceOracleSentinel(address)',
  ].map((s) => ({ signature: s, classify: () => 'oracle' as const })),
  {
    signature: 'setReserveFreeze(address,bool)',
    classify: (a) => (a[1] === true ? 'risk-reducing' : 'risk-increasing'),
  },
  {
    signature: 'setReservePause(address,bool)',
    classify: (a) => (a[1] === true ? 'risk-reducing' : 'risk-increasing'),
  },
  { signature: 'setPoolPause(bool)', classify: (a) => (a[0] === true ? 'risk-reducing' : 'risk-increasing') },
  {
    signature: 'setReserveBorrowing(address,bool)',
    classify: (a) => (a[1] === true ? 'risk-increasing' : 'risk-reducing'),
  },
  ...[
    'configureReserveAsCollateral(address,uint256,uint256,uint256)',
    'setSupplyCap(address,uint256)',
    'setBorrowCap(address,uint256)',
    'setReserveFactor(address,uint256)',
    'setDebtCeiling(address,uint256)',
    'setReserveInterestRateStrategyAddress(address,address)',
    'setLiquidationProtocolFee(address,uint256)',
    'setEModeCategory(uint8,uint16,uint16,uint16,address,string)',
    'setAssetEModeCategory(address,uint8)',
    'updateFlashloanPremiumTotal(uint128)',
  ].map((s) => ({ signature: s, classify: () => 'parameter' as const })),
];
const FUNCTION_ABI = FUNCTIONS.map((f) => ({ ...f, item: parseAbiItem(`function ${f.signature}`) }));

/** Decodes and classifies a queued call (pure). */
export function classifyCall(
  data: Hex,
  value: bigint,
): { class: GovernanceClass; functionName: string; args: string } {
  for (const f of FUNCTION_ABI) {
    try {
      const decoded = decodeFunctionData({ abi: [f.item], data });
      const args = (decoded.args ?? []) as readonly unknown[];
      const shown = args
        .map((a) => (typeof a === 'string' && a.length === 66 ? roleName(a) : String(a)))
        .join(', ');
      return { class: f.classify(args, value), functionName: decoded.functionName, args: shown };
    } catch {
      // Not this function.
    }
  }
  if (data === '0x' && value > 0n)
    return { class: 'funds', functionName: '(ether transfer)', args: value.toString() };
  return { class: 'unknown', functionName: data.slice(0, 10), args: '' };
}

const events = (abi: readonly { type: string }[]) => abi.filter((x) => x.type === 'event') as AbiEvent[];

const TIMELOCK_EVENTS = {
  scheduled:
    'CallScheduled(bytes32 indexed id, uint256 indexed index, address target, uint256 value, bytes data, bytes32 predecessor, uint256 delay)',
  executed:
    'CallExecuted(bytes32 indexed id, uint256 indexed index, address target, uint256 value, bytes data)',
  cancelled: 'Cancelled(bytes32 indexed id)',
  minDelay: 'MinDelayChange(uint256 oldDuration, uint256 newDuration)',
} as const;

const big = (v: unknown) => (typeof v === 'bigint' ? v : BigInt(String(v)));

/** The class of an executed market event (its name and decoded arguments), with a short description. */
export function classifyMarketEvent(
  name: string,
  args: Record<string, unknown>,
  before?: { ltv: number; liquidationThreshold: number },
): { class: GovernanceClass; what: string } {
  const a = (k: string) => String(args[k]);
  switch (name) {
    case 'CollateralConfigurationChanged': {
      const ltv = Number(args.ltv);
      const lt = Number(args.liquidationThreshold);
      const what = `collateral of ${a('asset')}: LTV ${ltv / 100}%, liquidation threshold ${lt / 100}%, bonus ${Number(args.liquidationBonus) / 100}%`;
      if (ltv === 0) return { class: 'risk-reducing', what };
      if (!before) return { class: 'parameter', what };
      if (ltv > before.ltv || lt > before.liquidationThreshold)
        return {
          class: 'risk-increasing',
          what: `${what} (was ${before.ltv / 100}% / ${before.liquidationThreshold / 100}%)`,
        };
      return {
        class: 'risk-reducing',
        what: `${what} (was ${before.ltv / 100}% / ${before.liquidationThreshold / 100}%)`,
      };
    }
    case 'ReserveFrozen':
      return {
        class: args.frozen ? 'risk-reducing' : 'risk-increasing',
        what: `${a('asset')} ${args.frozen ? 'frozen' : 'unfrozen'}`,
      };
    case 'ReservePaused':
      return {
        class: args.paused ? 'risk-reducing' : 'risk-increasing',
        what: `${a('asset')} ${args.paused ? 'paused' : 'unpaused'}`,
      };
    case 'ReserveBorrowing':
      return {
        class: args.enabled ? 'risk-increasing' : 'risk-reducing',
        what: `borrowing of ${a('asset')} ${args.enabled ? 'enabled' : 'disabled'}`,
      };
    case 'BorrowCapChanged':
    case 'SupplyCapChanged':
    case 'DebtCeilingChanged':
    case 'UnbackedMintCapChanged': {
      const keys = Object.keys(args).filter((k) => k !== 'asset');
      const old = big(args[keys[0]!]);
      const next = big(args[keys[1]!]);
      const raised = (next === 0n && old !== 0n) || (old !== 0n && next > old);
      return {
        class: raised ? 'risk-increasing' : 'risk-reducing',
        what: `${name.replace('Changed', '')} of ${a('asset')}: ${old} → ${next}${next === 0n ? ' (no cap)' : ''}`,
      };
    }
    case 'ReserveInterestRateStrategyChanged':
      return { class: 'risk-increasing', what: `rate strategy of ${a('asset')} → ${a('newStrategy')}` };
    case 'ATokenUpgraded':
    case 'StableDebtTokenUpgraded':
    case 'VariableDebtTokenUpgraded':
      return { class: 'upgrade', what: `${name} for ${a('asset')}: implementation ${a('implementation')}` };
    case 'AssetSourceUpdated':
      return { class: 'oracle', what: `price source of ${a('asset')} → ${a('source')}` };
    case 'FallbackOracleUpdated':
      return { class: 'oracle', what: `fallback oracle → ${a('fallbackOracle')}` };
    case 'RoleGranted':
      return { class: 'admin', what: `${roleName(a('role'))} granted to ${a('account')} by ${a('sender')}` };
    case 'RoleRevoked':
      return {
        class: 'parameter',
        what: `${roleName(a('role'))} revoked from ${a('account')} by ${a('sender')}`,
      };
    case 'RoleAdminChanged':
      return { class: 'admin', what: `admin of ${roleName(a('role'))} → ${roleName(a('newAdminRole'))}` };
    case 'ReserveDropped':
      return { class: 'risk-increasing', what: `reserve ${a('asset')} dropped` };
    case 'ReserveActive':
      return {
        class: args.active ? 'parameter' : 'risk-reducing',
        what: `${a('asset')} ${args.active ? 'activated' : 'deactivated'}`,
      };
    default:
      return {
        class: 'parameter',
        what: `${name}(${Object.entries(args)
          .map(([k, v]) => `${k}: ${String(v)}`)
          .join(', ')})`,
      };
  }
}

const PROVIDER_ADMIN_EVENTS = new Set(['MarketIdSet']);

export function executedSeverity(c: GovernanceClass): Severity {
  if (c === 'risk-reducing') return 'info';
  if (c === 'parameter') return 'low';
  if (c === 'risk-increasing' || c === 'unknown') return 'medium';
  return 'high';
}

export function queuedSeverity(c: GovernanceClass, delaySeconds: bigint, minDelaySeconds: number): Severity {
  if (c === 'risk-reducing') return 'info';
  if (DANGEROUS.has(c)) return delaySeconds < BigInt(minDelaySeconds) ? 'critical' : 'high';
  return 'medium';
}

interface Pending {
  timelock: Hex;
  eta: string;
  class: GovernanceClass;
  title: string;
  warned: boolean;
}

export const governanceWatch: DetectorDefinition<GovernanceWatchParams> = {
  type: 'governance-watch',
  description: 'Admin and parameter changes, and timelock proposals classified by risk with the time left.',
  async detect(event, { instanceId, params, view, state, logs }) {
    const findings: Finding[] = [];
    const now = event.block.timestamp;
    const subjectBase = { protocol: 'aave-v3', ...(params.market ? { market: params.market } : {}) };

    // Seed the collateral parameters once, so a later change has a direction.
    type Collateral = Record<string, { ltv: number; liquidationThreshold: number }>;
    let collateral = state.get<Collateral>('collateral');
    if (collateral === undefined && params.pool) {
      collateral = {};
      for (const asset of await view.reservesList(params.pool)) {
        const c = await view.reserveConfiguration(params.pool, asset);
        collateral[asset] = { ltv: c.ltvBps, liquidationThreshold: c.liquidationThresholdBps };
      }
      state.set('collateral', collateral);
    }

    // Executed changes on the market's contracts.
    const sources: [Hex | undefined, readonly AbiEvent[]][] = [
      [params.poolConfigurator, events(poolConfiguratorAbi)],
      [params.oracle, events(aaveOracleAbi)],
      [params.aclManager, events(aclManagerAbi)],
      [params.addressesProvider, events(poolAddressesProviderAbi)],
    ];
    const executed: { name: string; log: DecodedLog }[] = [];
    for (const [address, list] of sources) {
      if (!address) continue;
      const decoded = await Promise.all(list.map((e) => logs.decode(e, address)));
      decoded.forEach((d, i) => {
        for (const log of d) executed.push({ name: list[i]!.name, log });
      });
    }
    executed.sort((a, b) => a.log.logIndex - b.log.logIndex);
    for (const { name, log } of executed) {
      if (name === 'ReserveInitialized' || PROVIDER_ADMIN_EVENTS.has(name)) continue;
      const isProvider =
        params.addressesProvider !== undefined && log.address === params.addressesProvider.toLowerCase();
      const asset = typeof log.args.asset === 'string' ? (log.args.asset.toLowerCase() as Hex) : undefined;
      const before = asset ? collateral?.[asset] : undefined;
      const judged = isProvider
        ? {
            class: 'upgrade' as const,
            what: `${name}(${Object.entries(log.args)
              .map(([k, v]) => `${k}: ${String(v)}`)
              .join(', ')})`,
          }
        : classifyMarketEvent(name, log.args, before);
      if (name === 'CollateralConfigurationChanged' && asset && collateral) {
        collateral[asset] = {
          ltv: Number(log.args.ltv),
          liquidationThreshold: Number(log.args.liquidationThreshold),
        };
        state.set('collateral', collateral);
      }
      findings.push(
        findingOf('governance-watch', instanceId, event, {
          severity: executedSeverity(judged.class),
          kind: 'governance',
          subject: { ...subjectBase, ...(asset ? { asset } : {}) },
          dedupeKey: `governance-watch:executed:${event.chainId}:${log.transactionHash.toLowerCase()}:${log.logIndex}`,
          confidence: 1,
          title: `${judged.class} change executed: ${judged.what}`,
          evidence: {
            event: name,
            class: judged.class,
            contract: log.address,
            tx: log.transactionHash,
            logIndex: log.logIndex,
            args: Object.entries(log.args)
              .map(([k, v]) => `${k}=${String(v)}`)
              .join('; '),
            block: event.block.number.toString(),
          },
        }),
      );
    }

    // Timelock queues.
    const pending = new Map(Object.entries(state.get<Record<string, Pending>>('pending') ?? {}));
    if (params.timelocks.length > 0) {
      const [scheduled, done, cancelled] = await Promise.all([
        logs.decode(TIMELOCK_EVENTS.scheduled, params.timelocks),
        logs.decode(TIMELOCK_EVENTS.executed, params.timelocks),
        logs.decode(TIMELOCK_EVENTS.cancelled, params.timelocks),
      ]);
      const byId = new Map<string, DecodedLog[]>();
      for (const s of scheduled) {
        const id = `${s.address}:${String(s.args.id)}`;
        byId.set(id, [...(byId.get(id) ?? []), s]);
      }
      for (const [key, calls] of byId) {
        const judged = calls.map((c) => ({ c, ...classifyCall(c.args.data as Hex, big(c.args.value)) }));
        const rank = (g: GovernanceClass) =>
          [
            'risk-reducing',
            'parameter',
            'unknown',
            'risk-increasing',
            'oracle',
            'upgrade',
            'admin',
            'funds',
          ].indexOf(g);
        const worst = judged.reduce((w, j) => (rank(j.class) > rank(w.class) ? j : w));
        const delay = big(worst.c.args.delay);
        const eta = now + delay;
        const severity = queuedSeverity(worst.class, delay, params.minDelaySeconds);
        const summary = judged
          .map((j) => `${j.functionName}(${j.args}) on ${String(j.c.args.target)}`)
          .join('; ');
        const title = `${worst.class} call queued in timelock ${worst.c.address}: ${summary}; executable in ${delay} s`;
        findings.push(
          findingOf('governance-watch', instanceId, event, {
            severity,
            kind: 'governance',
            subject: { ...subjectBase, account: worst.c.address },
            dedupeKey: `governance-watch:queued:${event.chainId}:${key}`,
            confidence: worst.class === 'unknown' ? 0.5 : 0.9,
            title,
            evidence: {
              timelock: worst.c.address,
              operationId: String(worst.c.args.id),
              calls: judged.length,
              class: worst.class,
              target: String(worst.c.args.target),
              function: worst.functionName,
              args: worst.args,
              value: String(worst.c.args.value),
              delaySeconds: delay.toString(),
              minDelaySeconds: params.minDelaySeconds,
              eta: eta.toString(),
              timeLeftSeconds: delay.toString(),
              tx: worst.c.transactionHash,
              block: event.block.number.toString(),
            },
          }),
        );
        // Already inside the warning window when queued: this finding is the warning.
        if (severity !== 'info')
          pending.set(key, {
            timelock: worst.c.address,
            eta: eta.toString(),
            class: worst.class,
            title,
            warned: delay <= BigInt(params.warnBeforeSeconds),
          });
      }
      for (const closed of [...done, ...cancelled]) {
        const key = `${closed.address}:${String(closed.args.id)}`;
        const was = pending.get(key);
        if (!was) continue;
        pending.delete(key);
        const how = done.includes(closed) ? 'executed' : 'cancelled';
        findings.push(
          findingOf('governance-watch', instanceId, event, {
            severity: 'info',
            kind: 'governance',
            subject: { ...subjectBase, account: closed.address },
            dedupeKey: `governance-watch:${how}:${event.chainId}:${key}`,
            confidence: 1,
            title: `queued ${was.class} call ${how}: ${was.title}`,
            evidence: {
              timelock: closed.address,
              operationId: String(closed.args.id),
              outcome: how,
              tx: closed.transactionHash,
            },
          }),
        );
      }
    }
    // Reminders: a dangerous call still pending close to its eta.
    for (const [key, p] of pending) {
      const left = BigInt(p.eta) - now;
      if (!p.warned && DANGEROUS.has(p.class) && left <= BigInt(params.warnBeforeSeconds)) {
        p.warned = true;
        findings.push(
          findingOf('governance-watch', instanceId, event, {
            severity: 'high',
            kind: 'governance',
            subject: { ...subjectBase, account: p.timelock },
            dedupeKey: `governance-watch:queued:${event.chainId}:${key}`,
            confidence: 0.9,
            title: `${left > 0n ? `${left} s left` : 'executable now'}: ${p.title}`,
            evidence: {
              timelock: p.timelock,
              operationId: key.split(':')[1] ?? key,
              class: p.class,
              eta: p.eta,
              timeLeftSeconds: (left > 0n ? left : 0n).toString(),
            },
          }),
        );
      }
    }
    state.set('pending', Object.fromEntries(pending));
    return findings;
  },
};
