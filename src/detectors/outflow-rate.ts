/**
 * Detect — `outflow-rate`: ERC-7265-style outflow limits, watched rather than enforced.
 *
 * Two checks per watched asset and holder (for an Aave v3 reserve the holder is its aToken, which
 * holds the underlying):
 * - window: the holder's net outflow over the last `windowBlocks` blocks that nobody paid for,
 *   measured from the highest such balance the window saw, against what depositors are owed (the
 *   claim token's supply — an Aave reserve's aToken supply, not its cash; the holder's balance when
 *   there is no claim token): `maxOutflowBps` is 1 − retention, `high`, `critical` from
 *   `criticalOutflowBps`. A withdrawal paid for by burned claims (or by the account's earlier
 *   deposits) is added back: a depositor taking back its own deposit leaves every remaining claim
 *   as backed as before, a drain that takes the cash and leaves the claims unbacked does not;
 * - transaction: one account's net outflow in one transaction against the holder's balance just
 *   before it (`txShareBps`). An outflow the account pays for — claim tokens burned in the same
 *   transaction (aTokens on an Aave withdrawal or liquidation, vault shares) or deposits it made
 *   earlier while watched — is a legitimate large withdrawal: `info`. One it does not pay for is
 *   `high`, `critical` from `txCriticalShareBps` or next to a flash loan (Euler: a flash loan,
 *   self-liquidation and a withdrawal of far more than was ever deposited, in one transaction).
 *
 * Flows are the asset's ERC-20 `Transfer` logs to and from the holder; a flash loan that returns
 * within its transaction nets to nothing. Blind spots: assets that move without `Transfer` logs
 * (rebasing tokens, native ETH); an attacker who first deposits what it will later drain (seen as
 * backed up to that deposit); many small transactions (the window check catches their sum); a
 * borrow is an outflow nobody paid for by a claim (it counts in both checks).
 */
import type { Hex } from 'viem';
import { findingOf } from './finding';
import type { DecodedLog } from './logs';
import { ERC20_TRANSFER, flashLoansByTx } from './signals';
import type { DetectorDefinition, Finding, Severity } from './types';
import { rollingWindow } from './window';

export interface OutflowRateParams {
  /** The Aave v3 pool, to find each reserve's aToken when `holder` is not given. */
  pool?: Hex | undefined;
  /** The market's identity (Aave v3: PoolAddressesProvider), for the findings' subject. */
  market?: Hex | undefined;
  assets: {
    asset: Hex;
    symbol?: string | undefined;
    /** The contract holding the protocol's liquidity (default: the reserve's aToken). */
    holder?: Hex | undefined;
    /** The token whose burn pays for a withdrawal (default: the aToken when the holder is it). */
    claimToken?: Hex | undefined;
  }[];
  windowBlocks: number;
  maxOutflowBps: number;
  criticalOutflowBps: number;
  txShareBps: number;
  txCriticalShareBps: number;
  /** Accounts whose deposit history is remembered (oldest forgotten first). */
  maxTrackedAccounts: number;
}

const ZERO = '0x0000000000000000000000000000000000000000';
/** Aave v3 scaled-balance token events (aToken): the interest part of a withdrawal is in `balanceIncrease`. */
const AAVE_SCALED_BURN =
  'Burn(address indexed from, address indexed target, uint256 value, uint256 balanceIncrease, uint256 index)';
const AAVE_SCALED_MINT =
  'Mint(address indexed caller, address indexed onBehalfOf, uint256 value, uint256 balanceIncrease, uint256 index)';

/** One block of a holder's window: its balance, the paid-for outflows so far, what is owed (all decimal strings). */
interface FlowSample {
  cash: string;
  /** Paid-for outflows summed over the window's blocks up to this one (only differences matter). */
  paid: string;
  /** The claim token's supply (what depositors are owed), when there is a claim token. */
  owed?: string;
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** The running paid-for total at the peak block (the start of the block when the peak is the current one). */
function paidAt(
  earlier: readonly { block: number; value: FlowSample }[],
  peakBlock: number,
  fallback: bigint,
) {
  const s = earlier.find((x) => x.block === peakBlock);
  return s ? BigInt(s.value.paid) : fallback;
}

interface AccountFlows {
  /** Net outflow per (tx, account) in log order, with the holder's balance just before the tx. */
  outflows: { tx: Hex; account: Hex; net: bigint; balanceBefore: bigint; inflow: bigint }[];
  netBlock: bigint;
}

/** Net flows of one holder by transaction and account, from the asset's transfer logs (pure). */
export function flowsOf(transfers: readonly DecodedLog[], holder: Hex, balanceAfter: bigint): AccountFlows {
  const h = holder.toLowerCase();
  const mine = transfers
    .filter((t) => String(t.args.from).toLowerCase() === h || String(t.args.to).toLowerCase() === h)
    .sort((a, b) => a.logIndex - b.logIndex);
  let netBlock = 0n;
  for (const t of mine)
    netBlock += String(t.args.to).toLowerCase() === h ? (t.args.value as bigint) : -(t.args.value as bigint);
  let running = balanceAfter - netBlock;
  const byKey = new Map<string, AccountFlows['outflows'][number]>();
  const order: string[] = [];
  const txStart = new Map<string, bigint>();
  for (const t of mine) {
    const tx = t.transactionHash.toLowerCase() as Hex;
    if (!txStart.has(tx)) txStart.set(tx, running);
    const incoming = String(t.args.to).toLowerCase() === h;
    const account = (incoming ? String(t.args.from) : String(t.args.to)).toLowerCase() as Hex;
    const value = t.args.value as bigint;
    running += incoming ? value : -value;
    const key = `${tx}|${account}`;
    let entry = byKey.get(key);
    if (!entry) {
      entry = { tx, account, net: 0n, balanceBefore: txStart.get(tx)!, inflow: 0n };
      byKey.set(key, entry);
      order.push(key);
    }
    if (incoming) {
      entry.net -= value;
      entry.inflow += value;
    } else entry.net += value;
  }
  return { outflows: order.map((k) => byKey.get(k)!), netBlock };
}

export const outflowRate: DetectorDefinition<OutflowRateParams> = {
  type: 'outflow-rate',
  description: "Net outflow of an asset over a rolling window, and one account's outflow in one transaction.",
  async detect(event, { instanceId, params, view, state, logs }) {
    const findings: Finding[] = [];
    const flash = await flashLoansByTx(logs);
    for (const a of params.assets) {
      const asset = a.asset.toLowerCase() as Hex;
      const label = a.symbol ?? asset;
      let holder = a.holder?.toLowerCase() as Hex | undefined;
      let claim = a.claimToken?.toLowerCase() as Hex | undefined;
      if (holder === undefined) {
        if (params.pool === undefined)
          throw new Error(`outflow-rate: ${label} has no holder and no pool to find its aToken`);
        holder = (await view.reserveTokens(params.pool, a.asset)).aToken.toLowerCase() as Hex;
        claim ??= holder;
      }
      const none = Promise.resolve([] as DecodedLog[]);
      const [balance, transfers, burns, aaveBurns, aaveMints] = await Promise.all([
        view.balanceOf(a.asset, holder),
        logs.decode(ERC20_TRANSFER, a.asset),
        claim ? logs.decode(ERC20_TRANSFER, claim) : none,
        claim ? logs.decode(AAVE_SCALED_BURN, claim) : none,
        claim ? logs.decode(AAVE_SCALED_MINT, claim) : none,
      ]);
      const { outflows, netBlock } = flowsOf(transfers, holder, balance);
      const subject = {
        ...(params.pool ? { protocol: 'aave-v3' } : {}),
        ...(params.market ? { market: params.market } : { market: holder }),
        asset,
      };
      // Claims burned per transaction: what withdrawals in that transaction paid with.
      const burnedInTx = new Map<string, bigint>();
      for (const b of burns) {
        if (String(b.args.to).toLowerCase() !== ZERO) continue;
        const tx = b.transactionHash.toLowerCase();
        burnedInTx.set(tx, (burnedInTx.get(tx) ?? 0n) + (b.args.value as bigint));
      }
      // An Aave aToken burns the withdrawn amount net of the interest accrued since the holder's
      // last action (`balanceIncrease`): that interest was part of the claim too. When the interest
      // exceeds the amount, it mints the difference instead.
      for (const b of aaveBurns) {
        const tx = b.transactionHash.toLowerCase();
        burnedInTx.set(tx, (burnedInTx.get(tx) ?? 0n) + (b.args.balanceIncrease as bigint));
      }
      for (const m of aaveMints) {
        const value = m.args.value as bigint;
        const increase = m.args.balanceIncrease as bigint;
        if (increase <= value) continue; // a supply, not a withdrawal
        const tx = m.transactionHash.toLowerCase();
        burnedInTx.set(tx, (burnedInTx.get(tx) ?? 0n) + (increase - value));
      }
      const depositsKey = `deposits:${asset}:${holder}`;
      const deposits = new Map(Object.entries(state.get<Record<string, string>>(depositsKey) ?? {}));
      // What this block's outflows paid for (claims burned in their transaction, then the account's
      // earlier deposits): the window adds it back, so a depositor taking back its own deposit does
      // not count as liquidity drained.
      let paidBlock = 0n;
      const burnLeft = new Map(burnedInTx);
      for (const o of outflows) {
        const prior = BigInt(deposits.get(o.account) ?? '0');
        if (o.net > 0n) {
          const byBurn = min(o.net, burnLeft.get(o.tx) ?? 0n);
          burnLeft.set(o.tx, (burnLeft.get(o.tx) ?? 0n) - byBurn);
          paidBlock += byBurn + min(o.net - byBurn, prior > 0n ? prior : 0n);
        }
        if (o.net > 0n && o.balanceBefore > 0n) {
          const shareBps = Number((o.net * 10_000n) / o.balanceBefore);
          if (shareBps >= params.txShareBps) {
            const burned = burnedInTx.get(o.tx) ?? 0n;
            const backed = burned >= o.net || prior >= o.net;
            const withFlash = flash.has(o.tx);
            const severity: Severity = backed
              ? 'info'
              : withFlash || shareBps >= params.txCriticalShareBps
                ? 'critical'
                : 'high';
            findings.push(
              findingOf('outflow-rate', instanceId, event, {
                severity,
                kind: backed ? 'liquidity' : 'exploit',
                subject: { ...subject, account: o.account },
                dedupeKey: `outflow-rate:tx:${event.chainId}:${holder}:${asset}:${o.account}:${o.tx}`,
                confidence: backed ? 0.9 : Math.min(1, 0.6 + shareBps / 20_000 + (withFlash ? 0.2 : 0)),
                title: backed
                  ? `${label}: ${o.account} withdrew ${(shareBps / 100).toFixed(1)}% of the liquidity in one transaction, paid for by its claim`
                  : `${label}: ${o.account} took ${(shareBps / 100).toFixed(1)}% of the liquidity in one transaction without a claim to it${withFlash ? ', next to a flash loan' : ''}`,
                evidence: {
                  asset,
                  holder,
                  account: o.account,
                  tx: o.tx,
                  outflow: o.net.toString(),
                  liquidityBefore: o.balanceBefore.toString(),
                  shareBps,
                  claimBurnedInTx: burned.toString(),
                  depositedBefore: prior.toString(),
                  flashLoan: withFlash,
                  block: event.block.number.toString(),
                },
              }),
            );
          }
        }
        // History: what the account paid in (net), so a later withdrawal of it is recognised.
        const next = prior - o.net;
        if (next > 0n) {
          deposits.delete(o.account);
          deposits.set(o.account, next.toString());
        } else deposits.delete(o.account);
      }
      while (deposits.size > params.maxTrackedAccounts) deposits.delete(deposits.keys().next().value!);
      state.set(depositsKey, Object.fromEntries(deposits));

      // Window: the drop of the unpaid balance (the holder's balance with every paid-for outflow
      // added back) from the highest the window saw (its start, or the top of the inflows since), so
      // liquidity deposited and drained inside one window counts, measured against what depositors
      // are owed (the claim token's supply when there is one; else the holder's own balance).
      const owed = claim ? await view.totalSupply(claim) : undefined;
      const window = rollingWindow<FlowSample>(state, `flow:${asset}:${holder}`, {
        maxBlocks: params.windowBlocks,
      });
      const earlier = window.before(event.block.number);
      const paidBefore = earlier.length > 0 ? BigInt(earlier.at(-1)!.value.paid) : 0n;
      const paidNow = paidBefore + paidBlock;
      const unpaid = balance + paidNow;
      let peak = balance - netBlock + paidBefore;
      let peakOwed = owed;
      let peakBlock = Number(event.block.number);
      for (const sample of earlier) {
        const v = BigInt(sample.value.cash) + BigInt(sample.value.paid);
        if (v > peak) {
          peak = v;
          peakBlock = sample.block;
          peakOwed = sample.value.owed !== undefined ? BigInt(sample.value.owed) : undefined;
        }
      }
      window.push(event.block.number, event.block.timestamp, {
        cash: balance.toString(),
        paid: paidNow.toString(),
        ...(owed !== undefined ? { owed: owed.toString() } : {}),
      });
      const base = peakOwed !== undefined && peakOwed > 0n ? peakOwed : peak;
      if (base > 0n && unpaid < peak) {
        const drop = peak - unpaid;
        const outBps = Number((drop * 10_000n) / base);
        if (outBps >= params.maxOutflowBps) {
          findings.push(
            findingOf('outflow-rate', instanceId, event, {
              severity: outBps >= params.criticalOutflowBps ? 'critical' : 'high',
              kind: 'liquidity',
              subject,
              dedupeKey: `outflow-rate:window:${event.chainId}:${holder}:${asset}`,
              confidence: Math.min(1, 0.6 + outBps / 25_000),
              title: `${label}: ${(outBps / 100).toFixed(1)}% of what depositors are owed left unpaid-for since block ${peakBlock} (limit ${(params.maxOutflowBps / 100).toFixed(1)}% over ${params.windowBlocks} blocks)`,
              evidence: {
                asset,
                holder,
                peakBalance: peak.toString(),
                peakBlock,
                balance: balance.toString(),
                paidForSincePeak: (paidNow - paidAt(earlier, peakBlock, paidBefore)).toString(),
                netOutflow: drop.toString(),
                owedAtPeak: base.toString(),
                owedBy: peakOwed !== undefined && peakOwed > 0n ? 'claim-supply' : 'holder-balance',
                outflowBps: outBps,
                maxOutflowBps: params.maxOutflowBps,
                block: event.block.number.toString(),
              },
            }),
          );
        }
      }
    }
    return findings;
  },
};
