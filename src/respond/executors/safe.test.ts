// The `safe` executor's pure parts: a plan as one Safe transaction (its call, or a MultiSendCallOnly
// batch whose packed entries decode back to the calls), signatures ordered by owner for
// `execTransaction`, and the config entry (defaults, refusals).
import { decodeFunctionData, type Hex, hexToBigInt, keccak256, size, slice, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { isFirebreakError } from '../../common/errors';
import { parseConfig } from '../../config/load';
import type { ActionPlan } from '../types';
import { multiSendCallOnlyAbi, packSignatures, safeTxBody } from './safe';

const pauseAbi = [
  {
    type: 'function',
    name: 'pause',
    stateMutability: 'nonpayable',
    inputs: [{ name: 'x', type: 'uint256' }],
    outputs: [],
  },
] as const;
const MULTISEND: Hex = '0x9641d764fc13c8b624c04430c7356c1c7c8102e2';
const plan = (n: number): ActionPlan =>
  ({
    id: '0x1',
    action: 'x',
    chainId: 1,
    incidentId: 'i',
    playbookId: 'p',
    riskReducing: true,
    calls: Array.from({ length: n }, (_, i) => ({
      to: `0x${String(i + 1).padStart(40, '0')}` as Hex,
      abi: pauseAbi,
      functionName: 'pause',
      args: [BigInt(i)],
      description: `pause ${i}`,
    })),
    effects: [],
    blastRadius: '',
  }) as ActionPlan;

describe('safeTxBody', () => {
  it('one call is a plain CALL to its target', () => {
    const body = safeTxBody(plan(1), MULTISEND);
    expect(body.operation).toBe(0);
    expect(body.to).toBe('0x0000000000000000000000000000000000000001');
    expect(decodeFunctionData({ abi: pauseAbi, data: body.data }).args).toEqual([0n]);
  });

  it('several calls are one DELEGATECALL to MultiSendCallOnly whose packed entries are the calls, in order', () => {
    const body = safeTxBody(plan(3), MULTISEND);
    expect(body).toMatchObject({ to: MULTISEND, operation: 1 });
    const { args } = decodeFunctionData({ abi: multiSendCallOnlyAbi, data: body.data });
    const packed = args[0];
    const entries: { op: number; to: Hex; value: bigint; data: Hex }[] = [];
    for (let at = 0; at < size(packed); ) {
      const length = Number(hexToBigInt(slice(packed, at + 53, at + 85)));
      entries.push({
        op: Number(hexToBigInt(slice(packed, at, at + 1))),
        to: slice(packed, at + 1, at + 21),
        value: hexToBigInt(slice(packed, at + 21, at + 53)),
        data: slice(packed, at + 85, at + 85 + length),
      });
      at += 85 + length;
    }
    expect(entries.map((e) => [e.op, e.to, e.value])).toEqual([
      [0, '0x0000000000000000000000000000000000000001', 0n],
      [0, '0x0000000000000000000000000000000000000002', 0n],
      [0, '0x0000000000000000000000000000000000000003', 0n],
    ]);
    expect(entries.map((e) => decodeFunctionData({ abi: pauseAbi, data: e.data }).args[0])).toEqual([
      0n,
      1n,
      2n,
    ]);
  });
});

describe('packSignatures', () => {
  it('takes `threshold` signatures in ascending signer order, whatever order they came in', () => {
    const signers = ['a', 'b', 'c', 'd'].map((n) => privateKeyToAccount(keccak256(toHex(n))).address);
    const sigs = signers.map((signer, i) => ({ signer, signature: toHex(i + 1, { size: 65 }) }));
    const sorted = [...sigs].sort((x, y) => (BigInt(x.signer) < BigInt(y.signer) ? -1 : 1));
    const packed = packSignatures([...sigs].reverse(), 3);
    expect(size(packed)).toBe(195);
    expect([0, 1, 2].map((i) => slice(packed, i * 65, (i + 1) * 65))).toEqual(
      sorted.slice(0, 3).map((s) => s.signature),
    );
  });
});

describe('config: safe executors', () => {
  const config = (executor: Record<string, unknown>) => ({
    chains: [{ id: 1, name: 'mainnet', rpc: ['http://127.0.0.1:1'] }],
    executors: [{ id: 'treasury', type: 'safe', chain: 'mainnet', ...executor }],
  });
  const SAFE = '0x00000000000000000000000000000000005AFE01';

  it('fills in the canonical MultiSendCallOnly 1.4.1, the fee defaults, and lower-cases the Safe', () => {
    const parsed = parseConfig(
      config({ safe: SAFE, keys: [{ env: 'AGENT_A' }, { env: 'AGENT_B' }] }),
      'f.yaml',
    );
    expect(parsed.executors[0]).toMatchObject({
      type: 'safe',
      safe: SAFE.toLowerCase(),
      multiSend: MULTISEND,
      priorityFeeGwei: 50,
      dryRun: false,
    });
  });

  it('refuses no keys, a key listed twice and the zero address, each with its path', () => {
    const problems = (executor: Record<string, unknown>) => {
      try {
        parseConfig(config(executor), 'f.yaml');
      } catch (error) {
        expect(isFirebreakError(error, 'ERR_CONFIG_INVALID')).toBe(true);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(problems({ safe: SAFE, keys: [] })).toContain('executors[0].keys');
    expect(problems({ safe: SAFE, keys: [{ env: 'AGENT_A' }, { env: 'AGENT_A' }] })).toContain(
      'keys[0] is already the key in AGENT_A',
    );
    expect(problems({ safe: `0x${'0'.repeat(40)}`, keys: [{ env: 'AGENT_A' }] })).toContain(
      'the zero address is not a Safe',
    );
  });
});
