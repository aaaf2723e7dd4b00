/**
 * GuardianHub on a real Aave v3 market (the @aave/core-v3 artifacts on the embedded chain): the hub
 * holds EMERGENCY_ADMIN and RISK_ADMIN, three agents, threshold 2. One agent cannot freeze, two
 * can and the freeze lands; refused arguments, off-list selectors, expiry and rotation.
 */
import { type Address, encodeFunctionData, maxUint256, toFunctionSelector, zeroAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployArtifact, firebreakArtifact } from '../../src/chain/artifacts';
import { createEmbeddedChain, type EmbeddedChain, type FundedAccount } from '../../src/chain/embedded';
import { isFirebreakError } from '../../src/common/errors';
import { aclManagerAbi, poolConfiguratorAbi } from '../../src/protocols/aave-v3/abi';
import {
  approve,
  type ContractCall,
  freezeReserve,
  pausePool,
  setLtvZero,
  supply,
} from '../../src/protocols/aave-v3/actions';
import { type AaveV3Market, deployAaveV3Market } from '../../src/protocols/aave-v3/fixture';
import { readReserveConfiguration } from '../../src/protocols/aave-v3/reader';
import {
  actionSalt,
  allowAaveV3Levers,
  callData,
  deployGuardianHub,
  guardianHubAbi,
  hubProposalId,
  hubProposeOrConfirm,
  readHubProposal,
} from '../../src/protocols/firebreak';
import { advance, call, deployToken, revertReason, send } from './support';

const E6 = 10n ** 6n;
const E8 = 10n ** 8n;

describe('GuardianHub as EMERGENCY_ADMIN and RISK_ADMIN of a real Aave v3 market (2-of-3)', () => {
  let chain: EmbeddedChain;
  let market: AaveV3Market;
  let hub: Address;
  let usdc: Address;
  let weth: Address;
  const governance = () => chain.accounts[0]!;
  const agents = () => [chain.accounts[1]!, chain.accounts[2]!, chain.accounts[3]!] as const;
  const outsider = () => chain.accounts[4]!;
  const newKey = () => chain.accounts[5]!;
  const supplier = () => chain.accounts[6]!;

  const viaHub = (agent: FundedAccount, action: ContractCall, id: string) =>
    send(chain, agent.account, hubProposeOrConfirm(hub, action, actionSalt(id)));

  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: 8 });
    const account = governance().account;
    hub = await deployGuardianHub(chain.client, {
      account,
      governance: governance().address,
      agents: agents().map((a) => a.address),
      threshold: 2,
      proposalTtlSeconds: 600,
    });
    usdc = await deployToken(chain, account, 'USDC', 6, [supplier().address], 1_000_000n * E6);
    weth = await deployToken(chain, account, 'WETH', 18, [], 0n);
    const feed = firebreakArtifact('DrillPriceFeed');
    const usdcFeed = await deployArtifact(chain.client, feed, { account, args: [8, 'USDC / USD', E8] });
    const wethFeed = await deployArtifact(chain.client, feed, {
      account,
      args: [8, 'WETH / USD', 2000n * E8],
    });
    const base = { reserveFactorBps: 1000, borrowingEnabled: true, borrowCap: 0n };
    market = await deployAaveV3Market(chain.client, {
      account,
      guardian: hub,
      assets: [
        {
          ...base,
          symbol: 'USDC',
          asset: usdc,
          decimals: 6,
          priceSource: usdcFeed,
          ltvBps: 7500,
          liquidationThresholdBps: 8000,
          liquidationBonusBps: 10500,
          supplyCap: 2_000_000n,
        },
        {
          ...base,
          symbol: 'WETH',
          asset: weth,
          decimals: 18,
          priceSource: wethFeed,
          ltvBps: 8000,
          liquidationThresholdBps: 8250,
          liquidationBonusBps: 10500,
          supplyCap: 0n,
        },
      ],
    });
    for (const allow of allowAaveV3Levers(hub, market)) await send(chain, account, allow);
  });

  afterAll(async () => {
    await chain?.close();
  });

  it('holds the market roles: the hub, not any agent, is EMERGENCY_ADMIN and RISK_ADMIN', async () => {
    const read = (functionName: 'isEmergencyAdmin' | 'isRiskAdmin', who: Address) =>
      chain.client.readContract({
        address: market.aclManager,
        abi: aclManagerAbi,
        functionName,
        args: [who],
      });
    expect(await read('isEmergencyAdmin', hub)).toBe(true);
    expect(await read('isRiskAdmin', hub)).toBe(true);
    expect(await read('isRiskAdmin', agents()[0].address)).toBe(false);
  });

  it('one agent cannot freeze a reserve; the second confirmation freezes it in the same transaction', async () => {
    const freeze = freezeReserve(market, usdc);
    await viaHub(agents()[0], freeze, 'freeze-usdc');
    expect((await readReserveConfiguration(chain.client, market.pool, usdc)).isFrozen).toBe(false);
    const id = hubProposalId({
      chainId: chain.chainId,
      hub,
      target: market.poolConfigurator,
      data: callData(freeze),
      salt: actionSalt('freeze-usdc'),
    });
    expect(await readHubProposal(chain.client, hub, id)).toMatchObject({
      state: 'pending',
      confirmations: 1,
    });
    // The same agent confirming twice does not count twice.
    expect(await revertReason(viaHub(agents()[0], freeze, 'freeze-usdc'))).toBe('AlreadyConfirmed');

    const receipt = await viaHub(agents()[1], freeze, 'freeze-usdc');
    expect((await readReserveConfiguration(chain.client, market.pool, usdc)).isFrozen).toBe(true);
    expect(await readHubProposal(chain.client, hub, id)).toMatchObject({
      state: 'executed',
      confirmations: 2,
    });
    const executed = receipt.logs.filter((l) => l.address.toLowerCase() === hub.toLowerCase());
    expect(executed.length).toBeGreaterThanOrEqual(2); // Confirmed + Executed
    // The freeze lands: supply now fails with Aave's "reserve frozen" (28).
    const s = supplier();
    await send(chain, s.account, approve(market, { asset: usdc, amount: maxUint256 }));
    expect(
      await revertReason(
        send(chain, s.account, supply(market, { asset: usdc, amount: E6, onBehalfOf: s.address })),
      ),
    ).toBe('28');
    // A third confirmation after execution is refused.
    expect(await revertReason(viaHub(agents()[2], freeze, 'freeze-usdc'))).toBe('ProposalNotPending');
  });

  it('pauses the pool as EMERGENCY_ADMIN with two agents', async () => {
    await viaHub(agents()[1], pausePool(market), 'pause-pool');
    await viaHub(agents()[2], pausePool(market), 'pause-pool');
    const config = await readReserveConfiguration(chain.client, market.pool, weth);
    expect(config.isPaused).toBe(true);
  });

  it('lowers an LTV keeping threshold and bonus, and refuses any call that would raise risk', async () => {
    const current = await readReserveConfiguration(chain.client, market.pool, weth);
    await viaHub(agents()[0], setLtvZero(market, weth, current), 'ltv-weth');
    await viaHub(agents()[2], setLtvZero(market, weth, current), 'ltv-weth');
    expect((await readReserveConfiguration(chain.client, market.pool, weth)).ltvBps).toBe(0);

    const refused = async (functionName: string, args: readonly unknown[]) =>
      revertReason(
        viaHub(
          agents()[0],
          call(market.poolConfigurator, poolConfiguratorAbi, functionName, args),
          `x-${functionName}-${args.join()}`,
        ),
      );
    expect(await refused('setReserveFreeze', [usdc, false])).toBe('ArgumentsRefused'); // unfreeze
    expect(await refused('setPoolPause', [false])).toBe('ArgumentsRefused'); // unpause
    expect(await refused('setSupplyCap', [usdc, 3_000_000n])).toBe('ArgumentsRefused'); // raise
    expect(await refused('setSupplyCap', [usdc, 0n])).toBe('ArgumentsRefused'); // 0 = no cap
    expect(await refused('configureReserveAsCollateral', [weth, 0n, 5000n, 10500n])).toBe('ArgumentsRefused'); // threshold cut
    expect(await refused('configureReserveAsCollateral', [weth, 100n, 8250n, 10500n])).toBe(
      'ArgumentsRefused',
    ); // LTV up
    expect(await refused('setReserveFreeze', [zeroAddress, true])).toBe('ArgumentsRefused'); // not a reserve
    expect(await refused('setReserveFactor', [usdc, 100n])).toBe('CallNotAllowed'); // off the list
    expect(await refused('setReserveInterestRateStrategyAddress', [usdc, zeroAddress])).toBe(
      'CallNotAllowed',
    );
    // A lowering cap passes the rule (and executes with a second agent).
    const cut = call(market.poolConfigurator, poolConfiguratorAbi, 'setSupplyCap', [usdc, 1_000_000n]);
    await viaHub(agents()[0], cut, 'cap-usdc');
    await viaHub(agents()[1], cut, 'cap-usdc');
    expect((await readReserveConfiguration(chain.client, market.pool, usdc)).supplyCap).toBe(1_000_000n);
  });

  it('governance cannot allow-list a dangerous selector or a lever under a weaker rule; outsiders cannot at all', async () => {
    const g = governance().account;
    const allow = (selector: `0x${string}`, rule: number, pool: Address = zeroAddress) =>
      call(hub, guardianHubAbi, 'allowCall', [market.poolConfigurator, selector, rule, pool]);
    const sel = (s: string) => toFunctionSelector(`function ${s}`);
    expect(
      await revertReason(
        send(chain, g, allow(sel('setReserveInterestRateStrategyAddress(address,address)'), 1)),
      ),
    ).toBe('SelectorDenied');
    expect(await revertReason(send(chain, g, allow(sel('transfer(address,uint256)'), 2)))).toBe(
      'SelectorDenied',
    );
    expect(await revertReason(send(chain, g, allow(sel('setReserveFreeze(address,bool)'), 1)))).toBe(
      'InvalidRule',
    );
    expect(
      await revertReason(send(chain, g, allow(sel('setUnknownThing(address,uint256)'), 5, market.pool))),
    ).toBe('InvalidRule');
    expect(
      await revertReason(
        send(
          chain,
          g,
          call(hub, guardianHubAbi, 'allowCall', [hub, sel('setThreshold(uint8)'), 2, zeroAddress]),
        ),
      ),
    ).toBe('InvalidTarget');
    expect(await revertReason(send(chain, outsider().account, allow(sel('setPoolPause(bool)'), 2)))).toBe(
      'OwnableUnauthorizedAccount',
    );
    expect(await revertReason(send(chain, g, call(hub, guardianHubAbi, 'renounceOwnership')))).toBe(
      'RenounceDisabled',
    );
  });

  it('an outsider cannot propose; a proposal expires and can then be proposed afresh', async () => {
    const freeze = freezeReserve(market, weth);
    expect(await revertReason(viaHub(outsider(), freeze, 'freeze-weth'))).toBe('NotAgent');
    await viaHub(agents()[0], freeze, 'freeze-weth');
    await advance(chain, 601n);
    const data = encodeFunctionData({
      abi: poolConfiguratorAbi,
      functionName: 'setReserveFreeze',
      args: [weth, true],
    });
    const id = hubProposalId({
      chainId: chain.chainId,
      hub,
      target: market.poolConfigurator,
      data,
      salt: actionSalt('freeze-weth'),
    });
    expect((await readHubProposal(chain.client, hub, id)).state).toBe('expired');
    expect(
      await revertReason(
        send(
          chain,
          agents()[1].account,
          call(hub, guardianHubAbi, 'confirm', [market.poolConfigurator, data, actionSalt('freeze-weth')]),
        ),
      ),
    ).toBe('ProposalNotPending');
    expect((await readReserveConfiguration(chain.client, market.pool, weth)).isFrozen).toBe(false);
    // proposeOrConfirm reopens it from zero: one confirmation again, so no freeze yet.
    await viaHub(agents()[1], freeze, 'freeze-weth');
    expect(await readHubProposal(chain.client, hub, id)).toMatchObject({
      state: 'pending',
      confirmations: 1,
    });
    expect((await readReserveConfiguration(chain.client, market.pool, weth)).isFrozen).toBe(false);
  });

  it('rotation by governance only: it voids pending proposals, the old key is out, the new key counts', async () => {
    const freeze = freezeReserve(market, weth);
    const data = callData(freeze);
    const id = hubProposalId({
      chainId: chain.chainId,
      hub,
      target: market.poolConfigurator,
      data,
      salt: actionSalt('freeze-weth'),
    });
    expect(
      await revertReason(
        send(
          chain,
          agents()[0].account,
          call(hub, guardianHubAbi, 'replaceAgent', [agents()[2].address, newKey().address]),
        ),
      ),
    ).toBe('OwnableUnauthorizedAccount');
    await send(
      chain,
      governance().account,
      call(hub, guardianHubAbi, 'replaceAgent', [agents()[2].address, newKey().address]),
    );
    expect((await readHubProposal(chain.client, hub, id)).state).toBe('stale');
    expect(await revertReason(viaHub(agents()[2], freeze, 'freeze-weth'))).toBe('NotAgent');
    await viaHub(newKey(), freeze, 'freeze-weth'); // reopens the voided proposal
    expect((await readReserveConfiguration(chain.client, market.pool, weth)).isFrozen).toBe(false);
    await viaHub(agents()[0], freeze, 'freeze-weth');
    expect((await readReserveConfiguration(chain.client, market.pool, weth)).isFrozen).toBe(true);
  });

  it('the deployer refuses bad options with a clear error before sending anything', async () => {
    const account = governance().account;
    const bad = deployGuardianHub(chain.client, {
      account,
      governance: governance().address,
      agents: [agents()[0].address],
      threshold: 2,
      proposalTtlSeconds: 600,
    });
    await expect(bad).rejects.toSatisfy(
      (e) => isFirebreakError(e, 'ERR_DEPLOY_FAILED') && /threshold 2/.test((e as Error).message),
    );
  });
});
