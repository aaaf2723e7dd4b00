import type { Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import type { PlaybookConfig } from '../config/schema';
import type { Finding, Severity } from '../detectors/types';
import type { IngestResult } from '../incidents/manager';
import { createCooldowns, decide, playbookMatches } from './playbooks';
import { actionId } from './responder';

const MARKET: Hex = '0x00000000000000000000000000000000000000aa';
const INV: Hex = '0x00000000000000000000000000000000000000c1';
const WETH: Hex = '0x00000000000000000000000000000000000000c2';

function result(
  overrides: Partial<Omit<Finding, 'block'>> & { blockNumber?: bigint; asset?: Hex } = {},
): IngestResult {
  const { blockNumber = 100n, asset = INV, ...rest } = overrides;
  const finding: Finding = {
    id: `0x${blockNumber.toString(16)}`,
    detector: 'oracle-deviation',
    detectorInstance: 'inv-oracle',
    severity: 'critical',
    kind: 'manipulation',
    subject: { chainId: 1, protocol: 'aave-v3', market: MARKET, asset },
    dedupeKey: `oracle-deviation:1:${MARKET}:${asset}`,
    confidence: 0.9,
    title: 'INV oracle price is 56× its reference',
    evidence: {},
    block: {
      number: blockNumber,
      hash: `0x${blockNumber.toString(16).padStart(64, '0')}`,
      parentHash: `0x${'00'.repeat(32)}`,
      timestamp: 0n,
    },
    ...rest,
  };
  return {
    finding,
    escalated: false,
    incident: {
      id: `incident-${asset}`,
      title: finding.title,
      status: 'open',
      severity: finding.severity,
      subject: finding.subject,
      openedAt: 0,
      openedBlock: blockNumber,
      updatedAt: 0,
    },
  };
}

function playbook(
  overrides: Partial<Omit<PlaybookConfig, 'when'>> & { when?: Partial<PlaybookConfig['when']> } = {},
): PlaybookConfig {
  const { when, ...rest } = overrides;
  return {
    id: 'contain',
    when: { severity: 'critical', minConfidence: 0, ...when },
    do: [{ action: 'aave-v3.contain-collateral', executor: 'guardian', autonomy: 'auto' }],
    cooldownBlocks: 50,
    ...rest,
  };
}

describe('playbookMatches', () => {
  it.each<[Severity, Severity, boolean]>([
    ['critical', 'critical', true],
    ['critical', 'high', true],
    ['high', 'critical', false],
    ['high', 'high', true],
    ['medium', 'high', false],
    ['info', 'info', true],
    ['critical', 'info', true],
  ])('a %s finding against a minimum of %s matches: %s', (severity, minimum, expected) => {
    expect(playbookMatches(playbook({ when: { severity: minimum } }), result({ severity }))).toBe(expected);
  });

  it('filters on the detector type or the detector instance', () => {
    const r = result({ detector: 'oracle-deviation', detectorInstance: 'inv-oracle' });
    expect(playbookMatches(playbook({ when: { detector: 'oracle-deviation' } }), r)).toBe(true);
    expect(playbookMatches(playbook({ when: { detector: 'inv-oracle' } }), r)).toBe(true);
    expect(playbookMatches(playbook({ when: { detector: 'weth-oracle' } }), r)).toBe(false);
    expect(playbookMatches(playbook({ when: { detector: 'amm-manipulation' } }), r)).toBe(false);
    // An id that is also a type names that instance only once an instance has that id.
    const peg = result({ detector: 'oracle-deviation', detectorInstance: 'peg-watch' });
    const byType = playbook({ when: { detector: 'oracle-deviation' } });
    expect(playbookMatches(byType, peg)).toBe(true);
    expect(playbookMatches(byType, peg, new Set(['oracle-deviation', 'peg-watch']))).toBe(false);
    expect(playbookMatches(byType, peg, new Set(['inv-oracle', 'peg-watch']))).toBe(true);
  });

  it('matches every detector when none is named', () => {
    expect(playbookMatches(playbook(), result({ detector: 'anything', detectorInstance: 'x' }))).toBe(true);
  });

  it('filters on the finding kind', () => {
    expect(playbookMatches(playbook({ when: { kind: 'manipulation' } }), result())).toBe(true);
    expect(playbookMatches(playbook({ when: { kind: 'exploit' } }), result())).toBe(false);
  });

  it('requires at least the minimum confidence, inclusive', () => {
    const p = playbook({ when: { minConfidence: 0.8 } });
    expect(playbookMatches(p, result({ confidence: 0.8 }))).toBe(true);
    expect(playbookMatches(p, result({ confidence: 0.95 }))).toBe(true);
    expect(playbookMatches(p, result({ confidence: 0.79 }))).toBe(false);
  });

  it('needs every condition to hold', () => {
    const p = playbook({
      when: { detector: 'oracle-deviation', kind: 'manipulation', severity: 'high', minConfidence: 0.5 },
    });
    expect(playbookMatches(p, result())).toBe(true);
    expect(playbookMatches(p, result({ confidence: 0.4 }))).toBe(false);
    expect(playbookMatches(p, result({ severity: 'medium' }))).toBe(false);
    expect(playbookMatches(p, result({ kind: 'anomaly' }))).toBe(false);
  });
});

describe('decide', () => {
  it('turns a matching finding into one decision per step, in order', () => {
    const p = playbook({
      do: [
        { action: 'aave-v3.contain-collateral', executor: 'guardian', autonomy: 'auto' },
        { action: 'aave-v3.pause-reserve', executor: 'multisig', autonomy: 'approve' },
      ],
    });
    const r = result();
    const decisions = decide([p], [r], createCooldowns());
    expect(decisions.map((d) => [d.playbook.id, d.stepIndex, d.step.action, d.step.executor])).toEqual([
      ['contain', 0, 'aave-v3.contain-collateral', 'guardian'],
      ['contain', 1, 'aave-v3.pause-reserve', 'multisig'],
    ]);
    expect(decisions[0]?.result).toBe(r);
  });

  it('decides nothing for a finding below the severity threshold', () => {
    expect(decide([playbook()], [result({ severity: 'high' })], createCooldowns())).toEqual([]);
  });

  it('fires every matching playbook, in playbook order, and skips the others', () => {
    const playbooks = [
      playbook({ id: 'notify-high', when: { severity: 'high' } }),
      playbook({ id: 'exploit-only', when: { kind: 'exploit' } }),
      playbook({ id: 'contain' }),
    ];
    const decisions = decide(playbooks, [result()], createCooldowns());
    expect(decisions.map((d) => d.playbook.id)).toEqual(['notify-high', 'contain']);
  });

  it('does not fire again for the same subject within the cooldown, and fires again once it has run', () => {
    const cooldowns = createCooldowns();
    const p = playbook({ cooldownBlocks: 50 });
    expect(decide([p], [result({ blockNumber: 100n })], cooldowns)).toHaveLength(1);
    expect(decide([p], [result({ blockNumber: 100n })], cooldowns)).toHaveLength(0); // the same block again
    expect(decide([p], [result({ blockNumber: 101n })], cooldowns)).toHaveLength(0);
    expect(decide([p], [result({ blockNumber: 149n })], cooldowns)).toHaveLength(0);
    expect(decide([p], [result({ blockNumber: 150n })], cooldowns)).toHaveLength(1);
    expect(decide([p], [result({ blockNumber: 151n })], cooldowns)).toHaveLength(0); // restarts at 150
  });

  it('fires again on the next block once a failed firing is cleared', () => {
    const cooldowns = createCooldowns();
    const p = playbook({ cooldownBlocks: 50 });
    const first = result({ blockNumber: 100n });
    expect(decide([p], [first], cooldowns)).toHaveLength(1);
    cooldowns.clear(p, first);
    expect(decide([p], [result({ blockNumber: 101n })], cooldowns)).toHaveLength(1);
    expect(decide([p], [result({ blockNumber: 102n })], cooldowns)).toHaveLength(0);
  });

  it('keeps the cooldown per subject: another asset still fires', () => {
    const cooldowns = createCooldowns();
    const p = playbook();
    expect(decide([p], [result({ asset: INV })], cooldowns)).toHaveLength(1);
    const other = decide([p], [result({ asset: WETH, blockNumber: 101n })], cooldowns);
    expect(other.map((d) => d.result.finding.subject.asset)).toEqual([WETH]);
    expect(decide([p], [result({ asset: INV, blockNumber: 102n })], cooldowns)).toHaveLength(0);
  });

  it('keeps the cooldown per playbook: another playbook on the same subject still fires', () => {
    const cooldowns = createCooldowns();
    expect(decide([playbook({ id: 'a' })], [result()], cooldowns)).toHaveLength(1);
    expect(decide([playbook({ id: 'b' })], [result({ blockNumber: 101n })], cooldowns)).toHaveLength(1);
    expect(decide([playbook({ id: 'a' })], [result({ blockNumber: 102n })], cooldowns)).toHaveLength(0);
  });

  it('treats the subject case-insensitively', () => {
    const cooldowns = createCooldowns();
    expect(decide([playbook()], [result({ asset: WETH })], cooldowns)).toHaveLength(1);
    const upper = `0x${WETH.slice(2).toUpperCase()}` as Hex;
    expect(decide([playbook()], [result({ asset: upper, blockNumber: 101n })], cooldowns)).toHaveLength(0);
  });

  it('fires once for two findings about one subject in the same batch', () => {
    const first = result({ detectorInstance: 'inv-oracle' });
    const second = result({ detectorInstance: 'inv-oracle-2' });
    const decisions = decide([playbook()], [first, second], createCooldowns());
    expect(decisions.map((d) => d.result)).toEqual([first]);
  });

  it('fires on every block with a zero cooldown', () => {
    const cooldowns = createCooldowns();
    const p = playbook({ cooldownBlocks: 0 });
    expect(decide([p], [result({ blockNumber: 100n })], cooldowns)).toHaveLength(1);
    expect(decide([p], [result({ blockNumber: 100n })], cooldowns)).toHaveLength(1);
    expect(decide([p], [result({ blockNumber: 101n })], cooldowns)).toHaveLength(1);
  });

  it('starts no cooldown for a finding that did not match', () => {
    const cooldowns = createCooldowns();
    const p = playbook();
    expect(decide([p], [result({ severity: 'high' })], cooldowns)).toHaveLength(0);
    expect(decide([p], [result({ blockNumber: 101n })], cooldowns)).toHaveLength(1);
  });

  it('does not fire for a finding from a block before the one it last fired at', () => {
    const cooldowns = createCooldowns();
    const p = playbook({ cooldownBlocks: 5 });
    expect(decide([p], [result({ blockNumber: 100n })], cooldowns)).toHaveLength(1);
    expect(decide([p], [result({ blockNumber: 90n })], cooldowns)).toHaveLength(0);
  });
});

describe('action ids', () => {
  const decisionFor = (action: PlaybookConfig['do'][number]['action'], operationId?: string) => {
    const p = playbook({ do: [{ action, executor: 'guardian', autonomy: 'auto' }] });
    const r = result(operationId ? { evidence: { timelock: MARKET, operationId } } : {});
    return { playbook: p, stepIndex: 0, step: p.do[0]!, result: r };
  };
  const op = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;

  it('are the same for the same step on the same subject (exactly once)', () => {
    expect(actionId(decisionFor('aave-v3.contain-collateral'))).toBe(
      actionId(decisionFor('aave-v3.contain-collateral')),
    );
  });

  it('tell two queued timelock operations on one subject apart, and only for timelock actions', () => {
    expect(actionId(decisionFor('timelock.cancel', op(1)))).not.toBe(
      actionId(decisionFor('timelock.cancel', op(2))),
    );
    expect(actionId(decisionFor('timelock.cancel', op(1)))).toBe(
      actionId(decisionFor('timelock.cancel', op(1))),
    );
    expect(actionId(decisionFor('aave-v3.contain-collateral', op(1)))).toBe(
      actionId(decisionFor('aave-v3.contain-collateral', op(2))),
    );
  });
});
