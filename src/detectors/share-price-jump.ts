/**
 * Detect — `share-price-jump`: an exchange-rate asset (an ERC-4626 vault share, a Uniswap v2 LP
 * token) whose value per share moves by more than `thresholdBps` in one block with no trade
 * behind it: the donation attack (Cream Finance: the vault's price per share doubled by a
 * donation, then borrowed against).
 *
 * Value per share: for an ERC-4626 vault, `convertToAssets(1 share)`; for a Uniswap v2 pair,
 * √(reserve0·reserve1) / LP supply, which swaps move only by their fees and a direct transfer to
 * the pair plus `sync()` moves at once. Trades in the block (the vault's Deposit/Withdraw, the pair's
 * Swap/Mint/Burn) are listed in the evidence; a jump with none is more certain. Up is `manipulation`,
 * down is `anomaly` (a loss socialised to holders). Blind spots: the first block of a run has no
 * baseline; a donation spread over many blocks under the threshold; yield-bearing vaults that
 * accrue in large discrete steps need a higher threshold.
 */
import type { Hex } from 'viem';
import { findingOf } from './finding';
import type { DetectorDefinition, Finding, Severity } from './types';
import { changeBps, sqrtBig } from './window';

export interface SharePriceJumpParams {
  /** Each an ERC-4626 `vault` or a Uniswap v2 `pair` (its LP token). */
  assets: (({ vault: Hex } | { pair: Hex }) & { symbol?: string | undefined })[];
  thresholdBps: number;
  criticalBps: number;
  /**
   * The lending market (its addresses provider) that takes these shares as collateral, when the
   * detector is configured with one: stamped on the findings so a playbook can contain the asset there.
   */
  market?: Hex | undefined;
}

const SCALE = 10n ** 18n;
const VAULT_TRADES = [
  'Deposit(address indexed sender, address indexed owner, uint256 assets, uint256 shares)',
  'Withdraw(address indexed sender, address indexed receiver, address indexed owner, uint256 assets, uint256 shares)',
];
const PAIR_TRADES = [
  'Swap(address indexed sender, uint256 amount0In, uint256 amount1In, uint256 amount0Out, uint256 amount1Out, address indexed to)',
  'Mint(address indexed sender, uint256 amount0, uint256 amount1)',
  'Burn(address indexed sender, uint256 amount0, uint256 amount1, address indexed to)',
];

export const sharePriceJump: DetectorDefinition<SharePriceJumpParams> = {
  type: 'share-price-jump',
  description:
    'An exchange-rate asset whose value per share jumps with no trade behind it (donation attacks).',
  async detect(event, { instanceId, params, view, state, logs }) {
    const findings: Finding[] = [];
    for (const a of params.assets) {
      const address = ('vault' in a ? a.vault : a.pair).toLowerCase() as Hex;
      let value: bigint;
      let detail: Finding['evidence'];
      let trades: number;
      if ('vault' in a) {
        const v = await view.vault(a.vault);
        value = v.assetsPerShare;
        detail = { totalAssets: v.totalAssets.toString(), totalSupply: v.totalSupply.toString() };
        trades = (await Promise.all(VAULT_TRADES.map((e) => logs.decode(e, a.vault)))).flat().length;
      } else {
        const p = await view.pair(a.pair);
        value = p.totalSupply === 0n ? 0n : (sqrtBig(p.reserve0 * p.reserve1) * SCALE) / p.totalSupply;
        detail = {
          reserve0: p.reserve0.toString(),
          reserve1: p.reserve1.toString(),
          totalSupply: p.totalSupply.toString(),
        };
        trades = (await Promise.all(PAIR_TRADES.map((e) => logs.decode(e, a.pair)))).flat().length;
      }
      const last = state.get<{ block: number; value: string }>(`value:${address}`);
      state.set(`value:${address}`, { block: Number(event.block.number), value: value.toString() });
      if (!last || last.block >= Number(event.block.number) || BigInt(last.value) === 0n) continue;
      const previous = BigInt(last.value);
      const bps = changeBps(value, previous);
      if (bps < params.thresholdBps) continue;
      const up = value > previous;
      const severity: Severity = bps >= params.criticalBps ? 'critical' : 'high';
      const label = a.symbol ?? address;
      findings.push(
        findingOf('share-price-jump', instanceId, event, {
          severity,
          kind: up ? 'manipulation' : 'anomaly',
          subject: {
            protocol: 'vault' in a ? 'erc4626' : 'uniswap-v2',
            asset: address,
            ...(params.market ? { market: params.market } : {}),
          },
          dedupeKey: `share-price-jump:${event.chainId}:${address}`,
          confidence: Math.min(
            1,
            (trades === 0 ? 0.7 : 0.5) + 0.3 * Math.min(1, bps / Math.max(params.criticalBps, 1)),
          ),
          title: `${label} value per share ${up ? 'rose' : 'fell'} ${(bps / 100).toFixed(1)}% in one block${trades === 0 ? ' with no trade behind it' : ''}`,
          evidence: {
            asset: address,
            ...(a.symbol ? { symbol: a.symbol } : {}),
            valuePerShare: value.toString(),
            previousValuePerShare: previous.toString(),
            previousBlock: last.block,
            changeBps: bps,
            direction: up ? 'up' : 'down',
            tradesInBlock: trades,
            thresholdBps: params.thresholdBps,
            block: event.block.number.toString(),
            ...detail,
          },
        }),
      );
    }
    return findings;
  },
};
