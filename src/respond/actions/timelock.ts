/**
 * Respond / actions — `timelock.cancel`: cancel a call queued in an OpenZeppelin
 * `TimelockController` before it can execute (SCENARIOS.md §7: a proposal that moves the treasury
 * or changes an admin, queued inside the governance delay). The operation comes from the finding:
 * `governance-watch` puts the timelock and the operation id in its evidence (`timelock`,
 * `operationId`); a step `target`, when given, restricts the action to that timelock.
 *
 * The executor's account needs the timelock's CANCELLER_ROLE. Cancelling only removes a pending
 * change; governance can queue it again, and a call already executed cannot be cancelled (the plan
 * is refused, saying so).
 */
import { type Client, type Hex, parseAbi } from 'viem';
import { readContract } from 'viem/actions';
import type { PlanBuilder } from '../responder';
import type { ActionPlan } from '../types';

/** The part of OpenZeppelin's TimelockController (v4.x and v5.x) the action uses. */
export const timelockControllerAbi = parseAbi([
  'function cancel(bytes32 id)',
  'function isOperation(bytes32 id) view returns (bool)',
  'function isOperationPending(bytes32 id) view returns (bool)',
  'function isOperationDone(bytes32 id) view returns (bool)',
  'function CANCELLER_ROLE() view returns (bytes32)',
  'function hasRole(bytes32 role, address account) view returns (bool)',
]);

export interface TimelockPlanBuilderOptions {
  clientFor(chainId: number): Client | undefined;
}

const isHex = (v: unknown, length: number): v is Hex =>
  typeof v === 'string' && new RegExp(`^0x[0-9a-fA-F]{${length}}$`).test(v);

export function createTimelockPlanBuilder(options: TimelockPlanBuilderOptions): PlanBuilder {
  return async (decision, id) => {
    const { finding } = decision.result;
    if (decision.step.action !== 'timelock.cancel') throw new Error(`unknown action ${decision.step.action}`);
    const timelock = finding.evidence.timelock;
    const operation = finding.evidence.operationId;
    if (!isHex(timelock, 40) || !isHex(operation, 64))
      throw new Error(
        `timelock.cancel needs a finding about a queued timelock call (evidence timelock and operationId, as governance-watch gives); ${finding.detector} gave none`,
      );
    const target = decision.step.target;
    if (target !== undefined && target.toLowerCase() !== timelock.toLowerCase())
      throw new Error(`the finding is about timelock ${timelock}; the step may only cancel in ${target}`);
    const client = options.clientFor(finding.subject.chainId);
    if (!client) throw new Error(`timelock.cancel: no client for chain ${finding.subject.chainId}`);
    const read = (
      functionName: 'isOperation' | 'isOperationPending' | 'isOperationDone',
      blockNumber?: bigint,
    ) =>
      readContract(client, {
        address: timelock,
        abi: timelockControllerAbi,
        functionName,
        args: [operation],
        ...(blockNumber === undefined ? {} : { blockNumber }),
      });
    if (await read('isOperationDone'))
      throw new Error(`operation ${operation} has already executed: too late to cancel`);
    // Not (or no longer) queued: cancelled already, nothing to send.
    if (!(await read('isOperationPending'))) return null;
    const plan: ActionPlan = {
      id,
      action: decision.step.action,
      chainId: finding.subject.chainId,
      incidentId: decision.result.incident.id,
      playbookId: decision.playbook.id,
      riskReducing: true,
      calls: [
        {
          to: timelock,
          abi: timelockControllerAbi,
          functionName: 'cancel',
          args: [operation],
          description: `Cancel operation ${operation.slice(0, 10)}… queued in timelock ${timelock} (cancel(id))`,
        },
      ],
      effects: [
        { description: 'operation no longer queued', read: () => read('isOperation'), expected: false },
      ],
      blastRadius: `timelock ${timelock}: only the one queued operation is removed (${String(finding.evidence.function ?? 'its calls')}); governance may queue it again; nothing else changes`,
    };
    return plan;
  };
}
