import fc from 'fast-check';
import type { Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { erc20Abi, poolConfiguratorAbi } from '../protocols/aave-v3/abi';
import {
  checkGuardrails,
  checkPlan,
  cutBps,
  type GuardrailEntry,
  type GuardrailLedger,
  type GuardrailSettings,
  guardrailPolicy,
} from './guardrails';
import type { Decision } from './playbooks';
import type { ActionPlan, ActionRecord, LimitParameter, PlannedCall, PlannedChange } from './types';

const CONFIGURATOR: Hex = '0x00000000000000000000000000000000000000cf';
const INV: Hex = '0x00000000000000000000000000000000000000c1';
const WETH: Hex = '0x00000000000000000000000000000000000000c2';
const VAULT: Hex = '0x000000000000000000000000000000000000fa17';
const STRANGER: Hex = '0x000000000000000000000000000000000000bad0';

const call = (functionName: string, args: unknown[]): PlannedCall => ({
  to: CONFIGURATOR,
  abi: poolConfiguratorAbi,
  functionName,
  args,
  description: `${functionName}(${args.map(String).join(', ')})`,
});

function plan(calls: PlannedCall[], changes: PlannedChange[], extra: Partial<ActionPlan> = {}): ActionPlan {
  return {
    id: extra.id ?? 'action-1',
    action: 'test.action',
    chainId: 1,
    incidentId: 'incident-1',
    playbookId: 'playbook-1',
    riskReducing: true,
    calls,
    effects: [],
    blastRadius: 'test',
    changes,
    ...extra,
  };
}

const limit = (param: LimitParameter, from: bigint, to: bigint, asset: Hex = INV): PlannedChange => ({
  param,
  target: CONFIGURATOR,
  asset,
  from,
  to,
});

/** An LTV cut of INV (the containing move), declared as the action builder declares it. */
const ltvCut = (from: bigint, to: bigint, asset: Hex = INV, id = 'action-1') =>
  plan(
    [call('configureReserveAsCollateral', [asset, to, 8000n, 10_500n])],
    [limit('ltv', from, to, asset), limit('liquidationThreshold', 8000n, 8000n, asset)],
    { id },
  );

function decision(timestamp: bigint, autonomy: 'auto' | 'approve' | 'notify' = 'auto'): Decision {
  return {
    stepIndex: 0,
    step: { action: 'aave-v3.contain-collateral', executor: 'guardian', autonomy } as Decision['step'],
    playbook: { id: 'playbook-1' } as Decision['playbook'],
    result: {
      finding: { block: { number: 1n, hash: '0x', parentHash: '0x', timestamp } },
    } as unknown as Decision['result'],
  };
}

/** The store's ledger in memory (this file tests the guardrails' logic, not the store). */
function memoryLedger(statuses: Record<string, Partial<ActionRecord>> = {}) {
  const entries = new Map<string, GuardrailEntry>();
  const ledger: GuardrailLedger = {
    async listGuardrailEntries(chainId, since) {
      return [...entries.values()].filter((e) => e.chainId === chainId && e.at >= since);
    },
    async recordGuardrailEntry(entry) {
      entries.set(entry.actionId, entry);
    },
    async getAction(id) {
      const s = statuses[id];
      return s ? ({ id, status: 'verified', txHashes: ['0x01'], ...s } as ActionRecord) : undefined;
    },
  };
  return { ledger, entries, statuses };
}

const policy = guardrailPolicy(
  {
    parameters: { ltv: { maxDecreaseBps: 5000, minDelaySeconds: 600 } },
    rateLimit: { maxActions: 2, windowSeconds: 3600 },
    vaults: [{ chain: 'mainnet', address: VAULT }],
  },
  [{ name: 'mainnet', id: 1 }],
);
const auto = { automatic: true };

describe('guardrails: direction (automatic path)', () => {
  it('refuses an unpause, an unfreeze and re-enabled borrowing', () => {
    const unpause = plan(
      [call('setReservePause', [INV, false])],
      [{ param: 'reservePaused', target: CONFIGURATOR, asset: INV, from: true, to: false }],
    );
    expect(checkPlan(unpause, policy, auto)).toEqual({
      ok: false,
      reason: expect.stringMatching(/would unpause the reserve of 0x0+c1: the automatic path never undoes/),
    });
    const unfreeze = plan(
      [call('setReserveFreeze', [INV, false])],
      [{ param: 'reserveFrozen', target: CONFIGURATOR, asset: INV, from: true, to: false }],
    );
    expect(checkPlan(unfreeze, policy, auto)).toMatchObject({ ok: false, reason: /unfreeze/ });
    const borrow = plan(
      [call('setReserveBorrowing', [INV, true])],
      [{ param: 'borrowingEnabled', target: CONFIGURATOR, asset: INV, from: false, to: true }],
    );
    expect(checkPlan(borrow, policy, auto)).toMatchObject({ ok: false, reason: /re-enable borrowing/ });
    // The containing direction passes.
    const pause = plan(
      [call('setReservePause', [INV, true])],
      [{ param: 'reservePaused', target: CONFIGURATOR, asset: INV, from: false, to: true }],
    );
    expect(checkPlan(pause, policy, auto)).toEqual({ ok: true });
  });

  it('refuses a call named unpause() whatever the plan declares', () => {
    const p = plan([{ ...call('unpause', []), abi: [] }], []);
    expect(checkPlan(p, policy, auto)).toMatchObject({ ok: false, reason: /unpause\(\)/ });
    expect(checkPlan(p, policy, { automatic: false })).toEqual({ ok: true });
  });

  it('refuses a cap raise, and a cap set to 0 (no cap) as a raise', () => {
    const raise = plan([call('setBorrowCap', [INV, 2000n])], [limit('borrowCap', 1000n, 2000n)]);
    expect(checkPlan(raise, policy, auto)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/raise borrowCap of 0x0+c1 from 1000 to 2000: .*never raises a limit/),
    });
    const uncapped = plan([call('setSupplyCap', [INV, 0n])], [limit('supplyCap', 1000n, 0n)]);
    expect(checkPlan(uncapped, policy, auto)).toMatchObject({ ok: false, reason: /from 1000 to no limit/ });
    const fromNone = plan([call('setBorrowCap', [INV, 5n])], [limit('borrowCap', 0n, 5n)]);
    expect(checkPlan(fromNone, policy, auto)).toEqual({ ok: true });
  });

  it('never lets a raise of any limit through, whatever the values (property)', () => {
    const params: LimitParameter[] = ['ltv', 'liquidationThreshold', 'supplyCap', 'borrowCap', 'debtCeiling'];
    fc.assert(
      fc.property(
        fc.constantFrom(...params),
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        (param, a, b) => {
          const isCap = param.endsWith('Cap') || param === 'debtCeiling';
          const raise = isCap ? (b === 0n ? a !== 0n : a !== 0n && b > a) : b > a;
          const p = plan([call('noop', [])], [limit(param, a, b)]);
          const verdict = checkPlan(p, guardrailPolicy(undefined), auto);
          if (raise) expect(verdict).toMatchObject({ ok: false, reason: /never raises a limit/ });
          else if (verdict.ok === false) expect(verdict.reason).toMatch(/beyond the bound/);
        },
      ),
    );
  });
});

describe('guardrails: bounded cuts', () => {
  it('computes the relative cut, rounded up', () => {
    expect(cutBps('ltv', 6000n, 0n)).toBe(10_000);
    expect(cutBps('ltv', 6000n, 3000n)).toBe(5000);
    expect(cutBps('ltv', 3n, 2n)).toBe(3334);
    expect(cutBps('borrowCap', 0n, 1n)).toBe(10_000);
  });

  it('refuses an LTV cut beyond the configured bound, and passes one within it', () => {
    expect(checkPlan(ltvCut(6000n, 0n), policy, auto)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(
        /cut ltv of 0x0+c1 from 6000 to 0 \(100 %\), beyond the bound of 50 % per change \(guardrails.parameters.ltv.maxDecreaseBps\)/,
      ),
    });
    expect(checkPlan(ltvCut(6000n, 3000n), policy, auto)).toEqual({ ok: true });
    // The default bound lets the containing move (LTV to 0) through.
    expect(checkPlan(ltvCut(6000n, 0n), guardrailPolicy(undefined), auto)).toEqual({ ok: true });
  });

  it('holds a liquidation-threshold cut to 5 % by default', () => {
    const p = plan(
      [call('configureReserveAsCollateral', [INV, 0n, 7000n, 10_500n])],
      [limit('ltv', 0n, 0n), limit('liquidationThreshold', 8000n, 7000n)],
    );
    expect(checkPlan(p, guardrailPolicy(undefined), auto)).toMatchObject({
      ok: false,
      reason: /liquidationThreshold .* \(12.5 %\), beyond the bound of 5 %/,
    });
  });

  it('refuses a call that sets a parameter the plan does not declare (or declares with another value)', () => {
    const hidden = plan([call('setBorrowCap', [INV, 5n])], []);
    expect(checkPlan(hidden, policy, auto)).toMatchObject({
      ok: false,
      reason: /sets borrowCap to 5 but the plan does not declare that change/,
    });
    const lying = plan([call('setBorrowCap', [INV, 5000n])], [limit('borrowCap', 10_000n, 5n)]);
    expect(checkPlan(lying, policy, auto)).toMatchObject({ ok: false, reason: /does not declare/ });
    // configureReserveAsCollateral sets the threshold too: it must be declared, even unchanged.
    const ltvOnly = plan(
      [call('configureReserveAsCollateral', [INV, 0n, 8000n, 10_500n])],
      [limit('ltv', 6000n, 0n)],
    );
    expect(checkPlan(ltvOnly, guardrailPolicy(undefined), auto)).toMatchObject({
      ok: false,
      reason: /sets liquidationThreshold to 8000/,
    });
  });
});

describe('guardrails: funds go to a recovery vault only', () => {
  const transfer = (to: Hex): PlannedCall => ({
    to: INV,
    abi: erc20Abi,
    functionName: 'transfer',
    args: [to, 10n],
    description: `transfer 10 INV to ${to}`,
  });

  it('refuses a migration whose destination is not a configured vault, on every path', () => {
    const p = plan([], [], {
      transfers: [{ asset: INV, amount: null, destination: STRANGER, description: 'INV-WETH LP position' }],
    });
    for (const automatic of [true, false])
      expect(checkPlan(p, policy, { automatic })).toMatchObject({
        ok: false,
        reason: expect.stringMatching(
          new RegExp(`to ${STRANGER}, which is not a recovery vault of chain 1 \\(configured: ${VAULT}`),
        ),
      });
    const toVault = plan([], [], {
      transfers: [{ asset: INV, amount: null, destination: VAULT, description: 'INV-WETH LP position' }],
    });
    expect(checkPlan(toVault, policy, auto)).toEqual({ ok: true });
    // A vault of another chain is not one of this chain.
    expect(checkPlan({ ...toVault, chainId: 10 }, policy, auto)).toMatchObject({
      ok: false,
      reason: /none is configured/,
    });
  });

  it('reads recipients from the calls themselves (recipient, spender, …), declared or not', () => {
    expect(checkPlan(plan([transfer(STRANGER)], []), policy, auto)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/names 0x0+bad0 as `recipient`, which is not a recovery vault/),
    });
    expect(checkPlan(plan([transfer(VAULT)], []), policy, auto)).toEqual({ ok: true });
    const approve: PlannedCall = { ...transfer(STRANGER), functionName: 'approve', description: 'approve' };
    expect(checkPlan(plan([approve], []), policy, auto)).toMatchObject({ ok: false, reason: /as `spender`/ });
  });

  it('lets an allowance go to the contract a later call makes, whose own receivers must be vaults', () => {
    const approve: PlannedCall = { ...transfer(STRANGER), functionName: 'approve', description: 'approve' };
    // The spender then pulls and pays: its call is checked like any other.
    const pull = (to: Hex): PlannedCall => ({ ...transfer(to), to: STRANGER, description: 'pull and pay' });
    expect(checkPlan(plan([approve, pull(VAULT)], []), policy, auto)).toEqual({ ok: true });
    expect(checkPlan(plan([approve, pull(INV)], []), policy, auto)).toMatchObject({
      ok: false,
      reason: /"pull and pay" names 0x0+c1 as `recipient`/,
    });
    // Called before the allowance, or never: the allowance serves nothing in the plan.
    expect(checkPlan(plan([pull(VAULT), approve], []), policy, auto)).toMatchObject({
      ok: false,
      reason: /as `spender`/,
    });
    // Only an allowance: a transfer to the contract a later call makes is still refused.
    expect(checkPlan(plan([transfer(STRANGER), pull(VAULT)], []), policy, auto)).toMatchObject({
      ok: false,
      reason: /as `recipient`/,
    });
  });
});

describe('guardrails: delays and rate limit remembered in the ledger', () => {
  const settings = (ledger: GuardrailLedger): GuardrailSettings => ({ killSwitch: false, policy, ledger });

  it('refuses a second change of one parameter of one asset within the minimum delay', async () => {
    const { ledger, statuses } = memoryLedger();
    const first = ltvCut(6000n, 4000n, INV, 'a1');
    expect(await checkGuardrails(first, decision(1000n), settings(ledger))).toEqual({ ok: true });
    statuses.a1 = { status: 'verified' };
    // The same action checked again (a retry) is not held back by its own entry.
    expect(await checkGuardrails(first, decision(1001n), settings(ledger))).toEqual({ ok: true });
    const second = ltvCut(4000n, 3000n, INV, 'a2');
    expect(await checkGuardrails(second, decision(1599n), settings(ledger))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(
        /ltv of 0x0+c1 was changed by action a1 598 s ago: at most one automatic change per 600 s/,
      ),
    });
    // Another asset is another parameter; and after the delay the same one may move again.
    expect(
      await checkGuardrails(ltvCut(6000n, 4000n, WETH, 'a3'), decision(1599n), settings(ledger)),
    ).toEqual({
      ok: true,
    });
    statuses.a3 = { status: 'verified' };
    expect(await checkGuardrails(second, decision(1602n), settings(ledger))).toMatchObject({
      ok: false,
      reason: /rate limit: 2 automatic actions on chain 1 in the last 3600 s, at most 2/,
    });
  });

  it('does not count actions that were refused or failed before sending', async () => {
    const { ledger, statuses } = memoryLedger();
    expect(await checkGuardrails(ltvCut(6000n, 4000n, INV, 'a1'), decision(0n), settings(ledger))).toEqual({
      ok: true,
    });
    statuses.a1 = { status: 'refused', txHashes: [] }; // e.g. the simulation reverted, or a dry run
    expect(await checkGuardrails(ltvCut(6000n, 4000n, INV, 'a2'), decision(10n), settings(ledger))).toEqual({
      ok: true,
    });
    statuses.a2 = { status: 'failed', txHashes: [] };
    expect(await checkGuardrails(ltvCut(6000n, 4000n, INV, 'a3'), decision(20n), settings(ledger))).toEqual({
      ok: true,
    });
    statuses.a3 = { status: 'failed', txHashes: ['0x02'] }; // sent: it may have landed
    expect(
      await checkGuardrails(ltvCut(6000n, 4000n, INV, 'a4'), decision(30n), settings(ledger)),
    ).toMatchObject({
      ok: false,
      reason: /changed by action a3/,
    });
  });

  it('checks autonomy and the kill-switch first, and writes nothing for a refused plan', async () => {
    const { ledger, entries } = memoryLedger();
    expect(
      await checkGuardrails(ltvCut(6000n, 4000n), decision(0n, 'approve'), settings(ledger)),
    ).toMatchObject({
      ok: false,
      reason: /autonomy is "approve"/,
    });
    expect(
      await checkGuardrails(ltvCut(6000n, 4000n), decision(0n), { ...settings(ledger), killSwitch: true }),
    ).toMatchObject({ ok: false, reason: /kill-switch/ });
    expect(await checkGuardrails(ltvCut(6000n, 0n), decision(0n), settings(ledger))).toMatchObject({
      ok: false,
    });
    expect(entries.size).toBe(0);
  });
});
