// Custom detectors on the embedded chain: one in code (examples/detectors/large-transfer.ts, loaded
// from the config by path) and one declarative rule in the style of OpenZeppelin Monitor, both
// firing on the same large USDC transfer (amount > 5% of totalSupply) and not on ordinary activity.
import { beforeAll, describe, expect, it } from 'vitest';
import { FirebreakError } from '../../src/common/errors';
import type { Finding } from '../../src/detectors/types';
import { toUnits } from '../../src/drills/market';
import { buildDetectors } from '../../src/engine/detectors';
import { erc20Abi } from '../../src/protocols/aave-v3/abi';
import { type ActivityMarket, deployActivityMarket, runActivity } from '../support/activity';
import { configWith, detectRange } from './support';

describe('custom detectors: in code and in config', () => {
  let am: ActivityMarket;
  let findings: Finding[];
  let bigBlock: bigint;
  let bigTx: string;

  beforeAll(async () => {
    am = await deployActivityMarket({ accounts: [{ name: 'mover', holds: { USDC: 3_000_000 } }] });
    const warm = await runActivity(am, { blocks: 20, seed: 71 });
    // USDC supply is ~16M in this market: 2.5M is over 5% of it.
    [bigTx] = (await am.send(am.account('mover'), [
      {
        to: am.token('USDC'),
        abi: erc20Abi,
        functionName: 'transfer',
        args: [am.account('user-0').address, toUnits(2_500_000, 6)],
        gas: 100_000n,
      },
    ])) as [`0x${string}`];
    bigBlock = await am.mine([bigTx as `0x${string}`]);
    const tail = await runActivity(am, { blocks: 5, seed: 72 });
    const config = configWith(am, [
      {
        id: 'code',
        type: 'custom',
        chain: 'embedded',
        module: 'examples/detectors/large-transfer.ts',
        params: { token: am.token('USDC'), shareBps: 500 },
      },
      {
        id: 'rule',
        type: 'rule',
        chain: 'embedded',
        params: {
          match: [
            {
              event: 'Transfer(address indexed from, address indexed to, uint256 value)',
              address: [am.token('USDC')],
            },
          ],
          reads: { totalSupply: { address: 'emitter', function: 'totalSupply() returns (uint256)' } },
          condition: 'value > 5% of totalSupply && from != 0x0000000000000000000000000000000000000000',
          severity: 'high',
          kind: 'anomaly',
          title: 'USDC transfer of {value} from {from}',
        },
      },
    ]);
    ({ findings } = await detectRange(config, am.chain.client, warm.from, tail.to));
  }, 120_000);

  it('the code module fires once, on the large transfer, with the state it keeps', () => {
    const code = findings.filter((f) => f.detectorInstance === 'code');
    expect(code.map((f) => [f.block.number, f.detector, f.severity, f.evidence.tx])).toEqual([
      [bigBlock, 'large-transfer', 'medium', bigTx],
    ]);
    expect(Number(code[0]!.evidence.transfersSeen)).toBeGreaterThan(1); // it saw the ordinary ones too
  });

  it('the declarative rule fires once, with its read and a title from its template', () => {
    const rule = findings.filter((f) => f.detectorInstance === 'rule');
    expect(rule.map((f) => [f.block.number, f.detector, f.severity, f.kind])).toEqual([
      [bigBlock, 'rule', 'high', 'anomaly'],
    ]);
    const f = rule[0]!;
    expect(f.title).toBe(
      `USDC transfer of ${toUnits(2_500_000, 6)} from ${am.account('mover').address.toLowerCase()}`,
    );
    expect(BigInt(f.evidence.value as string) * 20n).toBeGreaterThan(
      BigInt(f.evidence.totalSupply as string),
    );
  });

  it('refuses a module that does not exist, a bad export and bad params, with a fix', async () => {
    const client = am.chain.client;
    const build = (d: Parameters<typeof configWith>[1][number]) =>
      buildDetectors(configWith(am, [d]), () => client);
    const custom = { id: 'c', type: 'custom' as const, chain: 'embedded' };
    await expect(build({ ...custom, module: 'examples/detectors/nope.ts' })).rejects.toThrow(/no such file/);
    await expect(
      build({ ...custom, module: 'examples/detectors/large-transfer.ts', export: 'other' }),
    ).rejects.toThrow(/has no detector as its "other" export\n {4}fix:/);
    const bad = build({
      ...custom,
      module: 'examples/detectors/large-transfer.ts',
      params: { token: 'USDC' },
    });
    await expect(bad).rejects.toBeInstanceOf(FirebreakError);
    await expect(bad).rejects.toThrow(/rejected by large-transfer's paramsSchema/);
  });

  it('refuses a rule whose condition uses a name it does not define', async () => {
    const rule = {
      id: 'r',
      type: 'rule' as const,
      chain: 'embedded',
      params: {
        match: [{ event: 'Transfer(address indexed from, address indexed to, uint256 value)' }],
        condition: 'amount > 5% of totalSupply',
        severity: 'high' as const,
        kind: 'anomaly' as const,
      },
    };
    await expect(buildDetectors(configWith(am, [rule]), () => am.chain.client)).rejects.toThrow(
      /uses "amount", which is no argument of the matched items and no read \(arguments: from, to, value/,
    );
  });
});
