// Sending (issue 6): the eoa executor on the embedded chain with a real Aave v3 market and the store's
// nonce journal. A stuck (underpriced) pause transaction is replaced with bumped fees and mined, and
// its receipts promise resolves with the replacement's receipt; the configured fee cap stops a bump
// and says so; a nonce gap a crash left is healed (with the journaled transaction while it is still
// wanted, with a zero-value transfer to self when it is not); a restarted executor reuses the
// transaction it signed for an action instead of signing a second one; simulation runs against the
// pending state too.
import {
  type Address,
  type Client,
  encodeFunctionData,
  type Hex,
  keccak256,
  type LocalAccount,
  parseGwei,
  toHex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { getTransaction, getTransactionCount, getTransactionReceipt, sendRawTransaction } from 'viem/actions';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEmbeddedChain, type EmbeddedChain } from '../src/chain/embedded';
import { createMempoolSource } from '../src/chain/mempool';
import { createCommon } from '../src/common/common';
import { isFirebreakError } from '../src/common/errors';
import { mintDrillToken } from '../src/drills/market';
import { aclManagerAbi, erc20Abi, poolAbi, poolConfiguratorAbi } from '../src/protocols/aave-v3/abi';
import { freezeReserve, pauseReserve } from '../src/protocols/aave-v3/actions';
import { readReserveConfiguration, readReserveTokens } from '../src/protocols/aave-v3/reader';
import { createEoaExecutor, sendItem } from '../src/respond/executors/eoa';
import { feePolicy } from '../src/respond/executors/fees';
import { callKey, type ExecutorTx, type TxJournal } from '../src/respond/executors/nonce';
import { createSender } from '../src/respond/executors/sender';
import type { SendProgress } from '../src/respond/executors/types';
import { createPendingBook, followMempool, type Outbid, watchOutbid } from '../src/respond/priority';
import type { ActionPlan, PlannedCall } from '../src/respond/types';
import { storeTxJournal } from '../src/store/executor-txs';
import { openStore, type Store } from '../src/store/store';
import { countingClient } from './support/counting-client';
import { deploySendingMarket, type SendingMarket } from './support/sending-market';

describe('eoa executor sending: nonces, fee bumps, gap healing, pending-state simulation', () => {
  let chain: EmbeddedChain;
  let m: SendingMarket;
  let store: Store;
  let journal: TxJournal;
  let snapshot: Hex;
  const common = createCommon();

  const guardian = () => chain.accounts[1]!;
  const client = () => chain.client;
  const request = (method: string, params: unknown[] = []) =>
    chain.provider.request({ method, params } as never) as Promise<unknown>;
  const nonceOf = (blockTag: 'latest' | 'pending' = 'latest') =>
    getTransactionCount(client(), { address: guardian().address, blockTag });
  const config = (asset: Address) => readReserveConfiguration(client(), m.market.pool, asset);

  /** The guardian's sender over `over`, with the executor's fee policy and the store's journal. */
  const senderOver = (over: Client, account: LocalAccount) =>
    createSender({
      client: over,
      chainId: chain.chainId,
      account,
      journal,
      policy: feePolicy({ priorityFeeGwei: 1, maxFeeGwei: 500, bumpPercent: 12.5 }),
      bumpAfterBlocks: 2,
      receiptPollMs: 5,
      label: 'guardian',
      common,
    });

  const executor = (options: { maxFeeGwei?: number; priorityFeeGwei?: number } = {}) =>
    createEoaExecutor({
      id: 'guardian',
      client: client(),
      chainId: chain.chainId,
      privateKey: guardian().privateKey,
      priorityFeeGwei: options.priorityFeeGwei ?? 1,
      maxFeeGwei: options.maxFeeGwei ?? 500,
      bumpAfterBlocks: 2,
      bumpPercent: 12.5,
      dryRun: false,
      receiptPollMs: 5,
      journal,
      common,
    });

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

  /** Mines a block every few milliseconds until `promise` settles (at most `max` blocks). */
  const mineUntil = async <T>(promise: Promise<T>, max = 40): Promise<{ value: T; blocks: number }> => {
    let settled = false;
    const watched = promise.finally(() => {
      settled = true;
    });
    watched.catch(() => undefined);
    let blocks = 0;
    while (!settled && blocks < max) {
      await chain.mine();
      blocks++;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return { value: await watched, blocks };
  };

  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: 3 });
    m = await deploySendingMarket(client(), chain.accounts[0]!.account, guardian().address);
    store = await openStore({ memory: true });
    journal = storeTxJournal(store.db);
    snapshot = await chain.snapshot();
  }, 60_000);

  beforeEach(async () => {
    await chain.revert(snapshot);
    snapshot = await chain.snapshot();
    await chain.setAutomine(true);
    await store.db.deleteFrom('executor_txs').execute();
  });

  afterEach(async () => {
    await chain.setAutomine(true);
  });

  afterAll(async () => {
    await store?.close();
    await chain?.close();
  });

  it('replaces a stuck, underpriced pause transaction with bumped fees; the receipts are the replacement’s', async () => {
    await chain.setAutomine(false);
    await request('hardhat_setNextBlockBaseFeePerGas', [toHex(parseGwei('10'))]);
    await chain.mine();
    const before = await nonceOf();
    const eoa = executor();
    const pause = plan('stuck-pause', [pauseReserve(m.market, m.usdc)]);
    const gas = await eoa.simulate(pause);
    const events: SendProgress[] = [];
    // Priced off a stale base fee (1 gwei): fee cap 2 × 1 + 1 = 3 gwei, under the chain's ~10 gwei.
    const sent = await eoa.send(pause, gas, {
      baseFeePerGas: parseGwei('1'),
      onProgress: (e) => events.push(e),
    });
    const original = sent.txHashes[0]!;
    const pending = await getTransaction(client(), { hash: original });
    expect(pending.maxFeePerGas).toBe(parseGwei('3'));

    const { value: receipts, blocks } = await mineUntil(sent.receipts);
    const all = sent.allTxHashes!();
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(all[0]).toBe(original);
    expect(receipts).toHaveLength(1);
    expect(receipts[0]!.transactionHash).toBe(all[all.length - 1]);
    expect(receipts[0]!.status).toBe('success');
    await expect(getTransactionReceipt(client(), { hash: original })).rejects.toThrow();
    expect((await config(m.usdc)).isPaused).toBe(true);
    expect(await nonceOf()).toBe(before + 1); // one nonce, however many versions
    const replaced = events.filter((e) => e.type === 'replaced');
    expect(replaced.length).toBe(all.length - 1);
    expect(replaced[0]!.summary).toMatch(
      /nonce \d+ not mined after 2 blocks: replaced 0x[0-9a-f]{64} with 0x/,
    );
    const mined = await getTransaction(client(), { hash: receipts[0]!.transactionHash });
    expect(mined.maxFeePerGas! * 10_000n).toBeGreaterThanOrEqual(parseGwei('3') * 11_250n);
    expect(mined.maxPriorityFeePerGas! * 10_000n).toBeGreaterThanOrEqual(parseGwei('1') * 11_250n);
    const row = await store.db.selectFrom('executor_txs').selectAll().executeTakeFirstOrThrow();
    expect([row.status, row.mined_hash, row.hashes]).toEqual(['mined', receipts[0]!.transactionHash, all]);
    process.stdout.write(
      `stuck pause: ${all.length - 1} replacement(s), mined ${blocks} blocks after the send at ${mined.maxFeePerGas! / 10n ** 9n} gwei fee cap\n`,
    );
  });

  /**
   * The chain's pending transactions followed into a book, as the engine's priority feed follows
   * them, and a pause's rule: beat calls to the Pool, never the guardian's own. `stop` ends it.
   */
  const followPool = async () => {
    const book = createPendingBook({ clock: common.clock });
    const source = createMempoolSource({ provider: chain.provider, chainId: chain.chainId, common });
    const following = followMempool(source, book, common.logger);
    await source.ready();
    const rule = {
      to: new Set([m.market.pool.toLowerCase()]),
      from: new Set<string>(),
      own: new Set([guardian().address.toLowerCase()]),
    };
    return {
      followOutbid: (listener: (outbid: Outbid) => void) => watchOutbid(book, rule, listener),
      stop: async () => {
        source.stop();
        await following;
      },
    };
  };

  /** A rival's call to the Pool with `nonce`, tipping `tip` gwei (fee cap 20 gwei more). */
  const rivalBid = async (nonce: number, tip: number) => {
    const rival = privateKeyToAccount(chain.accounts[2]!.privateKey);
    const serializedTransaction = await rival.signTransaction({
      type: 'eip1559',
      chainId: chain.chainId,
      nonce,
      to: m.market.pool,
      data: encodeFunctionData({
        abi: poolAbi,
        functionName: 'supply',
        args: [m.usdc, 1n, rival.address, 0],
      }),
      gas: 300_000n,
      maxFeePerGas: parseGwei(String(tip + 20)),
      maxPriorityFeePerGas: parseGwei(String(tip)),
    });
    return sendRawTransaction(client(), { serializedTransaction });
  };
  const rivalNonce = () =>
    getTransactionCount(client(), { address: chain.accounts[2]!.address, blockTag: 'pending' });

  it.each([
    ['after the send', false],
    ['after a restart, once the action is taken up again', true],
  ])(
    'priority mode: a higher bid that arrives %s has the pause replaced above it and mined first',
    async (_, restarted) => {
      await chain.setAutomine(false);
      const feed = await followPool();
      try {
        const pause = plan('rebid-pause', [pauseReserve(m.market, m.usdc)]);
        if (restarted) {
          // Sent by a process that died before it was mined; this one takes the action up again.
          const dead = executor();
          await dead.send(pause, await dead.simulate(pause), { baseFeePerGas: null });
        }
        const eoa = executor();
        const gas = await eoa.simulate(pause);
        const events: SendProgress[] = [];
        // Nothing threatening waits at the send: the pause goes out at the policy's 1 gwei tip.
        const sent = await eoa.send(pause, gas, {
          baseFeePerGas: null,
          followOutbid: feed.followOutbid,
          onProgress: (e) => events.push(e),
        });
        expect(sent.resumed === true).toBe(restarted);
        const original = await getTransaction(client(), { hash: sent.txHashes[0]! });
        expect(original.maxPriorityFeePerGas).toBe(parseGwei('1'));

        // Then a transaction to the pool arrives, tipping 300 gwei.
        const rivalHash = await rivalBid(await rivalNonce(), 300);
        const deadline = Date.now() + 10_000;
        while (!events.some((e) => e.type === 'replaced') && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 10));
        const replaced = events.find((e) => e.type === 'replaced');
        expect(replaced?.summary).toMatch(
          /^nonce \d+ outbid by a pending transaction \(fee cap 320 gwei, tip 300 gwei\): replaced 0x[0-9a-f]{64} with 0x[0-9a-f]{64} \(fee cap .* gwei, tip 1 → 337\.5 gwei\)$/,
        );

        // One block: the replacement first, the rival after it.
        await chain.mine();
        const [receipt] = await sent.receipts;
        const theirs = await getTransactionReceipt(client(), { hash: rivalHash });
        expect(receipt!.transactionHash).toBe(sent.allTxHashes!().at(-1));
        expect(receipt!.transactionHash).toBe(replaced!.txHash);
        expect(receipt!.status).toBe('success');
        expect(theirs.blockNumber).toBe(receipt!.blockNumber);
        expect(theirs.transactionIndex).toBeGreaterThan(receipt!.transactionIndex);
        const mined = await getTransaction(client(), { hash: receipt!.transactionHash });
        expect(mined.maxPriorityFeePerGas!).toBeGreaterThan(parseGwei('300'));
        expect(mined.maxFeePerGas!).toBeGreaterThan(parseGwei('320'));
        expect(mined.nonce).toBe(original.nonce);
        expect((await config(m.usdc)).isPaused).toBe(true);
        // (After a restart, the dead process's sender still runs in this test process, journaling
        // the version it knows as superseded.)
        if (!restarted) {
          const row = await store.db.selectFrom('executor_txs').selectAll().executeTakeFirstOrThrow();
          expect([row.status, row.hashes]).toEqual(['mined', sent.allTxHashes!()]);
        }
      } finally {
        await feed.stop();
      }
    },
  );

  it('priority mode within maxFeeGwei: replaced up to the cap and said so, then said once that no room is left', async () => {
    await chain.setAutomine(false);
    const feed = await followPool();
    try {
      const eoa = executor({ maxFeeGwei: 3.5 });
      const pause = plan('rebid-capped', [pauseReserve(m.market, m.usdc)]);
      const events: SendProgress[] = [];
      // Priced off a 1 gwei base fee: fee cap 3 gwei, tip 1 gwei.
      const sent = await eoa.send(pause, await eoa.simulate(pause), {
        baseFeePerGas: parseGwei('1'),
        followOutbid: feed.followOutbid,
        onProgress: (e) => events.push(e),
      });
      // The rival bids with one nonce throughout: each bid replaces its last.
      const nonce = await rivalNonce();
      const bid = (tip: number) => rivalBid(nonce, tip);
      const until = async (count: number) => {
        const deadline = Date.now() + 10_000;
        while (events.length < count && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 10));
        expect(events).toHaveLength(count);
      };

      // Room for one valid replacement (3.5 ≥ 3 + 12.5 %), not for beating 300 gwei: sent, and said.
      await bid(300);
      await until(1);
      expect(events[0]!.type).toBe('replaced');
      expect(events[0]!.summary).toMatch(
        /outbid by a pending transaction \(fee cap 320 gwei, tip 300 gwei\): replaced .* \(fee cap 3 → 3\.5 gwei, tip 1 → 3\.5 gwei\); cannot outbid the pending transaction \(fee cap 320 gwei, tip 300 gwei\): the configured maxFeeGwei 3\.5 gwei stops/,
      );
      // No room left (3.5 + 12.5 % is over the cap): said once, whatever the rival bids next.
      await bid(400);
      await until(2);
      expect(events[1]!.type).toBe('fee-capped');
      expect(events[1]!.summary).toMatch(
        /outbid by a pending transaction \(fee cap 420 gwei, tip 400 gwei\) and not replaced: cannot replace the transaction .* maxFeeGwei 3\.5 gwei/,
      );
      const last = await bid(500);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(events).toHaveLength(2);

      // The rival goes first; the pause still lands, once, at the capped price.
      await chain.mine();
      const [receipt] = await sent.receipts;
      const theirs = await getTransactionReceipt(client(), { hash: last });
      expect(receipt!.status).toBe('success');
      expect(receipt!.transactionHash).toBe(events[0]!.txHash);
      expect(theirs.blockNumber).toBe(receipt!.blockNumber);
      expect(theirs.transactionIndex).toBeLessThan(receipt!.transactionIndex);
      expect((await config(m.usdc)).isPaused).toBe(true);
    } finally {
      await feed.stop();
    }
  });

  it('stops bumping at the configured maxFeeGwei, says so, and the transaction lands when the base fee falls', async () => {
    await chain.setAutomine(false);
    await request('hardhat_setNextBlockBaseFeePerGas', [toHex(parseGwei('10'))]);
    await chain.mine();
    const eoa = executor({ maxFeeGwei: 5 });
    const pause = plan('capped-pause', [pauseReserve(m.market, m.usdc)]);
    const events: SendProgress[] = [];
    const sent = await eoa.send(pause, await eoa.simulate(pause), {
      baseFeePerGas: parseGwei('1'),
      onProgress: (e) => events.push(e),
    });
    // Empty blocks lower the base fee by 12.5 % each: ~10 → under 5 gwei after 6 blocks.
    const { value: receipts } = await mineUntil(sent.receipts, 30);
    expect(events.map((e) => e.type)).toEqual(['replaced', 'fee-capped']);
    expect(events[1]!.summary).toContain('fee bump stopped by the configured maxFeeGwei 5 gwei');
    const all = sent.allTxHashes!();
    expect(all).toHaveLength(2);
    expect(receipts[0]!.transactionHash).toBe(all[1]);
    expect((await getTransaction(client(), { hash: all[1]! })).maxFeePerGas).toBe(parseGwei('5'));
    expect((await config(m.usdc)).isPaused).toBe(true);
  });

  /** What a process that crashed mid-send leaves: a journaled, signed transaction, maybe broadcast. */
  const journalSigned = async (
    nonce: number,
    actionId: string,
    call: PlannedCall,
    broadcast: boolean,
    gas = 200_000n,
  ) => {
    const account = privateKeyToAccount(guardian().privateKey);
    const data = encodeFunctionData({
      abi: call.abi,
      functionName: call.functionName,
      args: call.args as never,
    });
    const tx: ExecutorTx = {
      chainId: chain.chainId,
      address: guardian().address.toLowerCase() as Hex,
      nonce,
      actionId,
      callKey: callKey({ to: call.to, data }),
      to: call.to,
      data,
      value: 0n,
      gas,
      maxFeePerGas: parseGwei('50'),
      maxPriorityFeePerGas: parseGwei('2'),
      hashes: [],
      status: 'pending',
      minedHash: null,
      createdAt: Date.now(),
      updatedAt: Date.now(),
    };
    const raw = await account.signTransaction({
      type: 'eip1559',
      chainId: chain.chainId,
      nonce,
      to: tx.to,
      data,
      gas: tx.gas,
      maxFeePerGas: tx.maxFeePerGas,
      maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
    });
    tx.hashes.push(keccak256(raw));
    await journal.put([tx]);
    if (broadcast) await sendRawTransaction(client(), { serializedTransaction: raw });
    return tx;
  };

  /** Mines until the guardian's mined nonce reaches `target` (at most 20 blocks). */
  const mineToNonce = async (target: number) => {
    for (let i = 0; i < 20 && (await nonceOf()) < target; i++) {
      await new Promise((r) => setTimeout(r, 20));
      await chain.mine();
    }
  };

  it('heals a nonce gap after a crash with the journaled transaction while it is still wanted', async () => {
    await chain.setAutomine(false); // a node that queues a transaction above a gap (EDR refuses to while automining)
    const n = await nonceOf('pending');
    // The crashed process took n (pause USDC) and n+1 (freeze WETH) and broadcast only n+1: stuck behind the gap.
    const pause = await journalSigned(n, 'gap-pause', pauseReserve(m.market, m.usdc), false);
    const freeze = await journalSigned(n + 1, 'gap-freeze', freezeReserve(m.market, m.weth), true);
    await chain.mine();
    await chain.mine();
    expect(await nonceOf()).toBe(n);
    await expect(getTransactionReceipt(client(), { hash: freeze.hashes[0]! })).rejects.toThrow();

    // The restart: a new executor over the same journal.
    const restarted = executor();
    await restarted.resume!();
    await mineToNonce(n + 2);
    expect(await nonceOf()).toBe(n + 2);
    expect((await config(m.usdc)).isPaused).toBe(true);
    expect((await config(m.weth)).isFrozen).toBe(true);
    const r0 = await getTransactionReceipt(client(), { hash: pause.hashes[0]! });
    expect(r0.status).toBe('success');

    // The responder asking again for the same action sends nothing new: the journaled transaction stands for it.
    await chain.setAutomine(true);
    const again = await restarted.send(plan('gap-pause', [pauseReserve(m.market, m.usdc)]), [200_000n], {
      baseFeePerGas: null,
    });
    expect(again.txHashes).toEqual([pause.hashes[0]]);
    expect((await again.receipts)[0]!.transactionHash).toBe(pause.hashes[0]);
    expect(await nonceOf('pending')).toBe(n + 2);
  });

  it('heals a gap in a plan whose second call needs the first: both go out again, neither is filled', async () => {
    // An approve and the call that spends the allowance (a migration's approve + removeLiquidity;
    // here approve + Aave supply), both journaled, neither broadcast: a crash right after signing.
    const amount = 1_000n * 10n ** 6n;
    await chain.setAutomine(true);
    await mintDrillToken(chain, chain.accounts[0]!, m.usdc, guardian().address, amount);
    await chain.setAutomine(false);
    const n = await nonceOf('pending');
    const approve: PlannedCall = {
      to: m.usdc,
      abi: erc20Abi,
      functionName: 'approve',
      args: [m.market.pool, amount],
      description: 'approve the pool',
    };
    const supply: PlannedCall = {
      to: m.market.pool,
      abi: poolAbi,
      functionName: 'supply',
      args: [m.usdc, amount, guardian().address, 0],
      description: 'supply USDC',
    };
    await journalSigned(n, 'gap-plan', approve, false);
    await journalSigned(n + 1, 'gap-plan', supply, false, 500_000n);
    await executor().resume!();
    await mineToNonce(n + 2);
    const rows = await store.db
      .selectFrom('executor_txs')
      .select(['nonce', 'status'])
      .where('action_id', '=', 'gap-plan')
      .orderBy('nonce')
      .execute();
    expect(rows.map((r) => r.status)).not.toContain('filled');
    for (const row of await store.db
      .selectFrom('executor_txs')
      .select('hashes')
      .where('action_id', '=', 'gap-plan')
      .execute())
      expect((await getTransactionReceipt(client(), { hash: row.hashes.at(-1)! })).status).toBe('success');
    const { aToken } = await readReserveTokens(client(), m.market.pool, m.usdc);
    expect(
      await chain.client.readContract({
        address: aToken,
        abi: erc20Abi,
        functionName: 'balanceOf',
        args: [guardian().address],
      }),
    ).toBe(amount);
  });

  it('heals a nonce gap with a zero-value transfer to self when the journaled transaction is no longer wanted', async () => {
    await chain.setAutomine(false);
    const n = await nonceOf('pending');
    // Nonce n carried a call that now reverts (freezing an asset that is not a reserve).
    const bogus: PlannedCall = {
      to: m.market.poolConfigurator,
      abi: poolConfiguratorAbi,
      functionName: 'setReserveFreeze',
      args: [guardian().address, true],
      description: 'freeze a non-reserve',
    };
    await journalSigned(n, 'gap-unwanted', bogus, false);
    const freeze = await journalSigned(n + 1, 'gap-freeze-2', freezeReserve(m.market, m.weth), true);
    const restarted = executor();
    const report = restarted.resume!();
    await report;
    await mineToNonce(n + 2);
    expect(await nonceOf()).toBe(n + 2);
    const row = await store.db
      .selectFrom('executor_txs')
      .selectAll()
      .where('nonce', '=', BigInt(n))
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('filled');
    const filler = await getTransaction(client(), { hash: row.hashes[row.hashes.length - 1]! });
    expect([filler.to, filler.value, filler.input, filler.nonce]).toEqual([
      guardian().address.toLowerCase(),
      0n,
      '0x',
      n,
    ]);
    expect((await getTransactionReceipt(client(), { hash: freeze.hashes[0]! })).status).toBe('success');
    expect((await config(m.weth)).isFrozen).toBe(true);
  });

  it('a restarted executor reuses the pending transaction it signed for the action instead of signing a second one', async () => {
    await chain.setAutomine(false);
    const before = await nonceOf('pending');
    const first = executor();
    const pause = plan('restart-pause', [pauseReserve(m.market, m.usdc)]);
    const sent = await first.send(pause, await first.simulate(pause), { baseFeePerGas: null });
    const second = executor(); // the process restarted before the transaction was mined
    const again = await second.send(pause, await second.simulate(pause), { baseFeePerGas: null });
    expect(again.txHashes).toEqual(sent.txHashes);
    expect(await nonceOf('pending')).toBe(before + 1);
    await chain.mine();
    const [a, b] = await Promise.all([sent.receipts, again.receipts]);
    expect(a[0]!.transactionHash).toBe(b[0]!.transactionHash);
    expect(await nonceOf()).toBe(before + 1);
  });

  it('simulates against the pending state: refuses a pause that a pending transaction would make revert', async () => {
    await chain.setAutomine(false);
    const eoa = executor();
    const pause = plan('pending-sim', [pauseReserve(m.market, m.usdc)]);
    expect((await eoa.simulate(pause))[0]).toBeGreaterThan(0n);
    // The ACL admin's pending transaction takes the guardian's EMERGENCY_ADMIN role away.
    const deployer = chain.accounts[0]!;
    await client().writeContract({
      address: m.market.aclManager,
      abi: aclManagerAbi,
      functionName: 'removeEmergencyAdmin',
      args: [guardian().address],
      account: deployer.account,
      chain: chain.chain,
    });
    const error = await eoa.simulate(pause).catch((e: unknown) => e);
    expect(isFirebreakError(error, 'ERR_SIMULATION_FAILED')).toBe(true);
    expect((error as Error).message).toContain('reverted against the pending state');
    // Against the latest block alone it would have passed: the role is still there.
    await chain.mine();
    const latest = await eoa.simulate(pause).catch((e: unknown) => e);
    expect((latest as Error).message).toContain('reverted against the latest block');
  });
  it('signs ahead while simulating: a send of exactly those transactions uses the signatures, any other signs afresh', async () => {
    const signed: Hex[] = [];
    const base = privateKeyToAccount(guardian().privateKey);
    const account = {
      ...base,
      signTransaction: (tx: Parameters<typeof base.signTransaction>[0]) => {
        const s = base.signTransaction(tx);
        void s.then((raw) => signed.push(raw));
        return s;
      },
    } as typeof base;
    const sender = senderOver(client(), account);
    const items = [pauseReserve(m.market, m.usdc), freezeReserve(m.market, m.weth)].map((c) =>
      sendItem(c, 300_000n),
    );
    const pricing = { baseFeePerGas: parseGwei('1') };
    sender.prefetch('ahead');
    sender.presign('ahead', items, pricing);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(signed).toHaveLength(2); // signed ahead, before any send
    const sent = await sender.send('ahead', items, pricing);
    expect(signed).toHaveLength(2); // the send signed nothing more: it used them
    expect(sent.txHashes).toEqual(signed.map((raw) => keccak256(raw)));
    await Promise.all(sent.receipts);
    // Priced differently at send time: nothing signed ahead matches, so the send signs its own.
    sender.prefetch('other');
    sender.presign('other', [sendItem(pauseReserve(m.market, m.weth), 300_000n)], pricing);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const other = await sender.send('other', [sendItem(pauseReserve(m.market, m.weth), 300_000n)], {
      baseFeePerGas: parseGwei('3'),
    });
    expect(signed).toHaveLength(4);
    expect(other.txHashes).toEqual([keccak256(signed[3]!)]);
    expect((await Promise.all(other.receipts))[0]!.status).toBe('success');
  });

  it('reads the pending nonce count before a plain send, and the mined count only where a gap is possible', async () => {
    const { client: counting, asked } = countingClient(chain.provider, client().chain);
    const sender = senderOver(counting, privateKeyToAccount(guardian().privateKey));
    await sender.resume(); // the first use reconciles the journal: both counts, once
    asked.length = 0;
    const sent = await sender.send('plain', [sendItem(pauseReserve(m.market, m.usdc), 300_000n)], {
      baseFeePerGas: parseGwei('1'),
    });
    const broadcast = asked.findIndex((r) => r.method === 'eth_sendRawTransaction');
    expect(broadcast).toBeGreaterThan(0);
    const counts = asked.slice(0, broadcast).filter((r) => r.method === 'eth_getTransactionCount');
    expect(counts.map((r) => r.params[1])).toEqual(['pending']);
    expect((await Promise.all(sent.receipts))[0]!.status).toBe('success');
  });
});
