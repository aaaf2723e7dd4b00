/**
 * Respond — approvals: actions that wait for people, and how a decision reaches a running engine.
 *
 * Three kinds wait. An `approve` step (kind `step`) is planned and simulated, then waits for one
 * `firebreak approve <action-id>` (or `reject`) until its deadline. A Safe transaction its agent keys
 * cannot execute alone (kind `safe-signatures`) waits for owners' signatures of its Safe transaction
 * hash, given with `firebreak approve <action-id> --key-env VAR`. An operation Firebreak scheduled in
 * a timelock (kind `timelock`) executes by itself once its delay has passed; until then
 * `firebreak reject <action-id>` calls it off (the executor cancels the operation). The store's
 * `approvals` table is the record of all three: the deadline, what to sign, the signatures (never a
 * key), who decided.
 *
 * The embedded store (PGlite) is one process's: while `firebreak run` holds the data folder, no
 * other process may open it. So a decision travels through a folder beside the database,
 * `<dataDir>/.firebreak-approvals/`:
 * - `inbox/`: the CLI writes one JSON file per decision (written under a temporary name, then
 *   renamed: the engine never reads half a file); the engine takes them at each block, checks
 *   them against the store, records them, and deletes them.
 * - `state.json`: the engine's view of what awaits and what was decided lately, rewritten
 *   (atomically) whenever it changes, so the CLI can refuse an unknown or decided id at once.
 * When no engine holds the folder, the CLI opens the store itself and writes the decision there.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Hex, isHex, recoverTypedDataAddress } from 'viem';
import { FirebreakError } from '../common/errors';
import { safeTxTypedData } from './executors/safe';
import type { SafeSigningRequest } from './executors/types';
import type { ActionPlan } from './types';

export type { SafeSigningRequest } from './executors/types';

export type ApprovalKind = 'step' | 'safe-signatures' | 'timelock';
/** `done`: approved (or signed to the threshold) and handed to the executor. */
export type ApprovalStatus = 'awaiting' | 'approved' | 'rejected' | 'expired' | 'done';

/** What a Safe's owners sign: the Safe transaction (EIP-712, Safe 1.4.1) and who may sign it. */
export interface ApprovalRequest {
  action: string;
  playbookId: string;
  executor: string;
  /** The calls, one line, e.g. "Freeze the INV reserve + Set the LTV of INV to 0". */
  summary: string;
  safe?: SafeSigningRequest;
}

/** A signature of a Safe transaction hash: by an agent key (`by: 'agent'`) or an owner through the CLI. */
export interface ApprovalSignature {
  signer: Hex;
  signature: Hex;
  by: string;
  at: number;
}

export interface Approval {
  actionId: string;
  incidentId: string;
  chainId: number;
  kind: ApprovalKind;
  status: ApprovalStatus;
  /** Wall-clock milliseconds; null: no deadline (a Safe transaction waits until its nonce is used). */
  deadline: number | null;
  request: ApprovalRequest;
  signatures: ApprovalSignature[];
  decidedBy: string | null;
  decidedAt: number | null;
  reason: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A new row for an action that starts waiting: `awaiting`, nobody has decided. */
export function newApproval(
  plan: Pick<ActionPlan, 'id' | 'incidentId' | 'chainId' | 'action' | 'playbookId'>,
  kind: ApprovalKind,
  wait: {
    deadline: number | null;
    executor: string;
    summary: string;
    safe?: SafeSigningRequest;
    signatures?: ApprovalSignature[];
  },
  now: number,
): Approval {
  return {
    actionId: plan.id,
    incidentId: plan.incidentId,
    chainId: plan.chainId,
    kind,
    status: 'awaiting',
    deadline: wait.deadline,
    request: {
      action: plan.action,
      playbookId: plan.playbookId,
      executor: wait.executor,
      summary: wait.summary,
      ...(wait.safe ? { safe: wait.safe } : {}),
    },
    signatures: wait.signatures ?? [],
    decidedBy: null,
    decidedAt: null,
    reason: null,
    createdAt: now,
    updatedAt: now,
  };
}

/** "rejected by <who>[: <reason>]", of a rejected approval. */
export function rejection(approval: Pick<Approval, 'decidedBy' | 'reason'>): string {
  return `rejected by ${approval.decidedBy ?? 'unknown'}${approval.reason ? `: ${approval.reason}` : ''}`;
}

/** One decision, as the CLI writes it. */
export interface ApprovalDecision {
  actionId: string;
  decision: 'approve' | 'reject';
  by: string;
  at: number;
  reason?: string;
  /** An owner's signature of the Safe transaction hash (kind `safe-signatures`). */
  signature?: Hex;
}

export const APPROVALS_DIR = '.firebreak-approvals';
const INBOX = 'inbox';
const STATE = 'state.json';

/** `<dataDir>/.firebreak-approvals` (the `.firebreak-` prefix keeps the data folder a database folder). */
export function approvalsDir(dataDir: string): string {
  return join(dataDir, APPROVALS_DIR);
}

/** The command a human runs to decide. */
export function approvalCommand(actionId: string, kind: ApprovalKind): string {
  if (kind === 'step')
    return `firebreak approve ${actionId} (or: firebreak reject ${actionId} --reason "...")`;
  if (kind === 'timelock')
    return `firebreak reject ${actionId} --reason "..." (cancels the timelock operation)`;
  return `firebreak approve ${actionId} --key-env <VAR holding a Safe owner's key>`;
}

const KIND_LABEL: Record<ApprovalKind, string> = {
  step: 'approval',
  'safe-signatures': 'Safe signatures',
  timelock: 'timelock operation, reject cancels it',
};

/** Writes a decision into the inbox atomically (a temporary name, then a rename); returns its file. */
export function dropDecision(dir: string, decision: ApprovalDecision): string {
  const inbox = join(dir, INBOX);
  mkdirSync(inbox, { recursive: true });
  const name = `${decision.at}-${process.pid}-${Math.random().toString(36).slice(2, 10)}.json`;
  const temporary = join(inbox, `.${name}.tmp`);
  writeFileSync(temporary, `${JSON.stringify(decision)}\n`);
  renameSync(temporary, join(inbox, name));
  return join(inbox, name);
}

export type InboxEntry = { file: string; decision: ApprovalDecision } | { file: string; error: string };

/** The decisions waiting in the inbox, oldest first (temporary files are not ready and are skipped). */
export function takeDecisions(dir: string): InboxEntry[] {
  const inbox = join(dir, INBOX);
  let names: string[];
  try {
    names = readdirSync(inbox);
  } catch {
    return [];
  }
  return names
    .filter((n) => !n.startsWith('.') && n.endsWith('.json'))
    .sort()
    .map((name) => {
      const file = join(inbox, name);
      try {
        return { file, decision: parseDecision(JSON.parse(readFileSync(file, 'utf8'))) };
      } catch (error) {
        return { file, error: (error as Error).message };
      }
    });
}

export function removeDecision(file: string): void {
  rmSync(file, { force: true });
}

function parseDecision(value: unknown): ApprovalDecision {
  const v = value as Partial<ApprovalDecision> | null;
  if (
    !v ||
    typeof v.actionId !== 'string' ||
    (v.decision !== 'approve' && v.decision !== 'reject') ||
    typeof v.by !== 'string' ||
    typeof v.at !== 'number' ||
    (v.signature !== undefined && !isHex(v.signature)) ||
    (v.reason !== undefined && typeof v.reason !== 'string')
  )
    throw new Error('not a decision (actionId, decision, by, at)');
  return v as ApprovalDecision;
}

/** What the engine publishes for the CLI: who runs, what awaits, what was decided lately. */
export interface ApprovalsState {
  pid: number;
  writtenAt: number;
  approvals: Approval[];
}

export function writeApprovalsState(dir: string, state: ApprovalsState): void {
  mkdirSync(dir, { recursive: true });
  const temporary = join(dir, `.${STATE}.${process.pid}.tmp`);
  writeFileSync(temporary, `${JSON.stringify(state)}\n`);
  renameSync(temporary, join(dir, STATE));
}

export function readApprovalsState(dir: string): ApprovalsState | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, STATE), 'utf8')) as ApprovalsState;
  } catch {
    return undefined;
  }
}

/** What a decision checked against its approval amounts to. */
export type CheckedDecision =
  | { type: 'approve' }
  | { type: 'reject' }
  | { type: 'signature'; signer: Hex; signature: Hex };

/**
 * Checks a decision against the approval it names (`undefined`: none with that id), the same way
 * in the CLI and in the engine (the engine's check is the one that counts).
 *
 * @throws FirebreakError `ERR_APPROVAL` with the reason and the fix.
 */
export async function checkDecision(
  approval: Approval | undefined,
  decision: Pick<ApprovalDecision, 'actionId' | 'decision' | 'signature'>,
  awaiting: readonly Approval[],
): Promise<CheckedDecision> {
  const id = decision.actionId;
  if (!approval) {
    const ids = awaiting.map((a) => `${a.actionId} (${a.request.action}, ${KIND_LABEL[a.kind] ?? a.kind})`);
    throw new FirebreakError(
      'ERR_APPROVAL',
      `no action ${id} awaits approval\n    ${ids.length > 0 ? `awaiting: ${ids.join(', ')}` : 'no action awaits approval now'}`,
      { details: { actionId: id } },
    );
  }
  if (approval.status !== 'awaiting') {
    const when = approval.decidedAt === null ? '' : ` at ${new Date(approval.decidedAt).toISOString()}`;
    const who = approval.decidedBy === null ? '' : ` by ${approval.decidedBy}`;
    const why = approval.reason ? ` (${approval.reason})` : '';
    throw new FirebreakError(
      'ERR_APPROVAL',
      `action ${id} was already ${approval.status === 'done' ? 'approved' : approval.status}${who}${when}${why}: nothing to decide`,
      { details: { actionId: id, status: approval.status, decidedBy: approval.decidedBy } },
    );
  }
  if (decision.decision === 'reject') return { type: 'reject' };
  if (approval.kind === 'timelock')
    throw new FirebreakError(
      'ERR_APPROVAL',
      `action ${id} is an operation scheduled in timelock ${approval.request.executor}: it executes by itself once its delay has passed, so there is nothing to approve\n    fix: nothing, to let it execute; \`firebreak reject ${id} --reason "..."\` to cancel it`,
      { details: { actionId: id } },
    );
  if (approval.kind === 'step') {
    if (decision.signature !== undefined)
      throw new FirebreakError(
        'ERR_APPROVAL',
        `action ${id} waits for an approval, not a signature: run \`firebreak approve ${id}\` without --key-env (once it is approved, its Safe transaction may ask for owners' signatures)`,
      );
    return { type: 'approve' };
  }
  const safe = approval.request.safe;
  if (!safe) throw new FirebreakError('ERR_APPROVAL', `action ${id} has no Safe transaction to sign`);
  if (decision.signature === undefined)
    throw new FirebreakError(
      'ERR_APPROVAL',
      `action ${id} waits for Safe owners' signatures (${approval.signatures.length} of ${safe.threshold})\n    fix: firebreak approve ${id} --key-env <VAR holding an owner's key of Safe ${safe.safe}>`,
    );
  let signer: Hex;
  try {
    signer = await recoverTypedDataAddress({ ...safeTxTypedData(safe), signature: decision.signature });
  } catch (error) {
    throw new FirebreakError('ERR_APPROVAL', `the signature for action ${id} is not a valid signature`, {
      cause: error,
    });
  }
  const lower = signer.toLowerCase();
  if (!safe.owners.some((o) => o.toLowerCase() === lower))
    throw new FirebreakError(
      'ERR_APPROVAL',
      `${signer} is not an owner of Safe ${safe.safe} (owners: ${safe.owners.join(', ')})\n    fix: sign with an owner's key`,
    );
  const already = approval.signatures.find((s) => s.signer.toLowerCase() === lower);
  if (already)
    throw new FirebreakError(
      'ERR_APPROVAL',
      `owner ${signer} has already signed action ${id} (by ${already.by} at ${new Date(already.at).toISOString()})`,
    );
  return { type: 'signature', signer, signature: decision.signature };
}

/** Where approvals are kept: the store (or the responder's repository). */
export interface ApprovalRepository {
  getApproval(actionId: string): Promise<Approval | undefined>;
  upsertApproval(approval: Approval): Promise<void>;
  listApprovals(options?: { status?: ApprovalStatus; limit?: number }): Promise<Approval[]>;
}

/**
 * Checks a decision against the stored approval and records it: approved or rejected with who and
 * when, or an owner's signature added. The engine acts on it at its next block.
 *
 * @throws FirebreakError `ERR_APPROVAL` (see `checkDecision`).
 */
export async function applyDecision(
  repo: ApprovalRepository,
  decision: ApprovalDecision,
  now: number,
): Promise<{ approval: Approval; checked: CheckedDecision }> {
  const approval = await repo.getApproval(decision.actionId);
  const awaiting = approval ? [] : await repo.listApprovals({ status: 'awaiting' });
  const checked = await checkDecision(approval, decision, awaiting);
  const current = approval as Approval;
  const next: Approval =
    checked.type === 'signature'
      ? {
          ...current,
          signatures: [
            ...current.signatures,
            { signer: checked.signer, signature: checked.signature, by: decision.by, at: decision.at },
          ],
          updatedAt: now,
        }
      : {
          ...current,
          status: checked.type === 'approve' ? 'approved' : 'rejected',
          decidedBy: decision.by,
          decidedAt: decision.at,
          reason: checked.type === 'reject' ? (decision.reason ?? null) : null,
          updatedAt: now,
        };
  await repo.upsertApproval(next);
  return { approval: next, checked };
}
