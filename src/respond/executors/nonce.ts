/**
 * Respond / executors — the nonce journal: where a sender keeps, per (chain, address), every
 * transaction it signed (nonce, action, call, fees, every hash), written before the broadcast. It
 * is what makes nonces survive a restart: a restarted process knows which nonces it took, reuses
 * the transaction already signed for an action's call instead of signing a second one, and finds
 * the gaps a crash left (a nonce journaled but never broadcast, below one that was).
 *
 * Two implementations: the store's table (`storeTxJournal` in store/executor-txs.ts, the default
 * wherever there is a store) and an in-memory one here (a process without a store: nonces then
 * survive only as long as it runs).
 */
import { type Hex, keccak256, toHex } from 'viem';

export type ExecutorTxStatus = 'pending' | 'mined' | 'superseded' | 'filled';

/** One transaction a sender signed under one nonce (with every replacement's hash). */
export interface ExecutorTx {
  chainId: number;
  /** The sender, lower-case. */
  address: Hex;
  nonce: number;
  /** The action the transaction belongs to; null for a nonce-gap filler. */
  actionId: string | null;
  /** Which call of the action (see `callKey`). */
  callKey: string | null;
  to: Hex;
  data: Hex;
  value: bigint;
  gas: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  /** Every version signed under this nonce, oldest first. */
  hashes: Hex[];
  status: ExecutorTxStatus;
  minedHash: Hex | null;
  createdAt: number;
  updatedAt: number;
}

export interface TxJournal {
  /** Inserts or replaces the transactions (by chain, address, nonce). */
  put(txs: readonly ExecutorTx[]): Promise<void>;
  /** The sender's transactions still `pending`, by nonce. */
  pending(chainId: number, address: Hex): Promise<ExecutorTx[]>;
  /** The sender's transactions for one action, by nonce. */
  forAction(chainId: number, address: Hex, actionId: string): Promise<ExecutorTx[]>;
  /** The highest nonce the sender journaled, or null. */
  maxNonce(chainId: number, address: Hex): Promise<number | null>;
}

/** A journal in memory: for a process without a store, and for unit tests. */
export function memoryTxJournal(): TxJournal {
  const rows = new Map<string, ExecutorTx>();
  const id = (chainId: number, address: Hex, nonce: number) => `${chainId}:${address.toLowerCase()}:${nonce}`;
  const of = (chainId: number, address: Hex) =>
    [...rows.values()]
      .filter((r) => r.chainId === chainId && r.address === address.toLowerCase())
      .sort((a, b) => a.nonce - b.nonce)
      .map((r) => ({ ...r, hashes: [...r.hashes] }));
  return {
    async put(txs) {
      for (const tx of txs) {
        const address = tx.address.toLowerCase() as Hex;
        const key = id(tx.chainId, address, tx.nonce);
        const createdAt = rows.get(key)?.createdAt ?? tx.createdAt;
        rows.set(key, { ...tx, address, createdAt, hashes: [...tx.hashes] });
      }
    },
    async pending(chainId, address) {
      return of(chainId, address).filter((r) => r.status === 'pending');
    },
    async forAction(chainId, address, actionId) {
      return of(chainId, address).filter((r) => r.actionId === actionId);
    },
    async maxNonce(chainId, address) {
      const all = of(chainId, address);
      return all.length === 0 ? null : all[all.length - 1]!.nonce;
    },
  };
}

/** Which call of an action a transaction carries: its target and calldata, hashed. */
export function callKey(call: { to: Hex; data: Hex }): string {
  return keccak256(toHex(`${call.to.toLowerCase()}|${call.data.toLowerCase()}`)).slice(0, 34);
}
