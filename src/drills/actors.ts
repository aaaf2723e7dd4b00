/**
 * Drills — actors: the scenario's accounts acting on the chain. Each step of the timeline becomes
 * one or more signed transactions sent into the mempool with explicit nonce, gas and fees, so that
 * nothing is estimated against pending state and the block builder orders them by fee, as a real
 * one does. The engine's transactions compete with these.
 */
import { type Abi, encodeFunctionData, type Hex, parseGwei } from 'viem';
import { getTransactionCount, readContract, sendRawTransaction } from 'viem/actions';
import type { EmbeddedChain, FundedAccount } from '../chain/embedded';
import { aaveOracleAbi, erc20Abi, poolAbi } from '../protocols/aave-v3/abi';
import { DEFAULT_SWAP_GAS, planSwapExactIn, readPair } from '../protocols/uniswap-v2/pool';
import { type DrillMarket, toPrice, toUnits } from './market';
import type { Scenario, ScenarioStep } from './scenario';

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

export interface SubmittedStep {
  step: ScenarioStep;
  index: number;
  txHashes: Hex[];
  /** Why the step sent nothing (e.g. nothing left to borrow), if it did not. */
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
  /** Sends a step's transactions into the mempool (they land in the next mined block). */
  submit(step: ScenarioStep, index: number): Promise<SubmittedStep>;
}

export function createActors(chain: EmbeddedChain, market: DrillMarket, scenario: Scenario): Actors {
  const { client } = chain;
  const nonces = new Map<Hex, number>();
  const tip = parseGwei(String(scenario.chain.actorPriorityFeeGwei));
  /** Pair state as it will be after the swaps already submitted for the block being built. */
  const pendingPairs = new Map<Hex, Awaited<ReturnType<typeof readPair>>>();
  let pendingForBlock: bigint | undefined;

  const sendCalls = async (from: FundedAccount, calls: Call[]): Promise<Hex[]> => {
    const block = await client.getBlock();
    const maxFeePerGas = (block.baseFeePerGas ?? parseGwei('1')) * 2n + tip;
    const hashes: Hex[] = [];
    for (const call of calls) {
      let nonce = nonces.get(from.address);
      if (nonce === undefined)
        nonce = await getTransactionCount(client, { address: from.address, blockTag: 'pending' });
      nonces.set(from.address, nonce + 1);
      const serializedTransaction = await from.account.signTransaction!({
        chainId: chain.chainId,
        type: 'eip1559',
        to: call.to,
        data: encodeFunctionData({
          abi: call.abi,
          functionName: call.functionName,
          args: call.args as unknown[],
        }),
        nonce,
        gas: call.gas,
        maxFeePerGas,
        maxPriorityFeePerGas: tip,
      });
      hashes.push(await sendRawTransaction(client, { serializedTransaction }));
    }
    return hashes;
  };

  const token = (symbol: string) => market.tokens.get(symbol)!;
  const balanceOf = (symbol: string, who: Hex) =>
    readContract(client, {
      address: token(symbol).address,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [who],
    });

  return {
    async submit(step, index) {
      const head = await client.getBlockNumber();
      if (pendingForBlock !== head) {
        pendingPairs.clear();
        pendingForBlock = head;
      }
      const actor = step.actor === 'market' ? market.deployer : market.accounts.get(step.actor)!;
      const done = (txHashes: Hex[], skipped?: string): SubmittedStep =>
        skipped ? { step, index, txHashes, skipped } : { step, index, txHashes };
      switch (step.do) {
        case 'swap': {
          const pair = market.pools.get(step.pool)!;
          const tokenIn = token(step.tokenIn);
          const amountIn =
            step.amountIn === 'all'
              ? await balanceOf(step.tokenIn, actor.address)
              : toUnits(step.amountIn, tokenIn.decimals);
          const state = pendingPairs.get(pair) ?? (await readPair(client, pair));
          const plan = planSwapExactIn(state, {
            pair,
            tokenIn: tokenIn.address,
            amountIn,
            to: actor.address,
          });
          pendingPairs.set(pair, plan.after);
          const [transfer, swap] = plan.calls;
          return done(
            await sendCalls(actor, [
              { ...transfer, abi: transfer.abi as Abi, gas: DEFAULT_SWAP_GAS.transfer },
              { ...swap, abi: swap.abi as Abi, gas: DEFAULT_SWAP_GAS.swap },
            ]),
          );
        }
        case 'oracle-update':
          return done(
            await sendCalls(actor, [
              {
                to: market.twaps.get(step.asset)!,
                abi: twapAbi,
                functionName: 'update',
                args: [],
                gas: 200_000n,
              },
            ]),
          );
        case 'supply': {
          const t = token(step.asset);
          const amount =
            step.amount === 'all'
              ? await balanceOf(step.asset, actor.address)
              : toUnits(step.amount, t.decimals);
          if (amount === 0n) return done([], `no ${step.asset} to supply`);
          return done(
            await sendCalls(actor, [
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
            ]),
          );
        }
        case 'borrow': {
          const t = token(step.asset);
          let amount: bigint;
          if (step.amount !== undefined) amount = toUnits(step.amount, t.decimals);
          else {
            // What the market itself says the account may borrow now, at its oracle's prices.
            const [data, price] = await Promise.all([
              readContract(client, {
                address: market.aave.pool,
                abi: poolAbi,
                functionName: 'getUserAccountData',
                args: [actor.address],
              }),
              readContract(client, {
                address: market.aave.oracle,
                abi: aaveOracleAbi,
                functionName: 'getAssetPrice',
                args: [t.address],
              }),
            ]);
            const availableBase = data[2];
            const shareBps = BigInt(Math.round((step.capacityShare ?? 0) * 10_000));
            amount =
              price === 0n ? 0n : (availableBase * shareBps * 10n ** BigInt(t.decimals)) / (10_000n * price);
            // Never more than the reserve holds.
            const cash = await balanceOf(step.asset, market.aave.reserves[step.asset]!.aToken);
            if (amount > cash) amount = (cash * 99n) / 100n;
          }
          if (amount === 0n) return done([], `no borrowing capacity for ${step.asset}`);
          return done(
            await sendCalls(actor, [
              {
                to: market.aave.pool,
                abi: poolAbi,
                functionName: 'borrow',
                args: [t.address, amount, 2n, 0, actor.address],
                gas: 800_000n,
              },
            ]),
          );
        }
        case 'set-price': {
          const answer = toPrice(step.priceUsd);
          const calls: Call[] = [
            {
              to: market.referenceFeeds.get(step.asset)!,
              abi: feedAbi,
              functionName: 'setAnswer',
              args: [answer],
              gas: 150_000n,
            },
          ];
          const own = market.protocolFeeds.get(step.asset);
          if (own)
            calls.push({ to: own, abi: feedAbi, functionName: 'setAnswer', args: [answer], gas: 150_000n });
          return done(await sendCalls(market.deployer, calls));
        }
      }
    },
  };
}
