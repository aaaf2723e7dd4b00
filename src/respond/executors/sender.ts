/**
 * Respond / executors — sending signed transactions for an action, shared by the executors that
 * sign with a key (`eoa`, `guardian-hub`): nonces, fees, replacement, receipts.
 *
 * - Nonces come from the journal (`nonce.ts`), reconciled with the chain's `pending` transaction
 *   count on every send (and its `latest` count when the pending one is below the journal's).
 *   Each transaction is journaled (nonce, action, call, fees, hash) before it is broadcast, so a
 *   restarted process never signs a second transaction for a call of an action it already signed
 *   one for: it reuses (and if needed rebroadcasts) that one.
 * - A nonce gap a crash left (nonce n journaled but never broadcast, n+1 broadcast, so n+1 waits
 *   forever) is healed at the first use and whenever a send finds one: with the journaled
 *   transaction when it is still wanted (it still simulates without a revert), else with a
 *   zero-value transfer to self.
 * - Fees follow `fees.ts`; a transaction not mined within `bumpAfterBlocks` blocks is replaced
 *   (same nonce, both fee fields raised by at least the replacement minimum, capped by
 *   `maxFeeGwei`); when the cap stops a bump, that is logged and reported once per transaction.
 * - Priority mode (`SendContext.followOutbid`): while an action's transactions wait, a pending
 *   transaction bidding above them has them replaced at once (same nonce), priced above it
 *   (`rebidFees`). A fee bump and such a replacement of one transaction run one at a time.
 * - The receipt of whichever version was mined resolves the transaction's promise.
 */
import type { Client, Hex, LocalAccount, TransactionReceipt } from 'viem';
import { formatGwei as gwei, keccak256 } from 'viem';
import {
  call as ethCall,
  getBlock,
  getBlockNumber,
  getTransaction,
  getTransactionCount,
  getTransactionReceipt,
  sendRawTransaction,
} from 'viem/actions';
import { larger } from '../../common/bigint';
import type { Common } from '../../common/common';
import { describeError, FirebreakError } from '../../common/errors';
import { bumpedFees, type FeePolicy, type Fees, initialFees, outbids, rebidFees } from './fees';
import { callKey, type ExecutorTx, type TxJournal } from './nonce';
import type { SendContext, SendProgress } from './types';

export interface SenderOptions {
  client: Client;
  chainId: number;
  account: LocalAccount;
  journal: TxJournal;
  policy: FeePolicy;
  /** Replace a transaction not mined after this many blocks. */
  bumpAfterBlocks: number;
  /** How often to look for receipts and new blocks. */
  receiptPollMs: number;
  /** Give up waiting for a receipt after this long (default 10 minutes). */
  receiptTimeoutMs?: number;
  /** The executor's id, for logs. */
  label: string;
  common: Common;
}

/** One transaction to send: an encoded call and its gas limit. */
export interface SendItem {
  to: Hex;
  data: Hex;
  gas: bigint;
  description: string;
}

export interface SendResult {
  /** Per item, in order: the hash standing for it right after the send. */
  txHashes: Hex[];
  /** Per item: the receipt of whichever version was mined (reverted ones included: the caller judges the status). */
  receipts: Promise<TransactionReceipt>[];
  /** Every hash of the action's transactions so far, replacements included. */
  allTxHashes(): Hex[];
  /** Per item: whether it reused a transaction signed before (by this process or an earlier one). */
  reused: boolean[];
  /** Set when priority mode could not outbid within the fee cap. */
  capped?: string;
}

/** What reconciling the journal with the chain did. */
export interface HealReport {
  /** Nonces whose journaled transaction was broadcast again (it was not known to the node). */
  rebroadcast: number[];
  /** Nonces filled with a zero-value transfer to self. */
  filled: number[];
  /** Nonces found pending in the node and watched again. */
  watched: number[];
}

export interface Sender {
  readonly address: Hex;
  /** Reconciles the journal with the chain, once per process (later calls return the same result). */
  resume(): Promise<HealReport>;
  /**
   * Starts the reads `send` begins with (the action's journal rows, the pending nonce count)
   * while the caller simulates; a `send` for the action within a few seconds uses them.
   */
  prefetch(actionId: string): void;
  /**
   * Signs ahead, while the caller simulates, the transactions `send` will sign for these items
   * (after `prefetch` of the action: its nonces come from those reads). Nothing is journaled or
   * broadcast: a `send` whose transaction is exactly one signed ahead (nonce, call, gas, fees) uses
   * that signature instead of signing again, and any other is signed as usual.
   */
  presign(
    actionId: string,
    items: readonly SendItem[],
    ctx: Pick<SendContext, 'baseFeePerGas' | 'outbid'>,
  ): void;
  send(actionId: string, items: readonly SendItem[], ctx: SendContext): Promise<SendResult>;
  /**
   * The action's journaled transaction to `to` that is still pending (sent before a restart, not
   * mined yet), if any: `send` follows it rather than signing another. An executor whose contract
   * would refuse a second one against the pending state (a Safe's spent nonce, a scheduled timelock
   * operation) asks this before estimating.
   */
  pendingTo(actionId: string, to: Hex): Promise<ExecutorTx | undefined>;
}

const DEFAULT_RECEIPT_TIMEOUT_MS = 600_000;
/** Tries to reprice a broadcast the node refused as underpriced, before giving up. */
const MAX_REPRICES = 4;
const SELF_TRANSFER_GAS = 21_000n;

interface Watch {
  tx: ExecutorTx;
  receipt: Promise<TransactionReceipt>;
  listeners: Set<(event: SendProgress) => void>;
  /** Replacements of the transaction, one at a time: a fee bump and a rebid never race for it. */
  turn: Promise<unknown>;
  /** The version (count of hashes) the cap left no room to replace for a bid: reported once. */
  cappedRebid?: number;
}

export function createSender(options: SenderOptions): Sender {
  const { client, chainId, account, journal, policy, common } = options;
  const address = account.address.toLowerCase() as Hex;
  const logger = common.logger.child({ module: 'sender', executor: options.label, address: account.address });
  const timeoutMs = options.receiptTimeoutMs ?? DEFAULT_RECEIPT_TIMEOUT_MS;
  const watches = new Map<number, Watch>();
  /** The highest nonce journaled (null: none), read from the journal at the first reconcile. */
  let top: number | null = null;
  let ready: Promise<HealReport> | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after every earlier locked call: nonce assignment is one at a time. */
  const locked = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  const count = (blockTag: 'latest' | 'pending') =>
    getTransactionCount(client, { address: account.address, blockTag });

  const baseFee = async (): Promise<bigint | null> =>
    (await getBlock(client, { blockTag: 'latest' })).baseFeePerGas ?? null;

  /** Signatures made ahead by `presign`, by the signed fields; each is used once. */
  const signedAhead = new Map<string, Promise<Hex>>();
  const signedFields = (tx: ExecutorTx) =>
    `${tx.nonce}|${tx.to.toLowerCase()}|${tx.data}|${tx.value}|${tx.gas}|${tx.maxFeePerGas}|${tx.maxPriorityFeePerGas}`;
  const sign = (tx: ExecutorTx): Promise<Hex> => {
    const key = signedFields(tx);
    const ahead = signedAhead.get(key);
    if (ahead) {
      signedAhead.delete(key);
      return ahead.catch(() => signNow(tx));
    }
    return signNow(tx);
  };
  const signNow = (tx: ExecutorTx): Promise<Hex> =>
    account.signTransaction({
      type: 'eip1559',
      chainId,
      nonce: tx.nonce,
      to: tx.to,
      data: tx.data,
      value: tx.value,
      gas: tx.gas,
      maxFeePerGas: tx.maxFeePerGas,
      maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
    });

  const now = () => common.clock.now();
  const feesOf = (tx: ExecutorTx): Fees => ({
    maxFeePerGas: tx.maxFeePerGas,
    maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
  });

  /**
   * Broadcasts a signed transaction. A node that already has it is fine; one that refuses it as
   * underpriced gets it repriced (a new version, journaled first) a few times.
   */
  const broadcast = async (tx: ExecutorTx, serialized: Hex): Promise<void> => {
    let raw = serialized;
    for (let attempt = 0; ; attempt++) {
      try {
        await sendRawTransaction(client, { serializedTransaction: raw });
        return;
      } catch (error) {
        const text = describeError(error);
        if (/already known|already imported|known transaction/i.test(text)) return;
        if (
          attempt >= MAX_REPRICES ||
          !/underpriced|too low|less than (the )?block base fee|fee cap/i.test(text)
        )
          throw error;
        const next = bumpedFees(policy, feesOf(tx), await baseFee());
        if ('capped' in next) throw error;
        logger.warn(
          { nonce: tx.nonce, err: text },
          'the node refused the transaction as underpriced: repricing',
        );
        Object.assign(tx, next.fees);
        raw = await sign(tx);
        tx.hashes.push(keccak256(raw));
        tx.updatedAt = now();
        await journal.put([tx]);
      }
    }
  };

  /** Is any version of the transaction known to the node (pending in its pool, or mined)? */
  const known = async (tx: ExecutorTx): Promise<boolean> => {
    for (const hash of [...tx.hashes].reverse()) {
      const found = await getTransaction(client, { hash }).catch(() => null);
      if (found) return true;
    }
    return false;
  };

  /** The receipt of any version of the transaction, newest first. */
  const findReceipt = async (tx: ExecutorTx): Promise<TransactionReceipt | null> => {
    for (const hash of [...tx.hashes].reverse()) {
      const receipt = await getTransactionReceipt(client, { hash }).catch(() => null);
      if (receipt) return receipt;
    }
    return null;
  };

  /** Journals a mined (or superseded) transaction as settled. */
  const settle = async (tx: ExecutorTx, receipt: TransactionReceipt | null) => {
    tx.status = receipt ? (tx.status === 'filled' ? 'filled' : 'mined') : 'superseded';
    tx.minedHash = receipt?.transactionHash ?? null;
    tx.updatedAt = now();
    await journal
      .put([tx])
      .catch((error) =>
        logger.warn({ nonce: tx.nonce, err: describeError(error) }, 'journaling a mined transaction failed'),
      );
  };

  const emit = (w: Watch, event: SendProgress) => {
    for (const listener of w.listeners) {
      try {
        listener(event);
      } catch (error) {
        logger.warn({ err: describeError(error) }, 'a send progress listener threw');
      }
    }
  };

  /** Runs `fn` after every earlier replacement of `w`'s transaction. */
  const inTurn = <T>(w: Watch, fn: () => Promise<T>): Promise<T> => {
    const run = w.turn.then(fn, fn);
    w.turn = run.catch(() => undefined);
    return run;
  };

  /**
   * A new version of `w`'s transaction at `fees` (same nonce), journaled, broadcast and told to
   * the listeners as `why` ("not mined after 3 blocks"); `note` is appended to the summary.
   */
  const reprice = async (w: Watch, fees: Fees, base: bigint | null, why: string, note = '') => {
    const { tx } = w;
    const before = feesOf(tx);
    const old = tx.hashes[tx.hashes.length - 1]!;
    Object.assign(tx, fees);
    const raw = await sign(tx);
    const hash = keccak256(raw);
    tx.hashes.push(hash);
    tx.updatedAt = now();
    await journal.put([tx]);
    try {
      await broadcast(tx, raw);
    } catch (error) {
      // A replacement the node refuses (the original was mined meanwhile: nonce too low) is not a
      // failure: the next poll finds the receipt.
      logger.warn({ nonce: tx.nonce, err: describeError(error) }, 'broadcasting a replacement failed');
    }
    const summary = `nonce ${tx.nonce} ${why}: replaced ${old} with ${tx.hashes[tx.hashes.length - 1]} (fee cap ${gwei(before.maxFeePerGas)} → ${gwei(tx.maxFeePerGas)} gwei, tip ${gwei(before.maxPriorityFeePerGas)} → ${gwei(tx.maxPriorityFeePerGas)} gwei)${note}`;
    logger.info({ nonce: tx.nonce, from: old, to: hash }, summary);
    emit(w, {
      type: 'replaced',
      summary,
      nonce: tx.nonce,
      txHash: tx.hashes[tx.hashes.length - 1]!,
      details: { replaced: old, ...feeDetails(tx, base) },
    });
  };

  /** Replaces a transaction that was not mined in time: same nonce, higher fees. False when the cap stopped it. */
  const replace = async (w: Watch, blocks: bigint): Promise<boolean> => {
    const { tx } = w;
    const base = await baseFee();
    const next = bumpedFees(policy, feesOf(tx), base);
    if ('capped' in next) {
      const old = tx.hashes[tx.hashes.length - 1]!;
      const summary = `nonce ${tx.nonce} (${old}) not mined after ${blocks} blocks and not replaced: ${next.capped}`;
      logger.warn({ nonce: tx.nonce, hash: old }, summary);
      emit(w, { type: 'fee-capped', summary, nonce: tx.nonce, txHash: old, details: feeDetails(tx, base) });
      return false;
    }
    await reprice(w, next.fees, base, `not mined after ${blocks} blocks`);
    return true;
  };

  /**
   * Priority mode: replaces a waiting transaction that `bid` (a pending transaction seen since the
   * send) now bids above, priced above it; nothing when it still beats the bid or is settled.
   */
  const rebid = async (w: Watch, bid: Fees) => {
    const { tx } = w;
    if (tx.status !== 'pending' || outbids(feesOf(tx), bid)) return;
    const base = await baseFee();
    if (tx.status !== 'pending') return;
    const next = rebidFees(policy, feesOf(tx), base, bid);
    const why = `outbid by a pending transaction (fee cap ${gwei(bid.maxFeePerGas)} gwei, tip ${gwei(bid.maxPriorityFeePerGas)} gwei)`;
    if (!('fees' in next)) {
      // No bid changes that (the room depends on this version's fees and the cap): said once.
      if (w.cappedRebid === tx.hashes.length) return;
      w.cappedRebid = tx.hashes.length;
      const old = tx.hashes[tx.hashes.length - 1]!;
      const summary = `nonce ${tx.nonce} (${old}) ${why} and not replaced: ${next.capped}`;
      logger.warn({ nonce: tx.nonce, hash: old }, summary);
      emit(w, { type: 'fee-capped', summary, nonce: tx.nonce, txHash: old, details: feeDetails(tx, base) });
      return;
    }
    if (next.capped) logger.warn({ nonce: tx.nonce }, next.capped);
    await reprice(w, next.fees, base, why, next.capped ? `; ${next.capped}` : '');
  };

  /** Follows a transaction until a version of it is mined (or its nonce is taken by another transaction). */
  const follow = async (w: Watch): Promise<TransactionReceipt> => {
    const { tx } = w;
    const deadline = common.clock.monotonic() + timeoutMs;
    let seen = -1n;
    let since: bigint | undefined;
    let cappedAt = -1;
    for (;;) {
      const head = await getBlockNumber(client, { cacheTime: 0 }).catch(() => null);
      if (head === null && common.signal.aborted) {
        throw new FirebreakError(
          'ERR_TX_FAILED',
          `stopped before transaction ${tx.hashes[tx.hashes.length - 1]} (nonce ${tx.nonce}) was seen mined`,
          { retryable: true, details: { nonce: tx.nonce, hashes: tx.hashes } },
        );
      }
      if (head !== null && head !== seen) {
        seen = head;
        since ??= head;
        const receipt = await findReceipt(tx);
        if (receipt) {
          await settle(tx, receipt);
          return receipt;
        }
        const mined = await count('latest').catch(() => null);
        if (mined !== null && mined > tx.nonce) {
          // Taken by another transaction, unless a version was mined between the two reads.
          const late = await findReceipt(tx);
          await settle(tx, late);
          if (late) return late;
          throw new FirebreakError(
            'ERR_TX_FAILED',
            `nonce ${tx.nonce} of ${account.address} was used by another transaction: none of ${tx.hashes.join(', ')} was mined`,
            { details: { nonce: tx.nonce, hashes: tx.hashes } },
          );
        }
        const waited = head - since;
        if (
          !common.signal.aborted &&
          waited >= BigInt(options.bumpAfterBlocks) &&
          cappedAt !== tx.hashes.length
        ) {
          try {
            if (await inTurn(w, () => replace(w, waited))) since = head;
            else cappedAt = tx.hashes.length; // reported once; bumped again only if something changes
          } catch (error) {
            logger.warn(
              { nonce: tx.nonce, err: describeError(error) },
              'replacing a stuck transaction failed',
            );
          }
        }
      }
      if (common.clock.monotonic() > deadline) {
        throw new FirebreakError(
          'ERR_TX_FAILED',
          `transaction ${tx.hashes[tx.hashes.length - 1]} (nonce ${tx.nonce}) was not mined within ${Math.round(timeoutMs / 1000)} s`,
          { retryable: true, details: { nonce: tx.nonce, hashes: tx.hashes } },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, options.receiptPollMs));
    }
  };

  const watch = (tx: ExecutorTx, listener?: (event: SendProgress) => void): Watch => {
    let w = watches.get(tx.nonce);
    if (!w) {
      const created: Watch = {
        tx,
        listeners: new Set(),
        receipt: Promise.resolve() as never,
        turn: Promise.resolve(),
      };
      created.receipt = follow(created).finally(() => {
        if (watches.get(tx.nonce) === created) watches.delete(tx.nonce);
      });
      created.receipt.catch(() => undefined); // the caller handles it
      watches.set(tx.nonce, created);
      w = created;
    }
    if (listener) w.listeners.add(listener);
    return w;
  };

  /**
   * Is a journaled action transaction still worth sending (it simulates without a revert)? Against
   * the latest state, else the pending one: a call that needs an earlier call of its plan (a
   * router's `removeLiquidity` after the `approve` rebroadcast just before it) succeeds only there.
   */
  const stillWanted = async (tx: ExecutorTx): Promise<boolean> => {
    if (tx.actionId === null) return false;
    for (const blockTag of ['latest', 'pending'] as const) {
      try {
        await ethCall(client, { account: account.address, to: tx.to, data: tx.data, blockTag });
        return true;
      } catch {
        // not wanted in this state; try the next
      }
    }
    return false;
  };

  /** Broadcasts a journaled transaction the node does not know, repriced for the current base fee. */
  const rebroadcast = async (tx: ExecutorTx) => {
    const fresh = initialFees(policy, await baseFee()).fees;
    if (fresh.maxFeePerGas > tx.maxFeePerGas || fresh.maxPriorityFeePerGas > tx.maxPriorityFeePerGas) {
      tx.maxFeePerGas = larger(tx.maxFeePerGas, fresh.maxFeePerGas);
      tx.maxPriorityFeePerGas = larger(tx.maxPriorityFeePerGas, fresh.maxPriorityFeePerGas);
    }
    const raw = await sign(tx);
    const hash = keccak256(raw);
    if (tx.hashes[tx.hashes.length - 1] !== hash) {
      tx.hashes.push(hash);
      tx.updatedAt = now();
      await journal.put([tx]);
    }
    await broadcast(tx, raw);
  };

  /** Takes nonce `nonce` with a zero-value transfer to self (the journaled transaction, if any, is not wanted). */
  const fill = async (nonce: number, abandoned: ExecutorTx | undefined) => {
    const fees = initialFees(policy, await baseFee()).fees;
    const tx: ExecutorTx = {
      chainId,
      address,
      nonce,
      actionId: abandoned?.actionId ?? null,
      callKey: abandoned?.callKey ?? null,
      to: account.address,
      data: '0x',
      value: 0n,
      gas: SELF_TRANSFER_GAS,
      ...fees,
      hashes: [],
      status: 'filled',
      minedHash: null,
      createdAt: abandoned?.createdAt ?? now(),
      updatedAt: now(),
    };
    const raw = await sign(tx);
    tx.hashes.push(keccak256(raw));
    await journal.put([tx]);
    await broadcast(tx, raw);
    return tx;
  };

  /**
   * Reconciles the journal with the chain: settles what was mined meanwhile, watches what the node
   * still holds, and heals every gap between the mined count and the highest journaled nonce.
   */
  const heal = async (): Promise<HealReport> => {
    const report: HealReport = { rebroadcast: [], filled: [], watched: [] };
    const [latest, pending, journaled, highest] = await Promise.all([
      count('latest'),
      count('pending'),
      journal.pending(chainId, address),
      journal.maxNonce(chainId, address),
    ]);
    if (highest !== null && (top === null || highest > top)) top = highest;
    const open = new Map(journaled.map((tx) => [tx.nonce, tx]));
    for (const tx of journaled) {
      if (tx.nonce >= latest || watches.has(tx.nonce)) continue;
      await settle(tx, await findReceipt(tx)); // mined (or superseded) while no process watched it
    }
    if (top === null) return report;
    for (let nonce = latest; nonce <= top; nonce++) {
      if (watches.has(nonce)) continue; // in flight in this process
      const tx = open.get(nonce);
      if (tx && (await known(tx))) {
        watch(tx);
        report.watched.push(nonce);
        continue;
      }
      if (!tx && nonce < pending) continue; // another transaction of this key holds it in the pool
      if (tx && (await stillWanted(tx))) {
        await rebroadcast(tx);
        watch(tx);
        report.rebroadcast.push(nonce);
        logger.warn(
          { nonce, action: tx.actionId },
          'nonce gap healed: the journaled transaction was broadcast again',
        );
      } else {
        watch(await fill(nonce, tx));
        report.filled.push(nonce);
        logger.warn(
          { nonce, action: tx?.actionId ?? null },
          'nonce gap healed with a zero-value transfer to self',
        );
      }
    }
    return report;
  };

  const resume = (): Promise<HealReport> => {
    ready ??= locked(heal).catch((error) => {
      ready = undefined; // try again at the next use
      throw error;
    });
    return ready;
  };

  type Opening = [ExecutorTx[], number];
  /** Reads started by `prefetch`, by action id, with when they started. */
  const prefetched = new Map<string, { at: number; reads: Promise<Opening> }>();
  // The mined count is needed only to tell a gap (see `gapUnder`): it is read then, not here.
  const openingReads = (actionId: string): Promise<Opening> =>
    Promise.all([journal.forAction(chainId, address, actionId), count('pending')]);
  /**
   * Whether a journaled nonce under the next one is missing from the node (lost, or never got
   * there): possible only when the pending count is below this process's highest nonce, so the
   * mined count is asked for only then.
   */
  const gapUnder = async (pending: number) =>
    top !== null && top + 1 > pending && top >= (await count('latest'));
  const PREFETCH_TTL_MS = 3_000;

  const prefetch = (actionId: string) => {
    const reads = openingReads(actionId);
    reads.catch(() => undefined);
    prefetched.set(actionId, { at: performance.now(), reads });
  };

  /** A new transaction for one call of an action, not signed yet. */
  const actionTx = (actionId: string, item: SendItem, nonce: number, fees: Fees, at: number): ExecutorTx => ({
    chainId,
    address,
    nonce,
    actionId,
    callKey: callKey(item),
    to: item.to,
    data: item.data,
    value: 0n,
    gas: item.gas,
    ...fees,
    hashes: [],
    status: 'pending',
    minedHash: null,
    createdAt: at,
    updatedAt: at,
  });

  const presign: Sender['presign'] = (actionId, items, ctx) => {
    const early = prefetched.get(actionId);
    if (!early) return;
    void (async () => {
      const [previous, pending] = await early.reads;
      // Only the plain case: nothing of this action signed before, and no nonce of this process
      // missing from the pending count (a gap `send` may have to heal).
      if (previous.some((tx) => tx.status === 'pending' || tx.status === 'mined')) return;
      if (top !== null && top + 1 > pending) return;
      let next = Math.max(pending, top === null ? 0 : top + 1);
      const { fees } = initialFees(policy, ctx.baseFeePerGas, ctx.outbid);
      if (signedAhead.size > 64) signedAhead.clear(); // ahead of sends that never came
      for (const item of items) {
        const tx = actionTx(actionId, item, next++, fees, 0);
        const signature = signNow(tx);
        signature.catch(() => undefined); // `send` signs again if this failed
        signedAhead.set(signedFields(tx), signature);
      }
    })().catch(() => undefined);
  };

  const send = async (
    actionId: string,
    items: readonly SendItem[],
    ctx: SendContext,
  ): Promise<SendResult> => {
    await resume();
    const early = prefetched.get(actionId);
    prefetched.delete(actionId);
    return locked(async () => {
      const listener = ctx.onProgress?.bind(ctx);
      // The journal and the pending count at once (the count is needed unless every call reuses a
      // transaction); started during the simulation when the executor prefetched them. A count
      // read a moment early is safe: this process's own transactions are counted by `top`.
      const [previous, pendingCount] =
        early && performance.now() - early.at < PREFETCH_TTL_MS
          ? await early.reads.catch(() => openingReads(actionId))
          : await openingReads(actionId);
      // A call of this action signed before (by this process or one that crashed) is never signed
      // under a second nonce: that transaction stands for it.
      const usable = new Map<string, ExecutorTx>();
      for (const tx of previous) {
        if ((tx.status === 'pending' || tx.status === 'mined') && tx.callKey) usable.set(tx.callKey, tx);
      }
      const chosen: { tx: ExecutorTx; reused: boolean; raw?: Hex }[] = [];
      const fresh: ExecutorTx[] = [];
      let capped: string | undefined;
      const needNew = items.filter((item) => !usable.has(callKey(item)));
      let next = 0;
      let fees: Fees = { maxFeePerGas: 0n, maxPriorityFeePerGas: 0n };
      if (needNew.length > 0) {
        let pending = pendingCount;
        if (await gapUnder(pending)) {
          // A gap under the next nonce (a journaled transaction the node lost or never got).
          const healed = await heal();
          if (healed.filled.length + healed.rebroadcast.length > 0) pending = await count('pending');
        }
        next = Math.max(pending, top === null ? 0 : top + 1);
        const priced = initialFees(policy, ctx.baseFeePerGas, ctx.outbid);
        fees = priced.fees;
        if (priced.capped) {
          capped = priced.capped;
          logger.warn({ action: actionId }, priced.capped);
        }
      }
      const at = now();
      for (const item of items) {
        const key = callKey(item);
        const old = usable.get(key);
        if (old) {
          // The live object when this process already follows it (its hashes include replacements).
          chosen.push({ tx: watches.get(old.nonce)?.tx ?? old, reused: true });
          usable.delete(key);
          continue;
        }
        const tx = actionTx(actionId, item, next++, fees, at);
        const raw = await sign(tx);
        tx.hashes.push(keccak256(raw));
        fresh.push(tx);
        chosen.push({ tx, reused: false, raw });
      }
      // Journaled before the broadcast: a crash after this line leaves a transaction a restart reuses.
      await journal.put(fresh);
      if (fresh.length > 0) top = Math.max(top ?? -1, ...fresh.map((tx) => tx.nonce));
      for (const c of chosen) {
        if (c.raw) {
          try {
            await broadcast(c.tx, c.raw);
          } catch (error) {
            throw new FirebreakError(
              'ERR_TX_FAILED',
              `broadcasting nonce ${c.tx.nonce} from ${account.address} failed: ${firstLineOf(error)}`,
              { cause: error, retryable: true, details: { nonce: c.tx.nonce, action: actionId } },
            );
          }
        } else if (c.tx.status === 'pending' && !watches.has(c.tx.nonce) && !(await known(c.tx))) {
          await rebroadcast(c.tx);
          const summary = `nonce ${c.tx.nonce}: the transaction signed for this call before a restart was not known to the node; broadcast again as ${c.tx.hashes[c.tx.hashes.length - 1]}`;
          logger.warn({ nonce: c.tx.nonce, action: actionId }, summary);
          listener?.({
            type: 'rebroadcast',
            summary,
            nonce: c.tx.nonce,
            txHash: c.tx.hashes[c.tx.hashes.length - 1]!,
            details: { hashes: [...c.tx.hashes] },
          });
        }
      }
      // The action's other transactions still open (a call the plan no longer needs: it is mined or about to be).
      const others = [...usable.values()].map((tx) => watches.get(tx.nonce)?.tx ?? tx);
      const all = [...chosen.map((c) => c.tx), ...others].sort((a, b) => a.nonce - b.nonce);
      const receiptOf = (tx: ExecutorTx): Promise<TransactionReceipt> => {
        if (tx.status === 'mined' && tx.minedHash)
          return getTransactionReceipt(client, { hash: tx.minedHash });
        return watch(tx, listener).receipt;
      };
      for (const tx of others) receiptOf(tx).catch(() => undefined);
      const receipts = chosen.map((c) => receiptOf(c.tx));
      for (const r of receipts) r.catch(() => undefined);
      if (ctx.followOutbid) followOutbid(actionId, all, ctx.followOutbid);
      const result: SendResult = {
        txHashes: chosen.map((c) => c.tx.hashes[c.tx.hashes.length - 1]!),
        receipts,
        reused: chosen.map((c) => c.reused),
        allTxHashes: () => all.flatMap((tx) => tx.hashes),
      };
      if (capped) result.capped = capped;
      return result;
    });
  };

  /**
   * Priority mode after the send: each higher bid the feed tells of has the action's waiting
   * transactions replaced above it, one replacement at a time per transaction, until all are settled.
   */
  const followOutbid = (
    actionId: string,
    txs: readonly ExecutorTx[],
    subscribe: NonNullable<SendContext['followOutbid']>,
  ) => {
    const open = txs
      .map((tx) => watches.get(tx.nonce))
      .filter((w): w is Watch => w !== undefined && w.tx.actionId === actionId && w.tx.status === 'pending');
    if (open.length === 0) return;
    const stop = subscribe((bid) => {
      for (const w of open) {
        if (w.tx.status !== 'pending') continue;
        inTurn(w, () => rebid(w, bid)).catch((error) =>
          logger.warn(
            { nonce: w.tx.nonce, err: describeError(error) },
            'replacing a transaction to outbid a pending one failed',
          ),
        );
      }
    });
    void Promise.allSettled(open.map((w) => w.receipt)).then(stop);
  };

  const pendingTo = async (actionId: string, to: Hex) =>
    (await journal.forAction(chainId, address, actionId)).find(
      (tx) => tx.status === 'pending' && tx.to.toLowerCase() === to.toLowerCase(),
    );

  return { address: account.address, resume, prefetch, presign, send, pendingTo };
}

function feeDetails(tx: ExecutorTx, baseFee: bigint | null): Record<string, unknown> {
  return {
    nonce: tx.nonce,
    hashes: [...tx.hashes],
    maxFeePerGas: tx.maxFeePerGas.toString(),
    maxPriorityFeePerGas: tx.maxPriorityFeePerGas.toString(),
    baseFeePerGas: baseFee?.toString() ?? null,
  };
}

function firstLineOf(error: unknown): string {
  return describeError(error).split('\n')[0] ?? 'unknown error';
}
