/**
 * Engine — priority mode's feed: for each chain configured with `mempool: true`, its pending
 * transactions followed into a book (respond/priority.ts), and the price a plan must beat.
 *
 * The book is filled in the background: over the chain's own socket for pending transactions
 * (`ws` configured), else a provider that pushes (the embedded chain's), else a pending-transaction
 * filter polled over the chain's client. Each block's own transactions leave it as soon as the
 * block is seen (one `eth_getBlockByHash` per block, started with the block's processing and not
 * awaited by it): a response to a block does not outbid what that block already mined, unless the
 * read is slower than the response (a slow endpoint), and then only pays more than it needed to.
 * After the send, the book tells the sender of each higher bid while its transactions wait
 * (`followOutbid`).
 */
import type { Client, EIP1193Provider, Hex } from 'viem';
import { getBlock } from 'viem/actions';
import { createMempoolSource, type OpenPushProvider, type PushProvider } from '../chain/mempool';
import type { Common } from '../common/common';
import { describeError } from '../common/errors';
import type { FirebreakConfig } from '../config/schema';
import type { BlockEvent } from '../detectors/types';
import type { AaveMarketAddresses } from '../protocols/aave-v3/market';
import type { Executor, SendContext } from '../respond/executors/types';
import type { Decision } from '../respond/playbooks';
import {
  createPendingBook,
  followMempool,
  type Outbid,
  outbidRule,
  type PendingBook,
  pickOutbid,
  watchOutbid,
} from '../respond/priority';
import type { ActionPlan } from '../respond/types';

export interface PriorityFeeds {
  /** The pending transactions `plan` must beat and their price; undefined without a feed or a match. */
  outbid(plan: ActionPlan, decision: Decision): Outbid | undefined;
  /** After the send: follows the price `plan` must beat while its transactions wait; undefined without a feed. */
  followOutbid(plan: ActionPlan, decision: Decision): SendContext['followOutbid'];
  /** A block is being processed: its transactions leave the book once read (not awaited). */
  blockSeen(chainName: string, event: BlockEvent): void;
  /** Pending transactions held, by chain id (for tests and status). */
  held(chainId: number): number;
}

export interface PriorityFeedDeps {
  config: FirebreakConfig;
  /** The engine's chains, by name (`EngineChain`); one replayed from a recording (`source`) has no mempool. */
  chains: ReadonlyMap<
    string,
    {
      client: Client;
      provider?: EIP1193Provider;
      mempool?: PushProvider;
      reopenMempool?: OpenPushProvider;
      source?: unknown;
    }
  >;
  markets: ReadonlyMap<string, AaveMarketAddresses>;
  executors: ReadonlyMap<string, Executor>;
  /** With the engine's stop signal: the sources end with it. */
  common: Common;
}

/** A provider that pushes subscription messages (the embedded chain's, a WebSocket one). */
const pushes = (provider: EIP1193Provider | undefined): provider is EIP1193Provider & PushProvider =>
  provider !== undefined && typeof (provider as { on?: unknown }).on === 'function';

export function createPriorityFeeds(deps: PriorityFeedDeps): PriorityFeeds {
  const { config, common } = deps;
  const books = new Map<number, PendingBook>();
  const protect = new Map<number, Hex[]>();
  const own = new Map<number, Hex[]>();
  const idOf = new Map(config.chains.map((c) => [c.name, c.id]));

  for (const c of config.chains) {
    const chain = deps.chains.get(c.name);
    if (!c.mempool || !chain || chain.source) continue;
    // A socket of its own (`ws`), else the chain's pushing provider, else a filter over `client`.
    const push = chain.mempool ?? (pushes(chain.provider) ? chain.provider : undefined);
    const source = createMempoolSource({
      client: chain.client,
      ...(push ? { provider: push } : {}),
      ...(chain.reopenMempool ? { reopen: chain.reopenMempool } : {}),
      chainId: c.id,
      common,
      pollIntervalMs: c.pollIntervalMs,
    });
    const book = createPendingBook({ clock: common.clock });
    books.set(c.id, book);
    void followMempool(source, book, common.logger.child({ chain: c.name }));
  }
  for (const m of config.markets) {
    const chainId = idOf.get(m.chain);
    const resolved = deps.markets.get(m.id);
    if (chainId === undefined || !resolved) continue;
    const list = protect.get(chainId) ?? [];
    list.push(resolved.pool, resolved.poolConfigurator, resolved.oracle, resolved.addressesProvider);
    protect.set(chainId, list);
  }
  for (const e of config.executors) {
    const chainId = idOf.get(e.chain);
    const executor = deps.executors.get(e.id);
    if (chainId === undefined || !executor) continue;
    own.set(chainId, [...(own.get(chainId) ?? []), executor.address]);
  }

  const ruleFor = (plan: ActionPlan, decision: Decision) =>
    outbidRule(plan, [decision.result.finding], protect.get(plan.chainId) ?? [], own.get(plan.chainId) ?? []);

  return {
    outbid(plan, decision) {
      const book = books.get(plan.chainId);
      if (!book || book.size === 0) return undefined;
      const rule = ruleFor(plan, decision);
      return pickOutbid(book.touching(rule.to, rule.from), rule);
    },
    followOutbid(plan, decision) {
      const book = books.get(plan.chainId);
      if (!book) return undefined;
      const rule = ruleFor(plan, decision);
      return (listener) => watchOutbid(book, rule, listener);
    },
    blockSeen(chainName, event) {
      const book = books.get(event.chainId);
      const chain = deps.chains.get(chainName);
      if (!book || !chain) return;
      getBlock(chain.client, { blockHash: event.block.hash }).then(
        (block) => book.mined(block.transactions),
        (error) =>
          common.logger.debug(
            { chain: chainName, block: event.block.number.toString(), err: describeError(error) },
            "mempool: reading the block's transactions failed; they leave the book when they expire",
          ),
      );
    },
    held: (chainId) => books.get(chainId)?.size ?? 0,
  };
}
