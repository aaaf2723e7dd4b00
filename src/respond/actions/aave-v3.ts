/**
 * Respond / actions — Aave v3 action plans.
 *
 * `aave-v3.contain-collateral` freezes a reserve and sets its LTV to 0. Why this and not a pause:
 * a frozen reserve takes no new supply or borrow, and LTV 0 removes the asset's borrowing power
 * even for collateral an attacker deposited before the freeze, yet repayments, withdrawals of the
 * asset and liquidations keep working, so honest users can leave and unhealthy positions can still
 * be cleared. (Aave's LTV-0 rule does make a borrower who holds the asset as collateral repay or
 * withdraw it before withdrawing other collateral.) A reserve pause (`aave-v3.pause-reserve`) stops those too; it stays available for an
 * exploit in the asset's own logic. Neither halts the other markets.
 *
 * For a debt asset that has grown too big for the market to liquidate (the CRV short of November
 * 2022: one account's debt near the whole DEX liquidity), `aave-v3.freeze-borrowing` disables new
 * borrowing of the asset (`setReserveBorrowing(asset, false)`) and `aave-v3.lower-borrow-cap`
 * sets its borrow cap to the debt outstanding (whole tokens, rounded up), so nobody adds to it but
 * a repayment makes room again. Both leave supply, repay, withdrawal and liquidation working.
 */
import type { Client, Hex } from 'viem';
import { readContract } from 'viem/actions';
import { erc20Abi, poolConfiguratorAbi } from '../../protocols/aave-v3/abi';
import { freezeReserve, pauseReserve, setLtvZero } from '../../protocols/aave-v3/actions';
import type { AaveMarketAddresses } from '../../protocols/aave-v3/market';
import { readReserveConfiguration, readReserveTokens } from '../../protocols/aave-v3/reader';
import type { PlanBuilder } from '../responder';
import type { ActionPlan, EffectCheck, PlannedCall, PlannedChange } from '../types';

/** Gas limit of one PoolConfigurator setter (they use 30k–90k): ample, and the simulation runs with it. */
const CONFIGURATOR_SETTER_GAS = 300_000n;

export interface AavePlanBuilderOptions {
  clientFor(chainId: number): Client | undefined;
  marketsByAddress: ReadonlyMap<Hex, AaveMarketAddresses>;
}

export function createAavePlanBuilder(options: AavePlanBuilderOptions): PlanBuilder {
  return async (decision, id, event) => {
    const { subject } = decision.result.finding;
    const client = options.clientFor(subject.chainId);
    const market = subject.market
      ? options.marketsByAddress.get(subject.market.toLowerCase() as Hex)
      : undefined;
    const asset = subject.asset;
    if (!client || !market || !asset) {
      throw new Error(
        `${decision.step.action} needs a finding about an asset of a configured Aave v3 market`,
      );
    }
    const config = await readReserveConfiguration(client, market.pool, asset, event.block.number);
    const symbol = decision.result.finding.evidence.symbol;
    // Descriptions name the asset by symbol where the finding knows it.
    const ref =
      typeof symbol === 'string' ? { ...market, reserves: { [symbol]: { symbol, asset } } } : market;
    const readConfig = () => readReserveConfiguration(client, market.pool, asset);
    const calls: PlannedCall[] = [];
    const effects: EffectCheck[] = [];
    // What each call sets, from the value read at the finding's block: the guardrails bound these.
    const changes: PlannedChange[] = [];
    const target = market.poolConfigurator;
    let blastRadius: string;

    switch (decision.step.action) {
      case 'aave-v3.contain-collateral': {
        if (!config.isFrozen) {
          calls.push(freezeReserve(ref, asset));
          changes.push({ param: 'reserveFrozen', target, asset, from: false, to: true });
        }
        if (config.ltvBps > 0) {
          calls.push(setLtvZero(ref, asset, config));
          const lt = BigInt(config.liquidationThresholdBps);
          changes.push(
            { param: 'ltv', target, asset, from: BigInt(config.ltvBps), to: 0n },
            // Set by the same call, unchanged: declared so that the guardrails see all it sets.
            { param: 'liquidationThreshold', target, asset, from: lt, to: lt },
          );
        }
        effects.push(
          { description: 'reserve frozen', read: async () => (await readConfig()).isFrozen, expected: true },
          { description: 'LTV is 0', read: async () => (await readConfig()).ltvBps, expected: 0 },
        );
        blastRadius = `${typeof symbol === 'string' ? symbol : asset}: no new supply or borrow, no borrowing power as collateral; repay, liquidation and withdrawal of it unaffected (borrowers holding it must withdraw or repay it before withdrawing other collateral); other reserves unaffected`;
        break;
      }
      case 'aave-v3.pause-reserve': {
        if (!config.isPaused) {
          calls.push(pauseReserve(ref, asset));
          changes.push({ param: 'reservePaused', target, asset, from: false, to: true });
        }
        effects.push({
          description: 'reserve paused',
          read: async () => (await readConfig()).isPaused,
          expected: true,
        });
        blastRadius = `${typeof symbol === 'string' ? symbol : asset}: every operation on the reserve stops, including repay and liquidation; other reserves unaffected`;
        break;
      }
      case 'aave-v3.freeze-borrowing': {
        if (config.borrowingEnabled) {
          changes.push({ param: 'borrowingEnabled', target, asset, from: true, to: false });
          calls.push({
            to: market.poolConfigurator,
            abi: poolConfiguratorAbi,
            functionName: 'setReserveBorrowing',
            args: [asset, false],
            description: `Disable borrowing of ${typeof symbol === 'string' ? symbol : asset} (PoolConfigurator.setReserveBorrowing(asset, false))`,
          });
        }
        effects.push({
          description: 'borrowing disabled',
          read: async () => (await readConfig()).borrowingEnabled,
          expected: false,
        });
        blastRadius = `${typeof symbol === 'string' ? symbol : asset}: no new borrowing of it; supply, repay, withdrawal and liquidation unaffected; other reserves unaffected`;
        break;
      }
      case 'aave-v3.lower-borrow-cap': {
        // The cap is in whole tokens (0 = none): the debt outstanding, rounded up, at least 1.
        const tokens = await readReserveTokens(client, market.pool, asset, event.block.number);
        const supply = (token: Hex) =>
          BigInt(token) === 0n
            ? Promise.resolve(0n)
            : readContract(client, {
                address: token,
                abi: erc20Abi,
                functionName: 'totalSupply',
                blockNumber: event.block.number,
              });
        const [variable, stable, decimals] = await Promise.all([
          supply(tokens.variableDebtToken),
          supply(tokens.stableDebtToken),
          readContract(client, { address: asset, abi: erc20Abi, functionName: 'decimals' }),
        ]);
        const unit = 10n ** BigInt(decimals);
        const debt = variable + stable;
        const cap = debt === 0n ? 1n : (debt + unit - 1n) / unit;
        if (config.borrowCap === 0n || config.borrowCap > cap) {
          changes.push({ param: 'borrowCap', target, asset, from: config.borrowCap, to: cap });
          calls.push({
            to: market.poolConfigurator,
            abi: poolConfiguratorAbi,
            functionName: 'setBorrowCap',
            args: [asset, cap],
            description: `Lower the borrow cap of ${typeof symbol === 'string' ? symbol : asset} to ${cap} tokens, the debt outstanding (PoolConfigurator.setBorrowCap)`,
          });
        }
        const expected = config.borrowCap !== 0n && config.borrowCap <= cap ? config.borrowCap : cap;
        effects.push({
          description: `borrow cap ${expected}`,
          read: async () => (await readConfig()).borrowCap,
          expected,
        });
        blastRadius = `${typeof symbol === 'string' ? symbol : asset}: borrowing only up to the debt outstanding (room opens as it is repaid); supply, repay, withdrawal and liquidation unaffected; other reserves unaffected`;
        break;
      }
      default:
        // Only aave-v3.* actions reach this builder (actions/index.ts); every one of them is handled above.
        throw new Error(
          `unknown action ${decision.step.action satisfies Exclude<typeof decision.step.action, `aave-v3.${string}`>}`,
        );
    }
    if (calls.length === 0) return null;
    const plan: ActionPlan = {
      id,
      action: decision.step.action,
      chainId: subject.chainId,
      incidentId: decision.result.incident.id,
      playbookId: decision.playbook.id,
      riskReducing: true,
      // PoolConfigurator setters use well under 100k gas: simulated with a fixed limit, not estimated.
      calls: calls.map((c) => ({ ...c, gas: CONFIGURATOR_SETTER_GAS })),
      effects,
      blastRadius,
      changes,
    };
    return plan;
  };
}
