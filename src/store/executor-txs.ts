/**
 * Store — the executors' transaction journal (table `executor_txs`, migration 0003): every
 * transaction an executor signed, by (chain, sender, nonce), written before it is broadcast, so a
 * restarted process knows which nonces it took, for which action's call, at which fees and under
 * which hashes (replacements included). The nonce manager (`respond/executors/nonce.ts`) is its
 * only writer.
 */
import type { Selectable } from 'kysely';
import type { Hex } from 'viem';
import type { ExecutorTx, TxJournal } from '../respond/executors/nonce';
import type { Database } from './schema';
import { guard, msColumn, type StoreDb, toJson } from './store';

export type { ExecutorTx, ExecutorTxStatus } from '../respond/executors/nonce';

/** Inserts the transactions, or replaces every field of the stored ones with the same (chain, sender, nonce). */
export function putExecutorTxs(db: StoreDb, txs: readonly ExecutorTx[]): Promise<void> {
  if (txs.length === 0) return Promise.resolve();
  return guard('put executor transactions', async () => {
    const rows = txs.map((tx) => ({
      chain_id: tx.chainId,
      address: tx.address.toLowerCase() as Hex,
      nonce: BigInt(tx.nonce),
      action_id: tx.actionId,
      call_key: tx.callKey,
      to_address: tx.to,
      data: tx.data,
      value: tx.value,
      gas: tx.gas,
      max_fee_per_gas: tx.maxFeePerGas,
      max_priority_fee_per_gas: tx.maxPriorityFeePerGas,
      hashes: toJson(tx.hashes),
      status: tx.status,
      mined_hash: tx.minedHash,
      created_at_ms: msColumn(tx.createdAt),
      updated_at_ms: msColumn(tx.updatedAt),
    }));
    await db
      .insertInto('executor_txs')
      .values(rows)
      .onConflict((oc) =>
        oc.columns(['chain_id', 'address', 'nonce']).doUpdateSet((eb) => ({
          action_id: eb.ref('excluded.action_id'),
          call_key: eb.ref('excluded.call_key'),
          to_address: eb.ref('excluded.to_address'),
          data: eb.ref('excluded.data'),
          value: eb.ref('excluded.value'),
          gas: eb.ref('excluded.gas'),
          max_fee_per_gas: eb.ref('excluded.max_fee_per_gas'),
          max_priority_fee_per_gas: eb.ref('excluded.max_priority_fee_per_gas'),
          hashes: eb.ref('excluded.hashes'),
          status: eb.ref('excluded.status'),
          mined_hash: eb.ref('excluded.mined_hash'),
          updated_at_ms: eb.ref('excluded.updated_at_ms'),
        })),
      )
      .execute();
  });
}

/** A sender's transactions still `pending` (signed, not known mined), by nonce. */
export function listPendingExecutorTxs(db: StoreDb, chainId: number, address: Hex): Promise<ExecutorTx[]> {
  return guard('list pending executor transactions', async () => {
    const rows = await db
      .selectFrom('executor_txs')
      .selectAll()
      .where('chain_id', '=', chainId)
      .where('address', '=', address.toLowerCase() as Hex)
      .where('status', '=', 'pending')
      .orderBy('nonce')
      .execute();
    return rows.map(fromRow);
  });
}

/** A sender's transactions for one action, by nonce. */
export function listActionExecutorTxs(
  db: StoreDb,
  chainId: number,
  address: Hex,
  actionId: string,
): Promise<ExecutorTx[]> {
  return guard('list action executor transactions', async () => {
    const rows = await db
      .selectFrom('executor_txs')
      .selectAll()
      .where('chain_id', '=', chainId)
      .where('address', '=', address.toLowerCase() as Hex)
      .where('action_id', '=', actionId)
      .orderBy('nonce')
      .execute();
    return rows.map(fromRow);
  });
}

/** The highest nonce a sender journaled, or null when it has none. */
export function maxExecutorNonce(db: StoreDb, chainId: number, address: Hex): Promise<number | null> {
  return guard('read the highest executor nonce', async () => {
    const row = await db
      .selectFrom('executor_txs')
      .select((eb) => eb.fn.max('nonce').as('nonce'))
      .where('chain_id', '=', chainId)
      .where('address', '=', address.toLowerCase() as Hex)
      .executeTakeFirst();
    const nonce = row?.nonce as bigint | string | number | null | undefined;
    return nonce === null || nonce === undefined ? null : Number(nonce);
  });
}

function fromRow(row: Selectable<Database['executor_txs']>): ExecutorTx {
  return {
    chainId: row.chain_id,
    address: row.address,
    nonce: Number(row.nonce),
    actionId: row.action_id,
    callKey: row.call_key,
    to: row.to_address,
    data: row.data,
    value: BigInt(row.value),
    gas: BigInt(row.gas),
    maxFeePerGas: BigInt(row.max_fee_per_gas),
    maxPriorityFeePerGas: BigInt(row.max_priority_fee_per_gas),
    hashes: row.hashes,
    status: row.status,
    minedHash: row.mined_hash,
    createdAt: Number(row.created_at_ms),
    updatedAt: Number(row.updated_at_ms),
  };
}

/** The nonce journal in the store (survives restarts): what the key executors are given. */
export function storeTxJournal(db: StoreDb): TxJournal {
  return {
    put: (txs) => putExecutorTxs(db, txs),
    pending: (chainId, address) => listPendingExecutorTxs(db, chainId, address),
    forAction: (chainId, address, actionId) => listActionExecutorTxs(db, chainId, address, actionId),
    maxNonce: (chainId, address) => maxExecutorNonce(db, chainId, address),
  };
}
