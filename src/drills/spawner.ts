/**
 * Drills — driving the drill-only `PositionSpawner` (contracts/drills/PositionSpawner.sol), which
 * opens thousands of Aave v3 positions in a few blocks (one `PositionAccount` clone per position),
 * and the `AccountDataReader` batch reader (many `getUserAccountData` in one `eth_call`). Shared by
 * generated populations (population.ts) and the risk engine's parity test and benchmark
 * (test/risk/support/position-market.ts), so both open positions the same way.
 *
 * Speed on EDR comes from batching: `POSITIONS_PER_TX` spawns per transaction and as many
 * transactions per block as its gas limit holds, with V8's collector run after each block (EDR's
 * responses hold native memory V8 does not see; see `collectGarbage`).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Address, decodeFunctionResult, encodeFunctionData, type Hex, type StateOverride } from 'viem';
import { deployArtifact, firebreakArtifact } from '../chain/artifacts';
import type { EmbeddedChain, FundedAccount } from '../chain/embedded';
import { FirebreakError } from '../common/errors';
import type { UserAccountData } from '../protocols/aave-v3/types';

/** One token amount of a position (raw units). */
export interface SpawnLeg {
  asset: Address;
  amount: bigint;
}

/** A position `PositionSpawner.open` creates: supplies (made for it), an e-mode, variable borrows. */
export interface SpawnPosition {
  eMode: number;
  supplies: readonly SpawnLeg[];
  borrows: readonly SpawnLeg[];
}

/** A call the spawner runs: by itself (`account` = the spawner) or through one of its accounts. */
export interface SpawnerCall {
  account: Address;
  target: Address;
  data: Hex;
}

/**
 * Spawns per transaction. EDR's time per transaction grows faster than its gas (measured: 10
 * spawns ≈ 60 ms, 20 ≈ 120–450 ms, 50 ≈ 1.5 s), so batches stay small and a block holds many.
 */
export const POSITIONS_PER_TX = 10;
/** Gas budgeted per spawned position with one supply and one borrow (measured ≈ 310–330k). */
export const GAS_PER_SIMPLE_POSITION = 450_000n;

export const spawnerAbi = () => firebreakArtifact('PositionSpawner').abi;
export const accountReaderAbi = () => firebreakArtifact('AccountDataReader').abi;

/**
 * Runs V8's garbage collector. EDR's responses hold native memory (≈100 MB per 6M-gas
 * transaction, measured) that is freed only when V8 collects their small JS wrappers, and V8 does
 * not see that memory, so a long run of heavy transactions grows without bound (a 5,000-position
 * market went past 23 GB and was killed). Collecting after each heavy request keeps it near 1.5 GB.
 */
export const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** Deploys a `PositionSpawner` for `pool`, owned by `from`; returns its address (lower case). */
export async function deploySpawner(
  chain: EmbeddedChain,
  from: FundedAccount,
  pool: Address,
): Promise<Address> {
  const address = await deployArtifact(chain.client, firebreakArtifact('PositionSpawner'), {
    account: from.account,
    args: [pool],
  });
  return address.toLowerCase() as Address;
}

/** Deploys an `AccountDataReader`; returns its address (lower case). */
export async function deployAccountReader(chain: EmbeddedChain, from: FundedAccount): Promise<Address> {
  const address = await deployArtifact(chain.client, firebreakArtifact('AccountDataReader'), {
    account: from.account,
  });
  return address.toLowerCase() as Address;
}

/** Encodes `PositionSpawner.run(calls)`. */
export function encodeRun(calls: readonly SpawnerCall[]): Hex {
  return encodeFunctionData({ abi: spawnerAbi(), functionName: 'run', args: [calls] });
}

/** Encodes `PositionSpawner.open(positions)`. */
export function encodeOpen(positions: readonly SpawnPosition[]): Hex {
  return encodeFunctionData({ abi: spawnerAbi(), functionName: 'open', args: [positions] });
}

/** A transaction of a block built by `mineTransactions`. */
export interface BlockTx {
  to: Address;
  data: Hex;
  gas: bigint;
}

/**
 * Mines one block holding `txs` (sent by `from`, in order, automine off), optionally at
 * `timestamp`; throws, naming the revert, if any of them failed or missed the block. Leaves
 * automine on. Returns the block number.
 */
export async function mineTransactions(
  chain: EmbeddedChain,
  from: FundedAccount,
  txs: readonly BlockTx[],
  options: { timestamp?: bigint } = {},
): Promise<bigint> {
  await chain.setAutomine(false);
  try {
    const latest = await chain.client.getBlock();
    let nonce = await chain.client.getTransactionCount({ address: from.address, blockTag: 'pending' });
    const maxFeePerGas = (latest.baseFeePerGas ?? 1_000_000_000n) * 3n + 1_000_000_000n;
    const hashes: Hex[] = [];
    for (const tx of txs) {
      hashes.push(
        await chain.client.sendTransaction({
          account: from.account,
          chain: chain.chain,
          to: tx.to,
          data: tx.data,
          gas: tx.gas,
          nonce: nonce++,
          maxFeePerGas,
          maxPriorityFeePerGas: 1_000_000_000n,
        }),
      );
    }
    const number = await chain.mine(options.timestamp === undefined ? {} : { timestamp: options.timestamp });
    collectGarbage();
    for (const hash of hashes) {
      const receipt = await chain.client.getTransactionReceipt({ hash });
      if (receipt.blockNumber !== number)
        throw new FirebreakError('ERR_TX_FAILED', `transaction ${hash} was not mined in block ${number}`);
      if (receipt.status !== 'success') {
        const tx = await chain.client.getTransaction({ hash });
        const reason = await chain.client
          .call({ account: from.address, to: tx.to!, data: tx.input, blockNumber: number - 1n })
          .then(() => 'no revert when replayed on the parent block')
          .catch((error: Error) => error.message.split('\n')[0]);
        throw new FirebreakError(
          'ERR_TX_FAILED',
          `transaction ${hash} in block ${number} reverted: ${reason}`,
        );
      }
    }
    return number;
  } finally {
    await chain.setAutomine(true);
  }
}

/** Spawner calls as transactions of at most `perTx` calls each. */
export function runTransactions(spawner: Address, calls: readonly SpawnerCall[], perTx = 20): BlockTx[] {
  const out: BlockTx[] = [];
  for (let i = 0; i < calls.length; i += perTx) {
    const batch = calls.slice(i, i + perTx);
    out.push({ to: spawner, data: encodeRun(batch), gas: 1_200_000n * BigInt(batch.length) + 500_000n });
  }
  return out;
}

/** How many accounts the spawner has opened. */
export async function spawnedCount(chain: EmbeddedChain, spawner: Address, blockNumber?: bigint) {
  return (await chain.client.readContract({
    address: spawner,
    abi: spawnerAbi(),
    functionName: 'accountsCount',
    ...(blockNumber === undefined ? {} : { blockNumber }),
  })) as bigint;
}

/** The spawner's accounts from index `from` on, in opening order (lower case). */
export async function listSpawnedAccounts(
  chain: EmbeddedChain,
  spawner: Address,
  from = 0n,
): Promise<Address[]> {
  const count = await spawnedCount(chain, spawner);
  const out: Address[] = [];
  for (let start = from; start < count; start += 2_000n) {
    const slice = (await chain.client.readContract({
      address: spawner,
      abi: spawnerAbi(),
      functionName: 'accountsSlice',
      args: [start, 2_000n],
    })) as Address[];
    out.push(...slice.map((a) => a.toLowerCase() as Address));
  }
  return out;
}

export interface OpenPositionsOptions {
  /** Spawns per transaction (default `POSITIONS_PER_TX`). */
  perTx?: number;
  /** Gas budgeted per position (default `GAS_PER_SIMPLE_POSITION`; more for several legs). */
  gasPerPosition?: bigint;
  /** Transactions per block; default: as many as the block gas limit holds. */
  txPerBlock?: number;
  /** Called after each block with the number of positions opened so far. */
  onBlock?: (opened: number, gasUsed: bigint) => void;
}

/**
 * Opens `positions` through the spawner (owned by `from`, holding the supplied tokens and having
 * approved the pool), in blocks of several batched transactions; returns the new accounts, in the
 * order of `positions`. Leaves automine on.
 */
export async function openPositions(
  chain: EmbeddedChain,
  from: FundedAccount,
  spawner: Address,
  positions: readonly SpawnPosition[],
  options: OpenPositionsOptions = {},
): Promise<Address[]> {
  const perTx = options.perTx ?? POSITIONS_PER_TX;
  const gasPer = options.gasPerPosition ?? GAS_PER_SIMPLE_POSITION;
  const before = await spawnedCount(chain, spawner);
  const txs: BlockTx[] = [];
  for (let i = 0; i < positions.length; i += perTx) {
    const batch = positions.slice(i, i + perTx);
    txs.push({ to: spawner, data: encodeOpen(batch), gas: gasPer * BigInt(batch.length) + 200_000n });
  }
  const limit = (await chain.client.getBlock()).gasLimit;
  let biggest = 0n;
  for (const t of txs) if (t.gas > biggest) biggest = t.gas;
  const fits = biggest > 0n ? Number(limit / biggest) : 1;
  const perBlock = Math.max(1, Math.min(options.txPerBlock ?? fits, fits));
  let opened = 0;
  for (let i = 0; i < txs.length; i += perBlock) {
    const block = txs.slice(i, i + perBlock);
    const number = await mineTransactions(chain, from, block);
    opened = Math.min(positions.length, (i + block.length) * perTx);
    if (options.onBlock) {
      const b = await chain.client.getBlock({ blockNumber: number });
      options.onBlock(opened, b.gasUsed);
    }
  }
  const accounts = await listSpawnedAccounts(chain, spawner, before);
  if (accounts.length !== positions.length)
    throw new FirebreakError(
      'ERR_DEPLOY_FAILED',
      `the spawner opened ${accounts.length} accounts, expected ${positions.length}`,
    );
  return accounts;
}

/**
 * `getUserAccountData` of every account at a block, `chunk` accounts per `eth_call` through the
 * batch reader.
 */
export async function readAccountDataBatch(
  chain: EmbeddedChain,
  reader: Address,
  pool: Address,
  accounts: readonly Address[],
  blockNumber?: bigint,
  chunk = 1_000,
): Promise<UserAccountData[]> {
  const results = await inChunks(accounts, chunk, async (users) => {
    const words = await readerCall(chain, reader, 'getUserAccountData', [pool, users], {
      ...(blockNumber === undefined ? {} : { blockNumber }),
    });
    const out: UserAccountData[] = [];
    for (let k = 0; k < words.length; k += 6) {
      out.push({
        totalCollateralBase: words[k]!,
        totalDebtBase: words[k + 1]!,
        availableBorrowsBase: words[k + 2]!,
        currentLiquidationThreshold: words[k + 3]!,
        ltv: words[k + 4]!,
        healthFactor: words[k + 5]!,
      });
    }
    return out;
  });
  collectGarbage();
  return results;
}

/** Where `readBalancesBatch` puts the reader's code for its call (a state override: nothing is deployed). */
const BALANCE_READER_AT: Address = '0x00000000000000000000000000000000f1eb4ead';

/**
 * `balanceOf` of many holders in many tokens, `holders.length / chunk` `eth_call`s: the reader's
 * runtime code is put at a fixed address by a state override, so the chain's state is not touched
 * (a drill's measurement between its runs must leave nothing behind). Result `[holder][token]`.
 */
export async function readBalancesBatch(
  chain: EmbeddedChain,
  tokens: readonly Address[],
  holders: readonly Address[],
  chunk = 500,
): Promise<bigint[][]> {
  if (tokens.length === 0 || holders.length === 0) return holders.map(() => []);
  const artifact = firebreakArtifact('AccountDataReader') as { deployedBytecode?: Hex };
  const code = artifact.deployedBytecode;
  if (!code) throw new FirebreakError('ERR_CONTRACTS_NOT_BUILT', 'AccountDataReader has no deployedBytecode');
  return inChunks(holders, chunk, async (some) => {
    const words = await readerCall(chain, BALANCE_READER_AT, 'balancesOf', [tokens, some], {
      stateOverride: [{ address: BALANCE_READER_AT, code }],
    });
    return some.map((_, h) => words.slice(h * tokens.length, (h + 1) * tokens.length));
  });
}

/** `work` on each `chunk` of `items`, all at once; the results in order. */
async function inChunks<T, R>(
  items: readonly T[],
  chunk: number,
  work: (some: readonly T[]) => Promise<R[]>,
): Promise<R[]> {
  const requests: Promise<R[]>[] = [];
  for (let i = 0; i < items.length; i += chunk) requests.push(work(items.slice(i, i + chunk)));
  return (await Promise.all(requests)).flat();
}

/** One `eth_call` of an AccountDataReader function (a generous gas limit: it loops over many accounts). */
async function readerCall(
  chain: EmbeddedChain,
  to: Address,
  functionName: 'getUserAccountData' | 'balancesOf',
  args: readonly unknown[],
  extra: { blockNumber?: bigint; stateOverride?: StateOverride },
): Promise<readonly bigint[]> {
  const abi = accountReaderAbi();
  const { data } = await chain.client.call({
    to,
    data: encodeFunctionData({ abi, functionName, args } as never),
    gas: 1_000_000_000n,
    ...extra,
  });
  return decodeFunctionResult({ abi, functionName, data: data ?? '0x' }) as readonly bigint[];
}
