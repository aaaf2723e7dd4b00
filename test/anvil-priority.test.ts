// Priority mode (issue 6) on anvil, which orders its pool by fee cap (real builders order by tip):
// with mining held, an attacker's supply to a real Aave v3 reserve waits in the mempool at a high
// fee cap and tip; the mempool source reports it; the eoa executor sends the reserve pause with
// `outbid` set to the attacker's fees. One block holds both, the pause first, and the attacker's
// supply reverts on the paused reserve. The control round (same setup, no `outbid`) lands the
// pause behind the attacker's transaction: the ordering is the executor's doing, not luck.
import { type Hex, parseGwei } from 'viem';
import { getBlock, getTransaction, getTransactionReceipt, writeContract } from 'viem/actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnvilChain } from '../src/chain/anvil';
import type { EmbeddedChain } from '../src/chain/embedded';
import { createMempoolSource, type MempoolSource, type PendingTxEvent } from '../src/chain/mempool';
import { createCommon } from '../src/common/common';
import { erc20Abi } from '../src/protocols/aave-v3/abi';
import { approve, pauseReserve, supply } from '../src/protocols/aave-v3/actions';
import { readReserveConfiguration } from '../src/protocols/aave-v3/reader';
import { createEoaExecutor } from '../src/respond/executors/eoa';
import type { Executor } from '../src/respond/executors/types';
import type { ActionPlan, PlannedCall } from '../src/respond/types';
import { deploySendingMarket, type SendingMarket } from './support/sending-market';

describe('priority mode on anvil: the pause outbids a pending exploit transaction into the same block', () => {
  let chain: EmbeddedChain;
  let m: SendingMarket;
  let mempool: MempoolSource;
  /** One iterator over the source for the whole file (a `for await` that returns early would end it). */
  let pending: AsyncIterator<PendingTxEvent> | undefined;
  let executor: Executor;
  const common = createCommon();
  const deployer = () => chain.accounts[0]!;
  const guardian = () => chain.accounts[1]!;
  const attacker = () => chain.accounts[2]!;
  const exploitFees = { maxFeePerGas: parseGwei('100'), maxPriorityFeePerGas: parseGwei('20') };

  const plan = (id: string, calls: PlannedCall[]): ActionPlan => ({
    id,
    action: 'aave-v3.pause-reserve',
    chainId: chain.chainId,
    incidentId: 'incident',
    playbookId: 'playbook',
    riskReducing: true,
    calls,
    effects: [],
    blastRadius: '',
  });

  /** The attacker's supply, sent at high fees while mining is held; resolves with its mempool event. */
  const attack = async (asset: Hex): Promise<PendingTxEvent> => {
    const call = supply(m.market, { asset, amount: 1_000n, onBehalfOf: attacker().address });
    const hash = await writeContract(chain.client, {
      address: call.to,
      abi: call.abi,
      functionName: call.functionName,
      args: call.args,
      account: attacker().account,
      chain: chain.chain,
      gas: 400_000n,
      ...exploitFees,
    });
    for (;;) {
      const next = await pending!.next();
      if (next.done) throw new Error('the mempool source ended');
      if (next.value.hash === hash) return next.value;
    }
  };

  beforeAll(async () => {
    chain = await createAnvilChain({ accounts: 3, accountSeed: 'priority-test' });
    m = await deploySendingMarket(chain.client, deployer().account, guardian().address);
    for (const asset of [m.usdc, m.weth]) {
      await writeContract(chain.client, {
        address: asset,
        abi: [
          ...erc20Abi,
          {
            type: 'function',
            name: 'mint',
            stateMutability: 'nonpayable',
            inputs: [
              { name: 'to', type: 'address' },
              { name: 'amount', type: 'uint256' },
            ],
            outputs: [],
          },
        ] as const,
        functionName: 'mint',
        args: [attacker().address, 10n ** 24n],
        account: deployer().account,
        chain: chain.chain,
      });
      const a = approve(m.market, { asset, amount: 10n ** 24n });
      await writeContract(chain.client, {
        address: a.to,
        abi: a.abi,
        functionName: a.functionName,
        args: a.args,
        account: attacker().account,
        chain: chain.chain,
      });
    }
    executor = createEoaExecutor({
      id: 'guardian',
      client: chain.client,
      chainId: chain.chainId,
      privateKey: guardian().privateKey,
      priorityFeeGwei: 2,
      maxFeeGwei: 500,
      dryRun: false,
      receiptPollMs: 10,
      common,
    });
    mempool = createMempoolSource({
      client: chain.client,
      chainId: chain.chainId,
      pollIntervalMs: 10,
      common,
    });
    await mempool.ready();
    pending = mempool[Symbol.asyncIterator]();
    await chain.setAutomine(false);
  }, 120_000);

  afterAll(async () => {
    mempool?.stop();
    await chain?.close();
  });

  /** Mines one block and returns the hashes it holds, in order. */
  const mineOne = async (): Promise<Hex[]> => {
    const number = await chain.mine();
    const block = await getBlock(chain.client, { blockNumber: number });
    return block.transactions as Hex[];
  };

  it('control: without outbid, the pause (tip 2 gwei) lands behind the attacker’s supply', async () => {
    const exploit = await attack(m.weth);
    const pause = plan('control', [pauseReserve(m.market, m.weth)]);
    const sent = await executor.send(pause, await executor.simulate(pause), { baseFeePerGas: null });
    const order = await mineOne();
    expect(order).toEqual([exploit.hash, sent.txHashes[0]]);
    expect((await getTransactionReceipt(chain.client, { hash: exploit.hash })).status).toBe('success');
    await sent.receipts;
  });

  it('with outbid: one block, the pause first, the attacker’s supply reverted on the paused reserve', async () => {
    const exploit = await attack(m.usdc);
    expect([exploit.maxFeePerGas, exploit.maxPriorityFeePerGas]).toEqual([
      exploitFees.maxFeePerGas,
      exploitFees.maxPriorityFeePerGas,
    ]);
    const pause = plan('outbid', [pauseReserve(m.market, m.usdc)]);
    const gas = await executor.simulate(pause);
    const sent = await executor.send(pause, gas, {
      baseFeePerGas: null,
      outbid: { maxFeePerGas: exploit.maxFeePerGas!, maxPriorityFeePerGas: exploit.maxPriorityFeePerGas! },
    });
    expect(sent.note).toBeUndefined();
    const ours = await getTransaction(chain.client, { hash: sent.txHashes[0]! });
    expect(ours.maxFeePerGas!).toBeGreaterThan(exploitFees.maxFeePerGas);
    expect(ours.maxPriorityFeePerGas!).toBeGreaterThan(exploitFees.maxPriorityFeePerGas);

    const order = await mineOne();
    expect(order).toEqual([sent.txHashes[0], exploit.hash]);
    const [receipt] = await sent.receipts;
    expect(receipt!.transactionIndex).toBe(0);
    expect((await getTransactionReceipt(chain.client, { hash: exploit.hash })).status).toBe('reverted');
    expect((await readReserveConfiguration(chain.client, m.market.pool, m.usdc)).isPaused).toBe(true);
  });
});
