// Approvals: the checks every decision goes through (unknown id, already decided, the wrong kind,
// a Safe signature that does not recover to a new owner), recording a decision, and the inbox's
// atomic hand-over (a half-written file is never taken).
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Hex, hashTypedData, keccak256, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterEach, describe, expect, it } from 'vitest';
import { isFirebreakError } from '../common/errors';
import {
  type Approval,
  type ApprovalRepository,
  applyDecision,
  checkDecision,
  dropDecision,
  readApprovalsState,
  takeDecisions,
  writeApprovalsState,
} from './approvals';
import { safeTxTypedData, signSafeTx } from './executors/safe';

const key = (name: string) => keccak256(toHex(`approvals.test/${name}`));
const owners = ['a', 'b', 'c'].map((n) => privateKeyToAccount(key(n)));
const SAFE: Hex = '0x00000000000000000000000000000000005afe01';

const stepApproval = (over: Partial<Approval> = {}): Approval => ({
  actionId: '0xaa',
  incidentId: 'inc',
  chainId: 1,
  kind: 'step',
  status: 'awaiting',
  deadline: 1_000_000,
  request: { action: 'aave-v3.pause-reserve', playbookId: 'p', executor: 'guardian', summary: 'pause' },
  signatures: [],
  decidedBy: null,
  decidedAt: null,
  reason: null,
  createdAt: 0,
  updatedAt: 0,
  ...over,
});

const safeRequest = {
  safe: SAFE,
  chainId: 31337,
  safeTxHash: '0x' as Hex,
  tx: {
    to: '0x0000000000000000000000000000000000000b0b' as Hex,
    value: '0',
    data: '0x1234' as Hex,
    operation: 0 as const,
    safeTxGas: '0',
    baseGas: '0',
    gasPrice: '0',
    gasToken: '0x0000000000000000000000000000000000000000' as Hex,
    refundReceiver: '0x0000000000000000000000000000000000000000' as Hex,
    nonce: '7',
  },
  owners: owners.map((o) => o.address),
  threshold: 3,
};
safeRequest.safeTxHash = hashTypedData(safeTxTypedData(safeRequest));

const safeApproval = (over: Partial<Approval> = {}): Approval =>
  stepApproval({
    actionId: '0xbb',
    kind: 'safe-signatures',
    deadline: null,
    request: {
      action: 'aave-v3.pause-reserve',
      playbookId: 'p',
      executor: SAFE,
      summary: 'pause',
      safe: safeRequest,
    },
    signatures: [{ signer: owners[0]!.address, signature: '0x01', by: 'agent', at: 0 }],
    ...over,
  });

async function refusal(p: Promise<unknown>): Promise<string> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isFirebreakError(error, 'ERR_APPROVAL')).toBe(true);
  return (error as Error).message;
}

describe('checkDecision', () => {
  it('an unknown id lists what awaits', async () => {
    const message = await refusal(
      checkDecision(undefined, { actionId: '0xzz', decision: 'approve' }, [stepApproval(), safeApproval()]),
    );
    expect(message).toContain('no action 0xzz awaits approval');
    expect(message).toContain(
      'awaiting: 0xaa (aave-v3.pause-reserve, approval), 0xbb (aave-v3.pause-reserve, Safe signatures)',
    );
    expect(await refusal(checkDecision(undefined, { actionId: '0xzz', decision: 'reject' }, []))).toContain(
      'no action awaits approval now',
    );
  });

  it('an action already decided says how, by whom and when', async () => {
    const decided = stepApproval({
      status: 'rejected',
      decidedBy: 'carol',
      decidedAt: Date.UTC(2026, 0, 2),
      reason: 'no',
    });
    expect(await refusal(checkDecision(decided, { actionId: '0xaa', decision: 'approve' }, []))).toBe(
      'action 0xaa was already rejected by carol at 2026-01-02T00:00:00.000Z (no): nothing to decide',
    );
    const done = stepApproval({ status: 'done', decidedBy: 'bob', decidedAt: 0 });
    expect(await refusal(checkDecision(done, { actionId: '0xaa', decision: 'reject' }, []))).toContain(
      'was already approved by bob',
    );
  });

  it('a step takes an approval or a rejection, not a signature', async () => {
    expect(await checkDecision(stepApproval(), { actionId: '0xaa', decision: 'approve' }, [])).toEqual({
      type: 'approve',
    });
    expect(await checkDecision(stepApproval(), { actionId: '0xaa', decision: 'reject' }, [])).toEqual({
      type: 'reject',
    });
    expect(
      await refusal(
        checkDecision(stepApproval(), { actionId: '0xaa', decision: 'approve', signature: '0x00' }, []),
      ),
    ).toContain('waits for an approval, not a signature');
  });

  it('a scheduled timelock operation takes a rejection (which cancels it), not an approval', async () => {
    const scheduled = stepApproval({
      actionId: '0xcc',
      kind: 'timelock',
      deadline: null,
      request: { ...stepApproval().request, executor: '0x000000000000000000000000000000000071e10c' },
    });
    expect(await checkDecision(scheduled, { actionId: '0xcc', decision: 'reject' }, [])).toEqual({
      type: 'reject',
    });
    const message = await refusal(checkDecision(scheduled, { actionId: '0xcc', decision: 'approve' }, []));
    expect(message).toContain(
      'operation scheduled in timelock 0x000000000000000000000000000000000071e10c: it executes by itself',
    );
    expect(message).toContain('firebreak reject 0xcc');
    expect(
      await refusal(checkDecision(undefined, { actionId: '0xzz', decision: 'reject' }, [scheduled])),
    ).toContain('awaiting: 0xcc (aave-v3.pause-reserve, timelock operation, reject cancels it)');
  });

  it('a Safe signature must recover to an owner who has not signed', async () => {
    const signature = await signSafeTx(owners[1]!, safeRequest);
    expect(
      await checkDecision(safeApproval(), { actionId: '0xbb', decision: 'approve', signature }, []),
    ).toEqual({
      type: 'signature',
      signer: owners[1]!.address,
      signature,
    });
    expect(
      await refusal(checkDecision(safeApproval(), { actionId: '0xbb', decision: 'approve' }, [])),
    ).toContain("waits for Safe owners' signatures (1 of 3)");
    const again = await signSafeTx(owners[0]!, safeRequest);
    expect(
      await refusal(
        checkDecision(safeApproval(), { actionId: '0xbb', decision: 'approve', signature: again }, []),
      ),
    ).toContain(`owner ${owners[0]!.address} has already signed action 0xbb (by agent`);
    const outsider = privateKeyToAccount(key('outsider'));
    const foreign = await signSafeTx(outsider, safeRequest);
    expect(
      await refusal(
        checkDecision(safeApproval(), { actionId: '0xbb', decision: 'approve', signature: foreign }, []),
      ),
    ).toContain(`${outsider.address} is not an owner of Safe ${SAFE}`);
    // A signature of another Safe transaction (another nonce) recovers to someone else: refused.
    const otherNonce = await signSafeTx(owners[2]!, {
      ...safeRequest,
      tx: { ...safeRequest.tx, nonce: '8' },
    });
    expect(
      await refusal(
        checkDecision(safeApproval(), { actionId: '0xbb', decision: 'approve', signature: otherNonce }, []),
      ),
    ).toContain('is not an owner of Safe');
    expect(
      await refusal(
        checkDecision(safeApproval(), { actionId: '0xbb', decision: 'approve', signature: '0x1234' }, []),
      ),
    ).toContain('is not a valid signature');
  });
});

describe('applyDecision', () => {
  const repo = (initial: Approval[]): ApprovalRepository & { rows: Map<string, Approval> } => {
    const rows = new Map(initial.map((a) => [a.actionId, a]));
    return {
      rows,
      getApproval: async (id) => rows.get(id),
      upsertApproval: async (a) => {
        rows.set(a.actionId, a);
      },
      listApprovals: async (o) =>
        [...rows.values()].filter((a) => o?.status === undefined || a.status === o.status),
    };
  };

  it('records who approved or rejected, and when; adds a signature without deciding', async () => {
    const r = repo([stepApproval(), safeApproval()]);
    await applyDecision(
      r,
      { actionId: '0xaa', decision: 'reject', by: 'carol', at: 5, reason: 'false alarm' },
      6,
    );
    expect(r.rows.get('0xaa')).toMatchObject({
      status: 'rejected',
      decidedBy: 'carol',
      decidedAt: 5,
      reason: 'false alarm',
      updatedAt: 6,
    });
    const signature = await signSafeTx(owners[2]!, safeRequest);
    await applyDecision(r, { actionId: '0xbb', decision: 'approve', by: 'alice', at: 7, signature }, 8);
    expect(r.rows.get('0xbb')).toMatchObject({ status: 'awaiting', decidedBy: null });
    expect(r.rows.get('0xbb')!.signatures.at(-1)).toEqual({
      signer: owners[2]!.address,
      signature,
      by: 'alice',
      at: 7,
    });
    expect(
      await refusal(applyDecision(r, { actionId: '0xaa', decision: 'approve', by: 'x', at: 9 }, 9)),
    ).toContain('already rejected by carol');
  });
});

describe('the inbox', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('hands decisions over whole and in order; a temporary or unreadable file is never taken as one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'firebreak-inbox-'));
    dirs.push(dir);
    expect(takeDecisions(dir)).toEqual([]);
    const first = dropDecision(dir, { actionId: '0xaa', decision: 'approve', by: 'bob', at: 1 });
    dropDecision(dir, { actionId: '0xbb', decision: 'reject', by: 'carol', at: 2, reason: 'no' });
    // A writer caught mid-write (its temporary file) and a stray file that is not a decision.
    writeFileSync(join(dir, 'inbox', '.3-1-x.json.tmp'), '{"actionId":');
    writeFileSync(join(dir, 'inbox', '4-1-y.json'), '{"hello": 1}');
    const taken = takeDecisions(dir);
    expect(taken.map((t) => ('decision' in t ? t.decision.actionId : `error: ${t.error}`))).toEqual([
      '0xaa',
      '0xbb',
      'error: not a decision (actionId, decision, by, at)',
    ]);
    expect(readdirSync(join(dir, 'inbox')).filter((n) => n.endsWith('.tmp'))).toHaveLength(1);
    expect(existsSync(first)).toBe(true);
  });

  it('the state file is replaced whole', () => {
    const dir = mkdtempSync(join(tmpdir(), 'firebreak-inbox-'));
    dirs.push(dir);
    expect(readApprovalsState(dir)).toBeUndefined();
    writeApprovalsState(dir, { pid: 1, writtenAt: 2, approvals: [stepApproval()] });
    writeApprovalsState(dir, { pid: 1, writtenAt: 3, approvals: [] });
    expect(readApprovalsState(dir)).toEqual({ pid: 1, writtenAt: 3, approvals: [] });
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
