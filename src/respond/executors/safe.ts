/**
 * Respond / executors — `safe`: a Safe (1.4.1) that holds the market role, with Firebreak's agent
 * keys among its owners.
 *
 * A plan becomes one Safe transaction: its only call directly, or several calls batched through
 * `MultiSendCallOnly` (one DELEGATECALL), so that the plan lands atomically and owners sign one
 * hash, not one per call. Every agent key signs the Safe transaction hash (EIP-712, domain = chain
 * id + Safe address). When the agents alone meet the threshold, the first key sends
 * `execTransaction` at once; otherwise nothing is sent, and the responder records the action as
 * `awaiting-quorum` with the signatures collected so far; owners add theirs (`firebreak approve
 * <action-id> --key-env VAR`, or the Safe's own `approveHash` on-chain, read each block and counted
 * as a pre-validated signature), and the transaction is executed as soon as the threshold is met.
 *
 * Before signing, each call is simulated from the Safe's address (a revert is refused with its
 * reason, e.g. the Safe lacks the role), the agent keys are checked to be owners, and the Safe's own
 * `getTransactionHash` must equal the locally computed EIP-712 hash (so signatures can never be
 * made over something the Safe would not check). The keys stay in this closure.
 */
import {
  type Address,
  type Client,
  concat,
  encodeFunctionData,
  encodePacked,
  type Hex,
  hashTypedData,
  pad,
  parseAbi,
  parseEventLogs,
  size,
  zeroAddress,
} from 'viem';
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { getBlock, getBytecode, readContract } from 'viem/actions';
import type { Common } from '../../common/common';
import { describeError, FirebreakError } from '../../common/errors';
import type { ActionPlan } from '../types';
import { keySender } from './eoa';
import type { TxJournal } from './nonce';
import { firstLine, gasLimitFor } from './simulate';
import type {
  Executor,
  PendingSignatures,
  QuorumOutcome,
  QuorumProgress,
  SafeSigningRequest,
  SafeTxFields,
  SendContext,
  SentAction,
} from './types';

export type { SafeTxFields } from './types';

/** The parts of the Safe 1.4.1 ABI the executor uses (checked against the package's artifact in tests). */
export const safeAbi = parseAbi([
  'function nonce() view returns (uint256)',
  'function getThreshold() view returns (uint256)',
  'function getOwners() view returns (address[])',
  'function approvedHashes(address owner, bytes32 hash) view returns (uint256)',
  'function getTransactionHash(address to, uint256 value, bytes data, uint8 operation, uint256 safeTxGas, uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, uint256 _nonce) view returns (bytes32)',
  'function execTransaction(address to, uint256 value, bytes data, uint8 operation, uint256 safeTxGas, uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, bytes signatures) payable returns (bool)',
  'event ExecutionSuccess(bytes32 indexed txHash, uint256 payment)',
  'event ExecutionFailure(bytes32 indexed txHash, uint256 payment)',
]);

export const multiSendCallOnlyAbi = parseAbi(['function multiSend(bytes transactions) payable']);

/** The EIP-712 typed data of a Safe (≥ 1.3.0) transaction, for `signTypedData` / `hashTypedData`. */
export function safeTxTypedData(request: Pick<SafeSigningRequest, 'safe' | 'chainId' | 'tx'>) {
  const { tx } = request;
  return {
    domain: { chainId: request.chainId, verifyingContract: request.safe },
    types: {
      SafeTx: [
        { name: 'to', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'data', type: 'bytes' },
        { name: 'operation', type: 'uint8' },
        { name: 'safeTxGas', type: 'uint256' },
        { name: 'baseGas', type: 'uint256' },
        { name: 'gasPrice', type: 'uint256' },
        { name: 'gasToken', type: 'address' },
        { name: 'refundReceiver', type: 'address' },
        { name: 'nonce', type: 'uint256' },
      ],
    },
    primaryType: 'SafeTx',
    message: {
      to: tx.to,
      value: BigInt(tx.value),
      data: tx.data,
      operation: tx.operation,
      safeTxGas: BigInt(tx.safeTxGas),
      baseGas: BigInt(tx.baseGas),
      gasPrice: BigInt(tx.gasPrice),
      gasToken: tx.gasToken,
      refundReceiver: tx.refundReceiver,
      nonce: BigInt(tx.nonce),
    },
  } as const;
}

/** Signs a Safe transaction hash (EIP-712) with a key: what an owner gives through the CLI. */
export function signSafeTx(account: PrivateKeyAccount, request: SafeSigningRequest): Promise<Hex> {
  return account.signTypedData(safeTxTypedData(request));
}

/** Who gave a stored signature that stands for an owner's on-chain `approveHash` (the approvals table's `by`). */
export const ON_CHAIN_APPROVAL = 'on-chain approveHash';

/**
 * The signature `execTransaction` takes for an owner who approved the hash on-chain (`approveHash`):
 * r = the owner's address left-padded to 32 bytes, s = 0, v = 1 (Safe.sol `checkNSignatures`).
 */
export function preValidatedSignature(owner: Hex): Hex {
  return concat([pad(owner, { size: 32 }), pad('0x00', { size: 32 }), '0x01']);
}

/** The signatures `execTransaction` takes: `threshold` of them, ordered by signer address. */
export function packSignatures(
  signatures: readonly { signer: Hex; signature: Hex }[],
  threshold: number,
): Hex {
  const sorted = [...signatures].sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1));
  return concat(sorted.slice(0, threshold).map((s) => s.signature));
}

/** The plan's calls as one Safe transaction body: the call itself, or a MultiSendCallOnly batch. */
export function safeTxBody(
  plan: ActionPlan,
  multiSend: Address,
): Pick<SafeTxFields, 'to' | 'data' | 'operation'> {
  const encoded = plan.calls.map((call) => ({
    to: call.to,
    data: encodeFunctionData({
      abi: call.abi,
      functionName: call.functionName,
      args: call.args as unknown[],
    }),
  }));
  if (encoded.length === 1) return { to: encoded[0]!.to, data: encoded[0]!.data, operation: 0 };
  const packed = concat(
    encoded.map((c) =>
      encodePacked(
        ['uint8', 'address', 'uint256', 'uint256', 'bytes'],
        [0, c.to, 0n, BigInt(size(c.data)), c.data],
      ),
    ),
  );
  return {
    to: multiSend,
    data: encodeFunctionData({ abi: multiSendCallOnlyAbi, functionName: 'multiSend', args: [packed] }),
    operation: 1,
  };
}

export interface SafeExecutorOptions {
  id: string;
  client: Client;
  chainId: number;
  safe: Address;
  multiSend: Address;
  /** The agents' keys (owners of the Safe); the first pays for `execTransaction`. */
  privateKeys: Hex[];
  priorityFeeGwei: number;
  maxFeeGwei: number;
  /** Replace a stuck `execTransaction` not mined after this many blocks (default 2). */
  bumpAfterBlocks?: number;
  /** Raise of both fee fields per replacement, percent (default 12.5). */
  bumpPercent?: number;
  /** Where the payer's transactions are journaled before their broadcast (default: in memory). */
  journal?: TxJournal;
  dryRun: boolean;
  receiptPollMs: number;
  common: Common;
}

interface Prepared {
  request: SafeSigningRequest;
  signatures: { signer: Hex; signature: Hex }[];
}

export function createSafeExecutor(options: SafeExecutorOptions): Executor {
  const { client, safe, common } = options;
  const agents = options.privateKeys.map((k) => privateKeyToAccount(k));
  const payer = agents[0]!;
  // The payer's transactions go through the shared sender: nonce journal, fee bumps, restarts.
  const sender = keySender(options, payer);
  const prepared = new Map<string, Prepared>();

  const read = async () => {
    try {
      const [owners, threshold, nonce] = await Promise.all([
        readContract(client, { address: safe, abi: safeAbi, functionName: 'getOwners' }),
        readContract(client, { address: safe, abi: safeAbi, functionName: 'getThreshold' }),
        readContract(client, { address: safe, abi: safeAbi, functionName: 'nonce' }),
      ]);
      return { owners: [...owners] as Hex[], threshold: Number(threshold), nonce };
    } catch (error) {
      throw new FirebreakError(
        'ERR_SIMULATION_FAILED',
        `cannot read Safe ${safe} (owners, threshold, nonce): ${firstLine(error)}; is it a Safe on chain ${options.chainId}?`,
        { cause: error },
      );
    }
  };

  const execCall = (request: SafeSigningRequest, signatures: Hex) => ({
    to: safe,
    abi: safeAbi,
    functionName: 'execTransaction',
    args: [
      request.tx.to,
      BigInt(request.tx.value),
      request.tx.data,
      request.tx.operation,
      BigInt(request.tx.safeTxGas),
      BigInt(request.tx.baseGas),
      BigInt(request.tx.gasPrice),
      request.tx.gasToken,
      request.tx.refundReceiver,
      signatures,
    ] as const,
  });

  /** Builds, checks and signs (with every agent key) the plan's Safe transaction at the Safe's current nonce. */
  const prepare = async (plan: ActionPlan): Promise<Prepared> => {
    const { owners, threshold, nonce } = await read();
    const ownerSet = new Set(owners.map((o) => o.toLowerCase()));
    const outsiders = agents.filter((a) => !ownerSet.has(a.address.toLowerCase())).map((a) => a.address);
    if (outsiders.length > 0)
      throw new FirebreakError(
        'ERR_SIMULATION_FAILED',
        `agent key${outsiders.length > 1 ? 's' : ''} ${outsiders.join(', ')} ${outsiders.length > 1 ? 'are not owners' : 'is not an owner'} of Safe ${safe} (fix: the Safe's owners add it with addOwnerWithThreshold, or configure an owner's key)`,
      );
    if (plan.calls.length > 1 && (await getBytecode(client, { address: options.multiSend })) === undefined)
      throw new FirebreakError(
        'ERR_SIMULATION_FAILED',
        `the plan has ${plan.calls.length} calls but no MultiSendCallOnly contract is deployed at ${options.multiSend} (fix: set executors[${options.id}].multiSend to MultiSendCallOnly 1.4.1 on this chain)`,
      );
    const tx: SafeTxFields = {
      ...safeTxBody(plan, options.multiSend),
      value: '0',
      safeTxGas: '0',
      baseGas: '0',
      gasPrice: '0',
      gasToken: zeroAddress,
      refundReceiver: zeroAddress,
      nonce: nonce.toString(),
    };
    const base = { safe, chainId: options.chainId, tx };
    const safeTxHash = hashTypedData(safeTxTypedData(base));
    const onChain = await readContract(client, {
      address: safe,
      abi: safeAbi,
      functionName: 'getTransactionHash',
      args: [tx.to, 0n, tx.data, tx.operation, 0n, 0n, 0n, zeroAddress, zeroAddress, nonce],
    });
    if (onChain.toLowerCase() !== safeTxHash.toLowerCase())
      throw new FirebreakError(
        'ERR_SIMULATION_FAILED',
        `Safe ${safe} hashes its transaction as ${onChain}, not ${safeTxHash} (EIP-712 of Safe 1.3/1.4): unsupported Safe version, not signing`,
      );
    const request: SafeSigningRequest = { ...base, safeTxHash, owners, threshold };
    const signatures = await Promise.all(
      agents.map(async (a) => ({ signer: a.address, signature: await signSafeTx(a, request) })),
    );
    return { request, signatures };
  };

  /** Simulates each call as the Safe makes it (from its address): a revert here is the real reason. */
  const simulateCalls = (plan: ActionPlan) =>
    Promise.all(
      plan.calls.map(async (call) => {
        try {
          return await gasLimitFor(client, call, safe);
        } catch (error) {
          throw new FirebreakError(
            'ERR_SIMULATION_FAILED',
            `simulation of "${call.description}" from Safe ${safe} reverted: ${firstLine(error)} (does the Safe hold the market role it needs?)`,
            { cause: error, details: { action: plan.action, call: call.description, safe } },
          );
        }
      }),
    );

  const execGas = async (request: SafeSigningRequest, signatures: Hex): Promise<bigint> => {
    try {
      return await gasLimitFor(client, execCall(request, signatures), payer);
    } catch (error) {
      throw new FirebreakError(
        'ERR_SIMULATION_FAILED',
        `simulation of execTransaction on Safe ${safe} (Safe tx ${request.safeTxHash}) reverted: ${firstLine(error)}`,
        { cause: error },
      );
    }
  };

  /**
   * Sends `execTransaction` from the payer key through the sender (journaled before its broadcast,
   * fee-bumped while stuck; after a restart the journaled one is followed, not sent twice). The
   * receipt must carry the Safe's ExecutionSuccess for this Safe transaction.
   */
  const execute = async (
    actionId: string,
    request: SafeSigningRequest,
    signatures: Hex,
    gas: bigint,
    ctx: Pick<SendContext, 'baseFeePerGas' | 'outbid' | 'onProgress'> | null,
  ) => {
    // Outside a block's response (owners' signatures arrive later), price from the latest block.
    const baseFeePerGas =
      ctx?.baseFeePerGas ?? (await getBlock(client, { blockTag: 'latest' })).baseFeePerGas ?? null;
    const call = execCall(request, signatures);
    const item = {
      to: safe,
      data: encodeFunctionData(call as Parameters<typeof encodeFunctionData>[0]),
      gas,
      description: `execTransaction of Safe tx ${request.safeTxHash}`,
    };
    let sent: Awaited<ReturnType<typeof sender.send>>;
    try {
      sent = await sender.send(actionId, [item], { ...ctx, baseFeePerGas });
    } catch (error) {
      throw new FirebreakError(
        'ERR_TX_FAILED',
        `sending execTransaction to Safe ${safe} failed: ${firstLine(error)}`,
        { cause: error, retryable: true },
      );
    }
    const receipt = sent.receipts[0]!.then((r) => {
      const ok = parseEventLogs({ abi: safeAbi, eventName: 'ExecutionSuccess', logs: r.logs }).some(
        (l) => l.address.toLowerCase() === safe.toLowerCase() && l.args.txHash === request.safeTxHash,
      );
      if (r.status !== 'success' || !ok)
        throw new FirebreakError(
          'ERR_TX_FAILED',
          `execTransaction ${r.transactionHash} on Safe ${safe} did not execute Safe tx ${request.safeTxHash} (block ${r.blockNumber}, status ${r.status})`,
        );
      return r;
    });
    receipt.catch(() => undefined);
    return { sent, hash: sent.txHashes[0]!, receipt };
  };

  const describeSigners = (signatures: readonly { signer: Hex }[]) =>
    signatures.map((s) => s.signer).join(', ');

  /** The wait for owners' signatures: `add` takes them; the outcome settles once executed (or not). */
  const awaitOwners = (
    plan: ActionPlan,
    p: Prepared,
  ): PendingSignatures & { outcome: Promise<QuorumOutcome | null> } => {
    const collected = [...p.signatures];
    let settle!: (o: QuorumOutcome | null) => void;
    const outcome = new Promise<QuorumOutcome | null>((resolve) => {
      settle = resolve;
    });
    let settled = false;
    /** Set once the threshold is met: later signatures change nothing. */
    let executing = false;
    const finish = (o: QuorumOutcome | null) => {
      if (settled) return;
      settled = true;
      common.signal.removeEventListener('abort', onAbort);
      settle(o);
    };
    const onAbort = () => finish(null);
    common.signal.addEventListener('abort', onAbort, { once: true });
    const { request } = p;
    return {
      request,
      collected,
      outcome,
      async add(signer, signature) {
        if (settled || executing) return;
        if (!collected.some((s) => s.signer.toLowerCase() === signer.toLowerCase()))
          collected.push({ signer, signature });
        if (collected.length < request.threshold) return;
        executing = true;
        try {
          const { nonce } = await read();
          if (nonce.toString() !== request.tx.nonce) {
            finish({
              executed: false,
              reason: `Safe ${safe} nonce is ${nonce}, past this transaction's ${request.tx.nonce}: another Safe transaction took its place, ${plan.action} was not executed`,
            });
            return;
          }
          const packed = packSignatures(collected, request.threshold);
          await simulateCalls(plan);
          const gas = await execGas(request, packed);
          const { receipt } = await execute(plan.id, request, packed, gas, null);
          // Broadcast: the wait for the receipt goes on in the background (the caller is the block loop).
          receipt.then(
            (r) =>
              finish({
                executed: true,
                block: r.blockNumber,
                summary: `Safe ${safe} executed Safe tx ${request.safeTxHash} (nonce ${request.tx.nonce}) in block ${r.blockNumber}, tx ${r.transactionHash}, signed by ${describeSigners(collected)} (${collected.length} of ${request.threshold})`,
                details: {
                  safe,
                  safeTxHash: request.safeTxHash,
                  tx: r.transactionHash,
                  signers: collected.map((s) => s.signer),
                },
              }),
            (error: unknown) =>
              finish({ executed: false, reason: `Safe tx ${request.safeTxHash}: ${describeError(error)}` }),
          );
        } catch (error) {
          finish({
            executed: false,
            reason: `executing Safe tx ${request.safeTxHash} on Safe ${safe} failed: ${describeError(error)}`,
          });
        }
      },
      async approvedOnChain(blockNumber) {
        if (settled || executing) return [];
        const counted = new Set(collected.map((s) => s.signer.toLowerCase()));
        const others = request.owners.filter((o) => !counted.has(o.toLowerCase()));
        const approved = await Promise.all(
          others.map((owner) =>
            readContract(client, {
              address: safe,
              abi: safeAbi,
              functionName: 'approvedHashes',
              args: [owner, request.safeTxHash],
              ...(blockNumber === undefined ? {} : { blockNumber }),
            }),
          ),
        );
        return others
          .filter((_, i) => approved[i]! !== 0n)
          .map((owner) => ({ signer: owner, signature: preValidatedSignature(owner) }));
      },
      cancel(reason) {
        finish({ executed: false, reason });
      },
      expire() {
        if (settled || executing) return false;
        finish(null);
        return true;
      },
    };
  };

  return {
    id: options.id,
    type: 'safe',
    address: safe,
    dryRun: options.dryRun,
    async simulate(plan) {
      const perCall = await simulateCalls(plan);
      const p = await prepare(plan);
      if (!options.dryRun) prepared.set(plan.id, p);
      if (p.signatures.length < p.request.threshold) return perCall;
      // Sent before a restart and not mined yet: the send follows it. Estimating another would
      // revert (GS026): against the pending state the Safe's nonce has moved past these signatures.
      const journaled = await sender.pendingTo(plan.id, safe);
      if (journaled) return [journaled.gas];
      return [await execGas(p.request, packSignatures(p.signatures, p.request.threshold))];
    },
    async resume() {
      await sender.resume();
    },
    async send(plan, gas, ctx): Promise<SentAction> {
      const p = prepared.get(plan.id) ?? (await prepare(plan));
      prepared.delete(plan.id);
      const { request, signatures } = p;
      const agentsLine = `agents ${describeSigners(signatures)}`;
      if (signatures.length >= request.threshold) {
        const packed = packSignatures(signatures, request.threshold);
        const g = gas.length === 1 && gas[0]! > 0n ? gas[0]! : await execGas(request, packed);
        const { sent, hash, receipt } = await execute(plan.id, request, packed, g, ctx);
        const sentAt = common.clock.monotonic();
        const receipts = receipt.then((r) => [r]);
        receipts.catch(() => undefined);
        const quorum = receipts.then(
          (): QuorumProgress => ({
            executed: true,
            summary: `Safe ${safe}: Safe tx ${request.safeTxHash} (nonce ${request.tx.nonce}) executed with the signatures of ${agentsLine} (threshold ${request.threshold})`,
            details: { safe, safeTxHash: request.safeTxHash, signers: signatures.map((s) => s.signer) },
          }),
        );
        quorum.catch(() => undefined);
        return {
          txHashes: [hash],
          sentAt,
          receipts,
          quorum,
          allTxHashes: sent.allTxHashes,
          ...(sent.reused[0] ? { resumed: true } : {}),
          ...(sent.capped ? { note: sent.capped } : {}),
        };
      }
      const pending = awaitOwners(plan, p);
      const missing = request.threshold - signatures.length;
      const progress: QuorumProgress = {
        executed: false,
        summary: `Safe ${safe}: Safe tx ${request.safeTxHash} (nonce ${request.tx.nonce}) signed by ${agentsLine}: ${signatures.length} of ${request.threshold}, waiting for ${missing} more owner signature${missing === 1 ? '' : 's'}`,
        details: {
          safe,
          safeTxHash: request.safeTxHash,
          nonce: request.tx.nonce,
          threshold: request.threshold,
          signers: signatures.map((s) => s.signer),
        },
        outcome: pending.outcome,
        signatures: pending,
      };
      return {
        txHashes: [],
        sentAt: common.clock.monotonic(),
        receipts: Promise.resolve([]),
        quorum: Promise.resolve(progress),
        note: `the agent keys of Safe ${safe} sign ${signatures.length} of ${request.threshold}: nothing to send until owners sign`,
      };
    },
  };
}
