/**
 * CLI — `firebreak approve <action-id>` and `firebreak reject <action-id>`: a human's decision on
 * an action that waits (an `approve` step, or a Safe transaction that needs owners' signatures).
 *
 * The decision is checked first (the id must await a decision; one already decided says by whom),
 * then recorded where the engine will see it. While `firebreak run` holds the data folder (PGlite
 * is one process's), the check reads the state file the engine publishes and the decision is
 * dropped into the approvals inbox, which the engine takes at its next block; otherwise the store
 * is opened and the decision written into it directly. See `respond/approvals.ts`.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { Common } from '../common/common';
import { FirebreakError, isFirebreakError, registerSecret } from '../common/errors';
import {
  type Approval,
  type ApprovalDecision,
  applyDecision,
  approvalsDir,
  checkDecision,
  dropDecision,
  readApprovalsState,
} from '../respond/approvals';
import { signSafeTx } from '../respond/executors/safe';
import { inspectDataFolder } from '../store/data-folder';
import { openStore } from '../store/store';

export interface DecideOptions {
  /** The data folder of the engine's store. */
  dataDir: string;
  actionId: string;
  decision: 'approve' | 'reject';
  /** Who decides; default: the OS user. */
  by?: string;
  reason?: string;
  /** An owner's private key, to sign a waiting Safe transaction (never stored, never printed). */
  ownerKey?: Hex;
  common: Common;
}

export interface DecideResult {
  /** `inbox`: queued for the running engine; `store`: written into the store (no engine running). */
  via: 'inbox' | 'store';
  approval: Approval;
  /** The owner who signed, for a Safe signature. */
  signer?: Hex;
  /** One line for the terminal. */
  message: string;
}

/** The OS user, the default `--by`. */
export function defaultDecider(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Reads an owner's key from the environment variable `--key-env` names. */
export function ownerKeyFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): Hex {
  const value = env[name];
  if (value === undefined || value === '')
    throw new FirebreakError(
      'ERR_SECRET_MISSING',
      `--key-env ${name}: the environment variable is not set\n    fix: export ${name}=<the owner's 0x-prefixed private key>`,
    );
  registerSecret(value);
  if (!/^0x[0-9a-fA-F]{64}$/.test(value))
    throw new FirebreakError(
      'ERR_USAGE',
      `--key-env ${name}: the environment variable does not hold a private key\n    fix: set it to a 0x-prefixed 32-byte hex key`,
    );
  return value as Hex;
}

/**
 * Checks and records one decision (see the module comment for where it goes).
 *
 * @throws FirebreakError `ERR_APPROVAL` (unknown id, already decided, bad signature), `ERR_STORE`
 * (no store in the folder).
 */
export async function decideAction(options: DecideOptions): Promise<DecideResult> {
  const dataDir = resolve(options.dataDir);
  if (!existsSync(dataDir) || inspectDataFolder(dataDir) !== 'database')
    throw new FirebreakError(
      'ERR_APPROVAL',
      `no Firebreak store in ${dataDir}\n    fix: pass --config with the config \`firebreak run\` uses (its dataDir names the store)`,
    );
  const by = options.by ?? defaultDecider();
  const at = options.common.clock.now();
  const base: ApprovalDecision = {
    actionId: options.actionId,
    decision: options.decision,
    by,
    at,
    ...(options.reason !== undefined ? { reason: options.reason } : {}),
  };
  const sign = async (approval: Approval | undefined): Promise<ApprovalDecision> => {
    refusePastDeadline(approval, options.actionId, at);
    if (options.ownerKey === undefined || options.decision !== 'approve') return base;
    const safe = approval?.request.safe;
    if (approval?.status !== 'awaiting' || !safe) return { ...base, signature: '0x' };
    const account = privateKeyToAccount(options.ownerKey);
    return { ...base, signature: await signSafeTx(account, safe) };
  };

  let store: Awaited<ReturnType<typeof openStore>> | undefined;
  try {
    store = await openStore({ dataDir }, options.common);
  } catch (error) {
    if (!isFirebreakError(error, 'ERR_STORE') || !error.retryable) throw error;
  }
  if (store) {
    try {
      const decision = await sign(await store.getApproval(options.actionId));
      const { approval, checked } = await applyDecision(store, decision, at);
      return {
        via: 'store',
        approval,
        ...(checked.type === 'signature' ? { signer: checked.signer } : {}),
        message: `${describe(decision, approval, checked.type === 'signature' ? checked.signer : undefined)}: recorded in ${dataDir}; no engine is running on it, so it takes effect once \`firebreak run\` is running again and the action's playbook fires for the incident`,
      };
    } finally {
      await store.close();
    }
  }

  // An engine holds the store: check against what it publishes, then leave the decision in its inbox.
  const dir = approvalsDir(dataDir);
  const state = readApprovalsState(dir);
  if (!state)
    throw new FirebreakError(
      'ERR_APPROVAL',
      `the store in ${dataDir} is in use by another process that publishes no approvals state (${dir}/state.json)\n    fix: run the decision again once that process has processed a block (or stopped)`,
      { retryable: true },
    );
  const approval = state.approvals.find((a) => a.actionId === options.actionId);
  const decision = await sign(approval);
  const checked = await checkDecision(
    approval,
    decision,
    state.approvals.filter((a) => a.status === 'awaiting'),
  );
  dropDecision(dir, decision);
  const signer = checked.type === 'signature' ? checked.signer : undefined;
  return {
    via: 'inbox',
    approval: approval as Approval,
    ...(signer ? { signer } : {}),
    message: `${describe(decision, approval as Approval, signer)}: handed to the running engine (pid ${state.pid}); it takes effect at its next block`,
  };
}

/**
 * A wait whose deadline has passed takes no decision: the engine ends it (or has ended it) unexecuted
 * and escalates. Checked here as well as by the engine, which may not have seen a block since.
 *
 * @throws FirebreakError `ERR_APPROVAL` saying when the deadline passed and what was given by then.
 */
function refusePastDeadline(approval: Approval | undefined, actionId: string, at: number): void {
  if (!approval || approval.deadline === null || at <= approval.deadline) return;
  if (approval.status !== 'awaiting' && approval.status !== 'expired') return;
  // Ended before its deadline (another Safe transaction took the nonce): `checkDecision` says why.
  if (approval.status === 'expired' && approval.updatedAt <= approval.deadline) return;
  const until = new Date(approval.deadline).toISOString();
  const safe = approval.request.safe;
  const what =
    approval.kind === 'safe-signatures' && safe
      ? `the owners' signatures of Safe tx ${safe.safeTxHash} were due by ${until} (${approval.signatures.length} of ${safe.threshold} given)`
      : `its approval was due by ${until}`;
  throw new FirebreakError(
    'ERR_APPROVAL',
    `action ${actionId} (${approval.request.action}) is past its deadline: ${what}; it is not executed and the incident is escalated to a human\n    fix: nothing to decide for this action now; act by hand, or wait for the playbook to fire again (it asks anew)`,
    { details: { actionId, deadline: until, status: approval.status } },
  );
}

function describe(decision: ApprovalDecision, approval: Approval, signer: Hex | undefined): string {
  const what = `${approval.request.action} (action ${decision.actionId})`;
  if (signer)
    return `signature of Safe tx ${approval.request.safe?.safeTxHash} by owner ${signer} (${decision.by}) for ${what}`;
  return `${decision.decision === 'approve' ? 'approved' : 'rejected'} ${what} by ${decision.by}`;
}
