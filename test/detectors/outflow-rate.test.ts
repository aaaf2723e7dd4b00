// outflow-rate on the Euler drain's shape (SCENARIOS.md §6): a deposit vault with one missing
// check (the drill-only BreakerVault, unprotected) holding four users' USDC; an attacker pays
// itself other depositors' balances, one transaction after another. The first drain transaction
// is a critical, unbacked outflow by one account; the window check follows. Ordinary Aave v3
// activity and the deposits before it raise nothing above info.
import type { Hex } from 'viem';
import { beforeAll, describe, expect, it } from 'vitest';
import { deployArtifact, firebreakArtifact } from '../../src/chain/artifacts';
import type { Finding } from '../../src/detectors/types';
import { toUnits } from '../../src/drills/market';
import { erc20Abi } from '../../src/protocols/aave-v3/abi';
import { type ActivityMarket, deployActivityMarket, runActivity } from '../support/activity';
import { above, brief, configWith, detectRange } from './support';

const VAULT_ABI = firebreakArtifact('BreakerVault').abi;

describe('outflow-rate on a logic-exploit drain', () => {
  let am: ActivityMarket;
  let vault: Hex;
  let findings: Finding[];
  let drains: { block: bigint; tx: Hex }[];

  beforeAll(async () => {
    am = await deployActivityMarket({ accounts: [{ name: 'attacker' }] }, async (m) => {
      vault = (
        await deployArtifact(m.chain.client, firebreakArtifact('BreakerVault'), {
          account: m.market.deployer.account,
          args: [m.token('USDC'), '0x0000000000000000000000000000000000000000', false],
        })
      ).toLowerCase() as Hex;
    });
    const warm = await runActivity(am, { blocks: 30, seed: 31 });
    const usdc = (n: number) => toUnits(n, 6);
    const deposits: [string, number][] = [
      ['user-0', 120_000],
      ['user-1', 40_000],
      ['user-2', 40_000],
      ['user-3', 40_000],
    ];
    const hashes: Hex[] = [];
    for (const [who, amount] of deposits)
      hashes.push(
        ...(await am.send(am.account(who), [
          {
            to: am.token('USDC'),
            abi: erc20Abi,
            functionName: 'approve',
            args: [vault, usdc(amount)],
            gas: 100_000n,
          },
          { to: vault, abi: VAULT_ABI, functionName: 'deposit', args: [usdc(amount)], gas: 200_000n },
        ])),
      );
    await am.mine(hashes);
    await runActivity(am, { blocks: 10, seed: 32 });
    // The drain: withdrawFor(victim, its balance, attacker), a transaction a block, as Euler's six.
    const attacker = am.account('attacker');
    drains = [];
    for (const [who, amount] of deposits.slice(0, 3)) {
      const [tx] = await am.send(attacker, [
        {
          to: vault,
          abi: VAULT_ABI,
          functionName: 'withdrawFor',
          args: [am.account(who).address, usdc(amount), attacker.address],
          gas: 200_000n,
        },
      ]);
      drains.push({ block: await am.mine([tx!]), tx: tx! });
    }
    const config = configWith(am, [
      {
        id: 'vault-outflow',
        type: 'outflow-rate',
        chain: 'embedded',
        params: { assets: [{ asset: am.token('USDC'), symbol: 'USDC', holder: vault }], windowBlocks: 50 },
      },
    ]);
    ({ findings } = await detectRange(config, am.chain.client, warm.from, drains.at(-1)!.block));
  }, 120_000);

  it('raises nothing above info before the drain (deposits are inflows)', () => {
    expect(
      above(
        findings.filter((f) => f.block.number < drains[0]!.block),
        'info',
      ).map(brief),
    ).toEqual([]);
  });

  it('raises a critical exploit finding on the first drain transaction, naming the attacker', () => {
    const first = findings.filter(
      (f) => f.block.number === drains[0]!.block && f.evidence.tx === drains[0]!.tx,
    );
    expect(first.map((f) => [f.severity, f.kind, f.subject.account, f.evidence.shareBps])).toEqual([
      ['critical', 'exploit', am.account('attacker').address.toLowerCase(), 5000],
    ]);
    expect(first[0]!.evidence.claimBurnedInTx).toBe('0');
    expect(first[0]!.evidence.depositedBefore).toBe('0');
    expect(first[0]!.evidence.outflow).toBe(toUnits(120_000, 6).toString());
  });

  it('raises one for every following drain, and the window check as the vault empties', () => {
    for (const d of drains.slice(1))
      expect(
        findings.some((f) => f.evidence.tx === d.tx && f.severity === 'critical' && f.kind === 'exploit'),
      ).toBe(true);
    const window = findings.filter((f) => f.dedupeKey.startsWith('outflow-rate:window'));
    expect(window.map((f) => [f.block.number, f.severity])).toEqual(
      drains.map((d) => [d.block, 'critical']), // 50%, then 67%, then 83% of the window's start balance
    );
    expect(window.map((f) => f.evidence.outflowBps)).toEqual([5000, 6666, 8333]);
  });
});
