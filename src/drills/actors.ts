/**
 * Drills — actors: the scenario's accounts acting on the chain.
 *
 * An actor prepares its transactions for the next block while the current one is being built,
 * reading the pending state (what the chain will be once the mempool is mined), and signs them
 * with explicit nonce, gas and fees; it broadcasts them the instant the current block appears, as
 * a bot watching the chain would. The block builder then orders the mempool by tip, so the
 * engine's transactions must outbid these to land first.
 */
import { type Abi, type Hex, parseGwei } from 'viem';
import { getBlock, getTransactionCount, readContract, sendRawTransaction } from 'viem/actions';
import type { EmbeddedChain, FundedAccount } from '../chain/embedded';
import { signCall, signData } from '../chain/transactions';
import { larger } from '../common/bigint';
import { aaveOracleAbi, erc20Abi, poolAbi } from '../protocols/aave-v3/abi';
import { DEFAULT_SWAP_GAS, type PairState, planSwapExactIn, readPair } from '../protocols/uniswap-v2/pool';
import type { Bot, BotCall } from './bots/types';
import { buildCall, type DeployedNames } from './custom-call';
import { extraStepCalls } from './extras';
import { flashLoanCalls } from './flash-loan';
import { type DrillMarket, erc4626Abi, toPrice, toUnits } from './market';
import type { DrillStep, Scenario } from './scenario';

const twapAbi = [
  { type: 'function', name: 'update', stateMutability: 'nonpayable', inputs: [], outputs: [] },
] as const;
const feedAbi = [
  {
    type: 'function',
    name: 'setAnswer',
    stateMutability: 'nonpayable',
    inputs: [{ type: 'int256' }],
    outputs: [],
  },
] as const;

/** A step's signed transactions, ready to broadcast. */
export interface PreparedStep {
  step: DrillStep;
  index: number;
  signed: Hex[];
  /** Why the step sends nothing (e.g. no borrowing capacity left), if it does not. */
  skipped?: string;
}

export interface SubmittedStep {
  step: DrillStep;
  index: number;
  txHashes: Hex[];
  skipped?: string;
}

interface Call {
  to: Hex;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
  gas: bigint;
}

export interface Actors {
  /** Prepares and signs one block's steps against the pending state. */
  prepare(steps: readonly { step: DrillStep; index: number }[]): Promise<PreparedStep[]>;
  /** Asks every bot for its calls for the block at `offset` and signs them. */
  prepareBots(offset: number, random: (bot: Bot) => () => number): Promise<PreparedBotCalls[]>;
  /** Sends prepared transactions into the mempool. */
  broadcast(prepared: readonly PreparedStep[]): Promise<SubmittedStep[]>;
  /** Sends bots' transactions into the mempool. */
  broadcastBots(prepared: readonly PreparedBotCalls[]): Promise<SubmittedBotCalls[]>;
  /**
   * Attackers answering an outbid (`chain.attackerRebidGwei`): each transaction of `steps` still
   * waiting is replaced (same nonce, call and gas) tipping `tip`, when a transaction of neither a
   * scenario actor nor a bot (the guardian's, say) waits with a tip at least its own. The steps'
   * hashes follow the replacements. Returns the transactions that outbid them (sender and nonce),
   * none when nothing was replaced.
   */
  rebid(steps: readonly SubmittedStep[], tip: bigint): Promise<TxSlot[]>;
  /** Whether each of `slots` (sender and nonce) has a transaction waiting that tips above `tip`. */
  waitingAbove(slots: readonly TxSlot[], tip: bigint): Promise<boolean>;
}

/** A sender's nonce: a transaction and every replacement of it. */
export interface TxSlot {
  from: Hex;
  nonce: number;
}

const slotKey = (s: TxSlot) => `${s.from.toLowerCase()}:${s.nonce}`;
/** What a pending transaction tips (a legacy one: its gas price). */
const tipOf = (tx: { maxPriorityFeePerGas?: bigint | undefined; gasPrice?: bigint | undefined }) =>
  tx.maxPriorityFeePerGas ?? tx.gasPrice ?? 0n;

/** One bot's signed calls for a block. */
export interface PreparedBotCalls {
  bot: string;
  calls: BotCall[];
  signed: Hex[];
}

export interface SubmittedBotCalls {
  bot: string;
  notes: (string | undefined)[];
  txHashes: Hex[];
}

/** A bot and the accounts it signs with. */
export interface ActingBot {
  bot: Bot;
  accounts: readonly FundedAccount[];
  priorityFeeGwei?: number | undefined;
}

const PENDING = { blockTag: 'pending' } as const;

/** The deployed market's names for a `call` step: contracts, tokens, pools and accounts. */
function deployedNames(market: DrillMarket): DeployedNames {
  const { aave, extras } = market;
  const fixed: Record<string, Hex | null | undefined> = {
    'aave.pool': aave.pool,
    'aave.configurator': aave.poolConfigurator,
    'aave.oracle': aave.oracle,
    'aave.acl': aave.aclManager,
    'aave.provider': aave.addressesProvider,
    vault: extras?.vault?.address,
    breaker: extras?.vault?.breaker,
    governor: extras?.governance?.governor,
    timelock: extras?.governance?.timelock,
    guardian: market.guardian.address,
    deployer: market.deployer.address,
  };
  return {
    address: (name) =>
      fixed[name] ??
      market.tokens.get(name)?.address ??
      market.pools.get(name) ??
      market.accounts.get(name)?.address,
    decimals: (symbol) => market.tokens.get(symbol)?.decimals,
  };
}

export function createActors(
  chain: EmbeddedChain,
  market: DrillMarket,
  scenario: Scenario,
  bots: readonly ActingBot[] = [],
): Actors {
  const { client } = chain;
  const nonces = new Map<Hex, number>();
  const tip = parseGwei(String(scenario.chain.actorPriorityFeeGwei));

  const token = (symbol: string) => market.tokens.get(symbol)!;
  const balanceOf = (symbol: string, who: Hex) =>
    readContract(client, {
      address: token(symbol).address,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [who],
      ...PENDING,
    });

  /** The transactions waiting in the mempool, as the pending block holds them. */
  const pendingTxs = async () =>
    (await getBlock(client, { blockTag: 'pending', includeTransactions: true })).transactions;

  const sign = async (
    from: FundedAccount,
    calls: Call[],
    maxFeePerGas: bigint,
    priorityFee = tip,
  ): Promise<Hex[]> => {
    const signed: Hex[] = [];
    for (const call of calls) {
      let nonce = nonces.get(from.address);
      if (nonce === undefined)
        nonce = await getTransactionCount(client, { address: from.address, blockTag: 'pending' });
      nonces.set(from.address, nonce + 1);
      signed.push(
        await signCall(from.account, call, {
          chainId: chain.chainId,
          nonce,
          gas: call.gas,
          maxFeePerGas,
          maxPriorityFeePerGas: priorityFee,
        }),
      );
    }
    return signed;
  };

  /** The calls one step makes, from the pending state; `pairs` chains several swaps in one block. */
  const callsFor = async (
    step: DrillStep,
    actor: FundedAccount,
    pairs: Map<Hex, PairState>,
  ): Promise<Call[] | string> => {
    switch (step.do) {
      case 'swap': {
        const pair = market.pools.get(step.pool)!;
        const tokenIn = token(step.tokenIn);
        const amountIn =
          step.amountIn === 'all'
            ? await balanceOf(step.tokenIn, actor.address)
            : toUnits(step.amountIn, tokenIn.decimals);
        if (amountIn === 0n) return `no ${step.tokenIn} to swap`;
        const state = pairs.get(pair) ?? (await readPair(client, pair, 'pending'));
        const plan = planSwapExactIn(state, { pair, tokenIn: tokenIn.address, amountIn, to: actor.address });
        pairs.set(pair, plan.after);
        const [transfer, swap] = plan.calls;
        return [
          { ...transfer, abi: transfer.abi as Abi, gas: DEFAULT_SWAP_GAS.transfer },
          { ...swap, abi: swap.abi as Abi, gas: DEFAULT_SWAP_GAS.swap },
        ];
      }
      case 'oracle-update':
        return [
          {
            to: market.twaps.get(step.asset)!,
            abi: twapAbi,
            functionName: 'update',
            args: [],
            gas: 200_000n,
          },
        ];
      case 'supply': {
        const t = token(step.asset);
        const amount =
          step.amount === 'all'
            ? await balanceOf(step.asset, actor.address)
            : toUnits(step.amount, t.decimals);
        if (amount === 0n) return `no ${step.asset} to supply`;
        return [
          {
            to: t.address,
            abi: erc20Abi,
            functionName: 'approve',
            args: [market.aave.pool, amount],
            gas: 100_000n,
          },
          {
            to: market.aave.pool,
            abi: poolAbi,
            functionName: 'supply',
            args: [t.address, amount, actor.address, 0],
            gas: 500_000n,
          },
        ];
      }
      case 'borrow': {
        const t = token(step.asset);
        let amount: bigint;
        if (step.amount !== undefined) amount = toUnits(step.amount, t.decimals);
        else {
          // What the market itself will let the account borrow once the pending block is mined.
          const [data, price] = await Promise.all([
            readContract(client, {
              address: market.aave.pool,
              abi: poolAbi,
              functionName: 'getUserAccountData',
              args: [actor.address],
              ...PENDING,
            }),
            readContract(client, {
              address: market.aave.oracle,
              abi: aaveOracleAbi,
              functionName: 'getAssetPrice',
              args: [t.address],
              ...PENDING,
            }),
          ]);
          const shareBps = BigInt(Math.round((step.capacityShare ?? 0) * 10_000));
          amount = price === 0n ? 0n : (data[2] * shareBps * 10n ** BigInt(t.decimals)) / (10_000n * price);
          const cash = await balanceOf(step.asset, market.aave.reserves[step.asset]!.aToken);
          if (amount > cash) amount = (cash * 99n) / 100n; // never more than the reserve holds
        }
        if (amount === 0n) return `no borrowing capacity for ${step.asset}`;
        return [
          {
            to: market.aave.pool,
            abi: poolAbi,
            functionName: 'borrow',
            args: [t.address, amount, 2n, 0, actor.address],
            gas: 800_000n,
          },
        ];
      }
      case 'withdraw': {
        const t = token(step.asset);
        // type(uint256).max withdraws the whole balance, interest included.
        const amount = step.amount === 'all' ? 2n ** 256n - 1n : toUnits(step.amount, t.decimals);
        return [
          {
            to: market.aave.pool,
            abi: poolAbi,
            functionName: 'withdraw',
            args: [t.address, amount, actor.address],
            gas: 600_000n,
          },
        ];
      }
      case 'repay': {
        const t = token(step.asset);
        const amount = step.amount === 'all' ? 2n ** 256n - 1n : toUnits(step.amount, t.decimals);
        const approval = step.amount === 'all' ? await balanceOf(step.asset, actor.address) : amount;
        if (approval === 0n) return `no ${step.asset} to repay with`;
        return [
          {
            to: t.address,
            abi: erc20Abi,
            functionName: 'approve',
            args: [market.aave.pool, approval],
            gas: 100_000n,
          },
          {
            to: market.aave.pool,
            abi: poolAbi,
            functionName: 'repay',
            args: [t.address, amount, 2n, actor.address],
            gas: 600_000n,
          },
        ];
      }
      case 'vault-deposit':
      case 'vault-redeem':
      case 'donate': {
        const v = market.vaults.get(step.asset)!;
        const held = step.do === 'vault-redeem' ? step.asset : v.underlying;
        const amount =
          step.amount === 'all'
            ? await balanceOf(held, actor.address)
            : toUnits(step.amount, token(held).decimals);
        if (amount === 0n) return `no ${held} to ${step.do === 'donate' ? 'donate' : step.do.slice(6)}`;
        const underlying = token(v.underlying).address;
        if (step.do === 'donate')
          return [
            {
              to: underlying,
              abi: erc20Abi,
              functionName: 'transfer',
              args: [v.vault, amount],
              gas: 100_000n,
            },
          ];
        if (step.do === 'vault-redeem')
          return [
            {
              to: v.vault,
              abi: erc4626Abi,
              functionName: 'redeem',
              args: [amount, actor.address, actor.address],
              gas: 300_000n,
            },
          ];
        return [
          { to: underlying, abi: erc20Abi, functionName: 'approve', args: [v.vault, amount], gas: 100_000n },
          {
            to: v.vault,
            abi: erc4626Abi,
            functionName: 'deposit',
            args: [amount, actor.address],
            gas: 300_000n,
          },
        ];
      }
      case 'vault-exploit':
      case 'governance-attack':
      case 'governance-execute': {
        // The contracts of market.lendingVault / market.governance (extras.ts).
        const calls = extraStepCalls(step, market.extras, market.tokens);
        return typeof calls === 'string' ? calls : calls.map((c) => ({ ...c, abi: c.abi as Abi }));
      }
      case 'call': {
        try {
          return [{ ...buildCall(step, deployedNames(market)), gas: BigInt(step.gas) }];
        } catch (error) {
          return (error as Error).message;
        }
      }
      case 'flash-loan': {
        try {
          return flashLoanCalls(step, market, deployedNames(market)).map((c) => ({
            ...c,
            abi: c.abi as Abi,
          }));
        } catch (error) {
          return (error as Error).message;
        }
      }
      case 'set-price': {
        const answer = toPrice(step.priceUsd);
        const calls: Call[] = [];
        const setAnswer = (to: Hex): Call => ({
          to,
          abi: feedAbi,
          functionName: 'setAnswer',
          args: [answer],
          gas: 150_000n,
        });
        if (step.feeds !== 'protocol') calls.push(setAnswer(market.referenceFeeds.get(step.asset)!));
        const own = market.protocolFeeds.get(step.asset);
        if (own && step.feeds !== 'reference') calls.push(setAnswer(own));
        if (calls.length === 0) return `${step.asset} has no feed of its own to move`;
        return calls;
      }
    }
  };

  return {
    async prepare(steps) {
      if (steps.length === 0) return [];
      const latest = await getBlock(client);
      // Enough for two base-fee rises and the full tip.
      const maxFeePerGas = (latest.baseFeePerGas ?? parseGwei('1')) * 2n + tip;
      const pairs = new Map<Hex, PairState>();
      const prepared: PreparedStep[] = [];
      for (const { step, index } of steps) {
        const actor = step.actor === 'market' ? market.deployer : market.accounts.get(step.actor)!;
        const calls = await callsFor(step, actor, pairs);
        if (typeof calls === 'string') prepared.push({ step, index, signed: [], skipped: calls });
        else prepared.push({ step, index, signed: await sign(actor, calls, maxFeePerGas) });
      }
      return prepared;
    },
    async prepareBots(offset, random) {
      if (bots.length === 0) return [];
      const latest = await getBlock(client);
      const out: PreparedBotCalls[] = [];
      for (const { bot, accounts, priorityFeeGwei } of bots) {
        const calls = await bot.plan({ offset, random: random(bot) });
        if (calls.length === 0) continue;
        const fee = priorityFeeGwei === undefined ? tip : parseGwei(String(priorityFeeGwei));
        const maxFeePerGas = (latest.baseFeePerGas ?? parseGwei('1')) * 2n + fee;
        const signed: Hex[] = [];
        for (const call of calls) {
          const from = accounts[call.from ?? 0];
          if (!from) throw new Error(`bot ${bot.name} has no account ${call.from}`);
          signed.push(...(await sign(from, [call], maxFeePerGas, fee)));
        }
        out.push({ bot: bot.name, calls, signed });
      }
      return out;
    },
    async broadcastBots(prepared) {
      const out: SubmittedBotCalls[] = [];
      for (const p of prepared) {
        const txHashes: Hex[] = [];
        for (const serializedTransaction of p.signed)
          txHashes.push(await sendRawTransaction(client, { serializedTransaction }));
        out.push({ bot: p.bot, notes: p.calls.map((c) => c.note), txHashes });
      }
      return out;
    },
    async rebid(steps, newTip) {
      // Who can outbid them: not the scenario's actors nor the bots (the guardian, the hub's agents).
      const actors = new Set(
        [...market.accounts.values(), ...[...market.botAccounts.values()].flat()].map((a) =>
          a.address.toLowerCase(),
        ),
      );
      const waiting = await pendingTxs();
      const byHash = new Map(waiting.map((tx) => [tx.hash.toLowerCase(), tx]));
      const outbidBy = new Map<string, TxSlot>();
      for (const s of steps) {
        const actor = market.accounts.get(s.step.actor);
        if (!actor) continue;
        for (let i = 0; i < s.txHashes.length; i++) {
          const tx = byHash.get(s.txHashes[i]!.toLowerCase());
          if (!tx || tx.to === null || tx.maxFeePerGas === undefined) continue;
          const theirs = tipOf(tx);
          if (newTip <= theirs) continue;
          const outbid = waiting.filter((o) => !actors.has(o.from.toLowerCase()) && tipOf(o) >= theirs);
          if (outbid.length === 0) continue;
          for (const o of outbid) outbidBy.set(slotKey(o), { from: o.from, nonce: o.nonce });
          // The fee cap up by the tip's rise, and by at least 12.5 % (a node needs 10 % to replace).
          const maxFeePerGas = larger(tx.maxFeePerGas + newTip - theirs, (tx.maxFeePerGas * 1125n) / 1000n);
          const raw = await signData(
            actor.account,
            { to: tx.to, data: tx.input, value: tx.value },
            {
              chainId: chain.chainId,
              nonce: tx.nonce,
              gas: tx.gas,
              maxFeePerGas,
              maxPriorityFeePerGas: newTip,
            },
          );
          s.txHashes[i] = await sendRawTransaction(client, { serializedTransaction: raw });
        }
      }
      return [...outbidBy.values()];
    },
    async waitingAbove(slots, tip) {
      const above = new Set((await pendingTxs()).filter((tx) => tipOf(tx) > tip).map(slotKey));
      return slots.every((s) => above.has(slotKey(s)));
    },
    async broadcast(prepared) {
      const submitted: SubmittedStep[] = [];
      for (const p of prepared) {
        const txHashes: Hex[] = [];
        for (const serializedTransaction of p.signed)
          txHashes.push(await sendRawTransaction(client, { serializedTransaction }));
        submitted.push({
          step: p.step,
          index: p.index,
          txHashes,
          ...(p.skipped ? { skipped: p.skipped } : {}),
        });
      }
      return submitted;
    },
  };
}
