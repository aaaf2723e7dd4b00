// governance-watch on the real Aave v3 market and an OpenZeppelin TimelockController: executed
// changes are classified (a freeze is info, a raised LTV medium, a POOL_ADMIN grant high), and a
// Beanstalk-shaped proposal (SCENARIOS.md §7) — moving the treasury's funds to an outsider, queued
// with a delay far under a day — is critical, with its eta and time left; its execution closes it.
import { encodeFunctionData, type Hex, keccak256, toHex, zeroHash } from 'viem';
import { beforeAll, describe, expect, it } from 'vitest';
import { deployArtifact, packageArtifact } from '../../src/chain/artifacts';
import type { Finding } from '../../src/detectors/types';
import { mintDrillToken, toUnits } from '../../src/drills/market';
import { aclManagerAbi, erc20Abi, poolConfiguratorAbi } from '../../src/protocols/aave-v3/abi';
import { type ActivityMarket, deployActivityMarket, runActivity } from '../support/activity';
import { above, brief, configWith, detectRange } from './support';

const TIMELOCK = packageArtifact('@openzeppelin/contracts/build/contracts/TimelockController.json');

describe('governance-watch', () => {
  let am: ActivityMarket;
  let timelock: Hex;
  let findings: Finding[];
  const blocks: Record<string, bigint> = {};
  let scheduleTx: Hex;

  beforeAll(async () => {
    am = await deployActivityMarket({ accounts: [{ name: 'outsider' }] }, async (m) => {
      const admin = m.market.deployer;
      timelock = (
        await deployArtifact(m.chain.client, TIMELOCK, {
          account: admin.account,
          args: [60n, [admin.address], [admin.address], admin.address],
        })
      ).toLowerCase() as Hex;
      await mintDrillToken(m.chain, admin, m.token('USDC'), timelock, toUnits(1_000_000, 6));
    });
    const warm = await runActivity(am, { blocks: 30, seed: 51 });
    const { aave } = am.market;
    const deployer = am.market.deployer;
    const outsider = am.account('outsider').address;
    blocks.freeze = await am.mine(
      await am.send(am.market.guardian, [
        {
          to: aave.poolConfigurator,
          abi: poolConfiguratorAbi,
          functionName: 'setReserveFreeze',
          args: [am.token('DAI'), true],
        },
      ]),
    );
    blocks.ltv = await am.mine(
      await am.send(deployer, [
        {
          to: aave.poolConfigurator,
          abi: poolConfiguratorAbi,
          functionName: 'configureReserveAsCollateral',
          args: [am.token('WETH'), 8500n, 8800n, 10500n],
        },
      ]),
    );
    blocks.grant = await am.mine(
      await am.send(deployer, [
        { to: aave.aclManager, abi: aclManagerAbi, functionName: 'addPoolAdmin', args: [outsider] },
      ]),
    );
    const call = encodeFunctionData({
      abi: erc20Abi,
      functionName: 'transfer',
      args: [outsider, toUnits(1_000_000, 6)],
    });
    const salt = keccak256(toHex('drain'));
    const timelockAbi = TIMELOCK.abi;
    [scheduleTx] = (await am.send(deployer, [
      {
        to: timelock,
        abi: timelockAbi,
        functionName: 'schedule',
        args: [am.token('USDC'), 0n, call, zeroHash, salt, 60n],
      },
    ])) as [Hex];
    blocks.schedule = await am.mine([scheduleTx]);
    for (let i = 0; i < 6; i++) await am.mine(); // 72 s: past the 60 s delay (no activity: DAI is frozen)
    blocks.execute = await am.mine(
      await am.send(deployer, [
        {
          to: timelock,
          abi: timelockAbi,
          functionName: 'execute',
          args: [am.token('USDC'), 0n, call, zeroHash, salt],
        },
      ]),
    );
    const config = configWith(am, [
      {
        id: 'gov',
        type: 'governance-watch',
        market: 'aave',
        params: { timelocks: [timelock], warnBeforeSeconds: 30 },
      },
    ]);
    ({ findings } = await detectRange(config, am.chain.client, warm.from, blocks.execute!));
  }, 120_000);

  const at = (name: string) => findings.filter((f) => f.block.number === blocks[name]);

  it('raises nothing during ordinary activity', () => {
    expect(findings.filter((f) => f.block.number < blocks.freeze!).map(brief)).toEqual([]);
  });

  it('classifies a freeze as risk-reducing (info)', () => {
    expect(
      at('freeze').map((f) => [f.severity, f.kind, f.evidence.event, f.evidence.class, f.subject.asset]),
    ).toEqual([['info', 'governance', 'ReserveFrozen', 'risk-reducing', am.token('DAI').toLowerCase()]]);
  });

  it('classifies a raised LTV as risk-increasing (medium), against the parameters it replaced', () => {
    const [f] = at('ltv');
    expect([f?.severity, f?.evidence.class]).toEqual(['medium', 'risk-increasing']);
    expect(f?.title).toContain('LTV 85%, liquidation threshold 88%');
    expect(f?.title).toContain('was 80% / 82.5%');
  });

  it('classifies a POOL_ADMIN grant as an admin change (high)', () => {
    const grants = at('grant').filter((f) => f.evidence.event === 'RoleGranted');
    expect(grants.map((f) => [f.severity, f.evidence.class])).toEqual([['high', 'admin']]);
    expect(grants[0]!.title).toContain(`POOL_ADMIN granted to ${am.account('outsider').address}`);
  });

  it('raises the queued treasury transfer as critical, with its eta and the time left', () => {
    const queued = at('schedule');
    expect(
      queued.map((f) => [
        f.severity,
        f.kind,
        f.evidence.class,
        f.evidence.function,
        f.evidence.timeLeftSeconds,
      ]),
    ).toEqual([['critical', 'governance', 'funds', 'transfer', '60']]);
    const f = queued[0]!;
    expect(BigInt(f.evidence.eta as string)).toBe(f.block.timestamp + 60n);
    expect(f.evidence.tx).toBe(scheduleTx);
    expect(f.evidence.args).toBe(`${am.account('outsider').address}, ${toUnits(1_000_000, 6)}`);
  });

  it('records the execution, and the call is no longer pending', () => {
    const done = at('execute');
    expect(done.map((f) => [f.severity, f.evidence.outcome])).toEqual([['info', 'executed']]);
    // Reminded once while pending, in the first block with 30 s or less left (36 s after queuing).
    const reminders = findings.filter((f) => /^(\d+ s left|executable now)/.test(f.title));
    expect(
      reminders.map((f) => [f.block.number - blocks.schedule!, f.severity, f.evidence.timeLeftSeconds]),
    ).toEqual([[3n, 'high', '24']]);
  });

  it('raises nothing above info for the risk-reducing freeze alone', () => {
    expect(above(at('freeze'), 'info')).toEqual([]);
  });
});
