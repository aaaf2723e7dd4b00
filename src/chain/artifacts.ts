/**
 * Chain — contract artifacts and deployment, for any protocol: load an artifact (ABI + bytecode),
 * link libraries into it, deploy it and wait for the receipt.
 *
 * Knows no protocol: `protocols/<name>/` says which artifacts to load and in what order.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Abi, Account, Chain, Client, Hex, PublicActions, Transport, WalletActions } from 'viem';
import { FirebreakError } from '../common/errors';

export interface Artifact {
  contractName: string;
  abi: Abi;
  bytecode: Hex;
  linkReferences?: Record<string, Record<string, { start: number; length: number }[]>>;
}

const require = createRequire(import.meta.url);
const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cache = new Map<string, Artifact>();

/** Loads an artifact shipped in an npm package, e.g. `@aave/core-v3/artifacts/.../Pool.json`. */
export function packageArtifact(path: string): Artifact {
  const hit = cache.get(path);
  if (hit) return hit;
  const artifact = require(path) as Artifact;
  cache.set(path, artifact);
  return artifact;
}

/**
 * Loads a Waffle-format build artifact from an npm package (Uniswap v2's `build/*.json`: `bytecode`
 * without the 0x prefix, the same code under `evm.bytecode.object`, no library links) in
 * Firebreak's `Artifact` shape.
 */
export function waffleArtifact(path: string, contractName: string): Artifact {
  const key = `waffle:${path}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const raw = require(path) as { abi: Abi; bytecode?: string; evm?: { bytecode?: { object?: string } } };
  const code = raw.bytecode || raw.evm?.bytecode?.object;
  if (!code) throw new FirebreakError('ERR_DEPLOY_FAILED', `artifact ${path} has no bytecode`);
  const artifact: Artifact = {
    contractName,
    abi: raw.abi,
    bytecode: (code.startsWith('0x') ? code : `0x${code}`) as Hex,
  };
  cache.set(key, artifact);
  return artifact;
}

/** Loads one of Firebreak's own compiled contracts from build/contracts (see bin/build-contracts.mjs). */
export function firebreakArtifact(name: string): Artifact {
  const key = `firebreak:${name}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const file = join(projectRoot, 'build', 'contracts', `${name}.json`);
  if (!existsSync(file)) {
    throw new FirebreakError(
      'ERR_CONTRACTS_NOT_BUILT',
      `contract artifact ${name} is missing (${file}). Run \`npm run build:contracts\` (npm start/test/bench run it for you).`,
    );
  }
  const artifact = JSON.parse(readFileSync(file, 'utf8')) as Artifact;
  cache.set(key, artifact);
  return artifact;
}

/**
 * Writes library addresses into unlinked bytecode. `libraries` maps a library name (e.g.
 * `BorrowLogic`) to its address.
 */
export function linkBytecode(artifact: Artifact, libraries: Record<string, Hex>): Hex {
  let code = artifact.bytecode.slice(2);
  for (const [, libs] of Object.entries(artifact.linkReferences ?? {})) {
    for (const [name, refs] of Object.entries(libs)) {
      const address = libraries[name];
      if (!address) {
        throw new FirebreakError(
          'ERR_DEPLOY_FAILED',
          `${artifact.contractName} needs library ${name} linked, but it was not deployed`,
        );
      }
      const hex = address.slice(2).toLowerCase();
      for (const { start, length } of refs) {
        code = code.slice(0, start * 2) + hex.slice(0, length * 2) + code.slice((start + length) * 2);
      }
    }
  }
  return `0x${code}`;
}

export type DeployClient = Client<Transport, Chain, Account | undefined> &
  PublicActions<Transport, Chain> &
  WalletActions<Chain, Account | undefined>;

export interface DeployOptions {
  account: Account;
  args?: readonly unknown[];
  libraries?: Record<string, Hex>;
}

/** Deploys an artifact and returns its address once mined (automine or a mined block). */
export async function deployArtifact(
  client: DeployClient,
  artifact: Artifact,
  options: DeployOptions,
): Promise<Hex> {
  const bytecode = options.libraries ? linkBytecode(artifact, options.libraries) : artifact.bytecode;
  try {
    const hash = await client.deployContract({
      abi: artifact.abi,
      bytecode,
      args: (options.args ?? []) as unknown[],
      account: options.account,
      chain: client.chain,
    });
    const receipt = await client.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success' || !receipt.contractAddress) {
      throw new Error(`deployment transaction ${hash} reverted`);
    }
    return receipt.contractAddress;
  } catch (error) {
    throw new FirebreakError(
      'ERR_DEPLOY_FAILED',
      `deploying ${artifact.contractName} failed: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}
