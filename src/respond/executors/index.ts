/**
 * Respond / executors — building the configured executors: each `executors[]` entry becomes an
 * `Executor` bound to its chain's client, with its key resolved here, once, from the secrets source
 * and kept only inside the executor's closure: an environment variable holding it, or an encrypted
 * JSON keystore opened with the password its reference names.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Client, Hex } from 'viem';
import type { Common } from '../../common/common';
import { FirebreakError, registerSecret } from '../../common/errors';
import { resolveSecret, type SecretSource } from '../../config/load';
import type { ChainConfig, ExecutorConfig, FirebreakConfig, SignerKeyRef } from '../../config/schema';
import { createEoaExecutor } from './eoa';
import { createGuardianHubExecutor } from './guardian-hub';
import { KeystoreError, openKeystore } from './keystore';
import type { TxJournal } from './nonce';
import { createSafeExecutor } from './safe';
import { createTimelockExecutor } from './timelock';
import type { Executor } from './types';

export type { Executor, QuorumOutcome, QuorumProgress, SendContext, SentAction } from './types';

type KeystoreRef = Exclude<SignerKeyRef, { env: string }>;

export interface ExecutorDeps {
  /** The connected client of a chain, by chain name. */
  clientOf(chain: string): Client;
  /** Where secret references are resolved; process.env by default. */
  secrets?: SecretSource | undefined;
  /** Where the key executors journal their nonces and signed transactions (`storeTxJournal(store.db)`, store/executor-txs.ts); in memory when absent. */
  journal?: TxJournal | undefined;
  common: Common;
}

/** Builds one executor from its config entry and its chain's config. */
export function createExecutor(config: ExecutorConfig, chain: ChainConfig, deps: ExecutorDeps): Executor {
  if (config.type === 'safe') {
    return createSafeExecutor({
      id: config.id,
      client: deps.clientOf(config.chain),
      chainId: chain.id,
      safe: config.safe,
      multiSend: config.multiSend,
      privateKeys: config.keys.map((k, i) =>
        signerKey(k, `executors[${config.id}].keys[${i}]`, deps.secrets),
      ),
      priorityFeeGwei: config.priorityFeeGwei,
      maxFeeGwei: config.maxFeeGwei,
      ...(config.bumpAfterBlocks === undefined ? {} : { bumpAfterBlocks: config.bumpAfterBlocks }),
      ...(config.bumpPercent === undefined ? {} : { bumpPercent: config.bumpPercent }),
      ...(deps.journal ? { journal: deps.journal } : {}),
      dryRun: config.dryRun,
      receiptPollMs: chain.pollIntervalMs,
      common: deps.common,
    });
  }
  const privateKey = signerKey(config.key, `executors[${config.id}].key`, deps.secrets);
  const shared = {
    id: config.id,
    client: deps.clientOf(config.chain),
    chainId: chain.id,
    privateKey,
    priorityFeeGwei: config.priorityFeeGwei,
    maxFeeGwei: config.maxFeeGwei,
    dryRun: config.dryRun,
    receiptPollMs: chain.pollIntervalMs,
    common: deps.common,
  };
  const journal = deps.journal ? { journal: deps.journal } : {};
  switch (config.type) {
    case 'eoa':
    case 'guardian-hub': {
      const sending = {
        ...shared,
        ...journal,
        ...(config.bumpAfterBlocks === undefined ? {} : { bumpAfterBlocks: config.bumpAfterBlocks }),
        ...(config.bumpPercent === undefined ? {} : { bumpPercent: config.bumpPercent }),
      };
      return config.type === 'eoa'
        ? createEoaExecutor(sending)
        : createGuardianHubExecutor({ ...sending, hub: config.hub });
    }
    case 'timelock':
      return createTimelockExecutor({
        ...shared,
        ...journal,
        ...(config.bumpAfterBlocks === undefined ? {} : { bumpAfterBlocks: config.bumpAfterBlocks }),
        ...(config.bumpPercent === undefined ? {} : { bumpPercent: config.bumpPercent }),
        timelock: config.timelock,
        delaySeconds: config.delaySeconds,
      });
    default:
      throw new Error(`unknown executor type ${(config satisfies never as { type: string }).type}`);
  }
}

/** Builds every configured executor, by id (the config's cross-references are checked already). */
export function createExecutors(config: FirebreakConfig, deps: ExecutorDeps): Map<string, Executor> {
  const chains = new Map(config.chains.map((c) => [c.name, c]));
  const executors = new Map<string, Executor>();
  for (const e of config.executors) {
    const chain = chains.get(e.chain);
    if (!chain) {
      throw new FirebreakError(
        'ERR_CONFIG_INVALID',
        `executors[${e.id}].chain: unknown chain "${e.chain}"\n    fix: use a chain name defined under chains`,
      );
    }
    executors.set(e.id, createExecutor(e, chain, deps));
  }
  return executors;
}

/** Resolves a signing key reference (`where` names it in errors, e.g. `executors[guardian].key`). */
function signerKey(ref: SignerKeyRef, where: string, secrets: SecretSource | undefined): Hex {
  if (!('env' in ref)) return keystoreKey(where, ref, secrets);
  const key = resolveSecret(ref, where, secrets);
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new FirebreakError(
      'ERR_CONFIG_INVALID',
      `${where}: environment variable ${ref.env} does not hold a private key\n    fix: set it to a 0x-prefixed 32-byte hex key`,
    );
  }
  return key as Hex;
}

/** Opens an executor's encrypted keystore with the password its secret reference names. */
function keystoreKey(where: string, ref: KeystoreRef, secrets: SecretSource | undefined): Hex {
  const password = resolveSecret(ref.password, `${where}.password`, secrets);
  const file = resolve(ref.keystore);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new FirebreakError(
      'ERR_CONFIG_INVALID',
      `${where}.keystore: ${missing ? `no such file ${file}` : `${file} is not a JSON keystore`}\n    fix: point keystore at the encrypted JSON key file (Web3 Secret Storage v3, as geth or \`cast wallet\` write it)`,
    );
  }
  try {
    const key = openKeystore(json, password);
    registerSecret(key);
    return key;
  } catch (error) {
    if (!(error instanceof KeystoreError)) throw error;
    const fix =
      error.problem === 'wrong-password'
        ? `set ${ref.password.env} to this keystore's password`
        : 'use a version-3 keystore (scrypt or pbkdf2, aes-128-ctr)';
    throw new FirebreakError(
      'ERR_CONFIG_INVALID',
      `${where}.keystore: ${file}: ${error.message}\n    fix: ${fix}`,
    );
  }
}
