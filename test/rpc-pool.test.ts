// The RPC pool over real HTTP: one embedded chain served on loopback, three fault-injecting proxies
// in front of it (the pool's three "providers"), and the chain's own in-process client as the
// truth to compare with. Every endpoint URL carries a fake API key in its path, which must never
// reach a label, a metric, a log line or an error.
import { Writable } from 'node:stream';
import {
  BaseError,
  ContractFunctionRevertedError,
  encodeErrorResult,
  encodeFunctionData,
  type Hex,
  parseEther,
} from 'viem';
import { getBalance, getBlock, getBlockNumber, readContract } from 'viem/actions';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEmbeddedChain, type EmbeddedChain, type ServedChain } from '../src/chain/embedded';
import {
  createMetrics,
  type MetricsRegistry,
  type MetricsSnapshot,
  toPrometheus,
} from '../src/chain/metrics';
import {
  createRpcPool,
  JsonRpcError,
  type RpcPool,
  type RpcPoolOptions,
  recordingClient,
} from '../src/chain/rpc-pool';
import { createCommon } from '../src/common/common';
import { FirebreakError, isFirebreakError } from '../src/common/errors';
import { createLogger } from '../src/common/logger';
import { type Fault, type FaultProxy, lieAbout, startFaultProxy } from './support/fault-proxy';

const KEY = 'fbk-test-apikey';
const REVERTER = '0x00000000000000000000000000000000000b00b5' as const;
const reverterAbi = [
  { type: 'function', name: 'poke', inputs: [], outputs: [{ type: 'uint256' }], stateMutability: 'view' },
  { type: 'error', name: 'Boom', inputs: [{ name: 'code', type: 'uint256' }] },
] as const;

const ANSWERER = '0x00000000000000000000000000000000000a0042' as const;
const answererAbi = [
  { type: 'function', name: 'answer', inputs: [], outputs: [{ type: 'uint256' }], stateMutability: 'view' },
] as const;

/** Runtime code that reverts with `data` whatever it is called with: CODECOPY the tail, REVERT. */
function revertingRuntime(data: Hex): Hex {
  const len = (data.length - 2) / 2;
  const l = len.toString(16).padStart(2, '0');
  return `0x60${l}600c60003960${l}6000fd${data.slice(2)}`;
}

/** Reads a counter series from a snapshot (0 when absent). */
function counterValue(snapshot: MetricsSnapshot, name: string, labels: Record<string, string>): number {
  const metric = snapshot.metrics.find((m) => m.name === name);
  if (metric?.type !== 'counter') return 0;
  const series = metric.series.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return series?.value ?? 0;
}

describe('RPC pool over three faulty proxies in front of one served chain', () => {
  let chain: EmbeddedChain;
  let served: ServedChain;
  let proxies: FaultProxy[];
  let pool: RpcPool | undefined;
  let metrics: MetricsRegistry;
  let logLines: string[];
  const BLOCK = 3n;
  let codeBlock: bigint;

  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: 3 });
    const [a, b] = chain.accounts;
    for (let i = 0; i < 5; i++) {
      await chain.client.sendTransaction({
        account: a!.account,
        to: b!.address,
        value: parseEther(String(i + 1)),
        chain: chain.chain,
      });
    }
    await chain.client.setCode({
      address: REVERTER,
      bytecode: revertingRuntime(encodeErrorResult({ abi: reverterAbi, errorName: 'Boom', args: [42n] })),
    });
    // Returns 42 to any call: PUSH1 42, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN.
    await chain.client.setCode({ address: ANSWERER, bytecode: '0x602a60005260206000f3' });
    codeBlock = await chain.mine(); // the first block with both contracts' code
    served = await chain.serve();
    proxies = await Promise.all([0, 1, 2].map(() => startFaultProxy({ target: served.url })));
  });

  afterAll(async () => {
    await Promise.all((proxies ?? []).map((p) => p.close()));
    await served?.close();
    await chain?.close();
  });

  beforeEach(() => {
    for (const p of proxies) {
      p.setFault(undefined);
      p.resetStats();
    }
    metrics = createMetrics();
    logLines = [];
  });

  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  const open = (extra: Partial<RpcPoolOptions> = {}, which: readonly number[] = [0, 1, 2]): RpcPool => {
    const destination = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    pool = createRpcPool({
      chainId: chain.chainId,
      endpoints: which.map((i) => ({ url: `${proxies[i]!.url}/v2/${KEY}-${i}` })),
      common: createCommon({ logger: createLogger({ level: 'warn', destination }) }),
      metrics,
      timeoutMs: 2_000, // generous: CI runs other EVM-heavy test files at the same time
      backoff: { baseMs: 10, maxMs: 100 },
      ...extra,
    });
    return pool;
  };
  const label = (i: number) => `${proxies[i]!.url}/…`;

  it('labels endpoints by their redacted URL', () => {
    const p = open();
    expect(p.labels).toEqual([label(0), label(1), label(2)]);
    expect(p.health().map((h) => h.label)).toEqual(p.labels);
  });

  it.each<[string, Fault, string]>([
    ['a dropped connection', { kind: 'drop' }, 'network'],
    ['a delay beyond the timeout', { kind: 'delay', ms: 6_000 }, 'timeout'],
    ['HTTP 429', { kind: 'http-429', retryAfterS: 5 }, 'http-429'],
    ['HTTP 503', { kind: 'http-503' }, 'http-5xx'],
    ['truncated JSON', { kind: 'truncate' }, 'bad-response'],
  ])('returns the right block and balance despite %s on endpoint 1', async (_name, fault, kind) => {
    proxies[0]!.setFault(fault);
    const p = open();
    const [a] = chain.accounts;
    const block = await getBlock(p.client, { blockNumber: BLOCK });
    expect(block).toEqual(await chain.client.getBlock({ blockNumber: BLOCK }));
    const balance = await getBalance(p.client, { address: a!.address, blockNumber: BLOCK });
    expect(balance).toBe(await chain.client.getBalance({ address: a!.address, blockNumber: BLOCK }));

    expect(proxies[0]!.stats().faults[fault.kind]).toBe(1);
    expect(counterValue(metrics.snapshot(), 'firebreak_rpc_errors_total', { endpoint: label(0), kind })).toBe(
      1,
    );
    // The failing endpoint went behind the healthy ones: the second read did not touch it.
    expect(p.health()[0]!.label).not.toBe(label(0));
    expect(p.health().find((h) => h.label === label(0))!.lastError).toBe(kind);
  });

  it('sends the requests started together to one endpoint as one JSON-RPC batch, each answered as alone', async () => {
    const p = open({}, [0]);
    const accounts = chain.accounts.map((a) => a.address);
    const reads = () =>
      Promise.all(accounts.map((address) => getBalance(p.client, { address, blockNumber: BLOCK })));
    await reads(); // warm: the connection is open
    proxies[0]!.resetStats();
    const balances = await reads();
    expect(proxies[0]!.stats()).toMatchObject({ requests: 1, byMethod: { eth_getBalance: accounts.length } });
    expect(balances).toEqual(
      await Promise.all(accounts.map((address) => chain.client.getBalance({ address, blockNumber: BLOCK }))),
    );
    // A revert inside a batch is that request's answer alone.
    const [revert, answer] = await Promise.allSettled([
      readContract(p.client, {
        address: REVERTER,
        abi: reverterAbi,
        functionName: 'poke',
        blockNumber: codeBlock,
      }),
      getBalance(p.client, { address: accounts[0]!, blockNumber: BLOCK }),
    ]);
    expect(revert.status).toBe('rejected');
    expect(answer).toEqual({ status: 'fulfilled', value: balances[0] });
  });

  it('asks an endpoint that refuses batches one request at a time, and says so once', async () => {
    proxies[0]!.setFault({ kind: 'no-batch' });
    const p = open({}, [0]);
    const accounts = chain.accounts.map((a) => a.address);
    const balances = await Promise.all(
      accounts.map((address) => getBalance(p.client, { address, blockNumber: BLOCK })),
    );
    expect(balances).toEqual(
      await Promise.all(accounts.map((address) => chain.client.getBalance({ address, blockNumber: BLOCK }))),
    );
    proxies[0]!.resetStats();
    await Promise.all(accounts.map((address) => getBalance(p.client, { address, blockNumber: BLOCK })));
    expect(proxies[0]!.stats().requests).toBe(accounts.length);
    expect(logLines.filter((l) => l.includes('does not take JSON-RPC batches'))).toHaveLength(1);
    expect(logLines.join('')).not.toContain(KEY);
  });

  it('retries a healthy endpoint after a transient failure even when another endpoint is dead (maxRetries 1, as firebreak run)', async () => {
    proxies[0]!.setFault({ kind: 'drop' }); // dead for good
    proxies[1]!.setFault({ kind: 'drop' }, { times: 1 }); // one reset connection, then fine
    const p = open({ maxRetries: 1 }, [0, 1]);
    expect(await getBlockNumber(p.client)).toBe(await chain.client.getBlockNumber());
    expect(proxies[1]!.stats().requests).toBe(2);
  });

  it('waits out Retry-After when the only endpoint answers 429, then succeeds', async () => {
    proxies[0]!.setFault({ kind: 'http-429', retryAfterS: 1 }, { times: 1 });
    const p = open({}, [0]);
    const started = performance.now();
    const n = await getBlockNumber(p.client);
    const elapsed = performance.now() - started;
    expect(n).toBe(await chain.client.getBlockNumber());
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(3_000);
    expect(proxies[0]!.stats().requests).toBe(2);
  });

  it('moves to the next endpoint at once on 429 and keeps the limited one aside for Retry-After', async () => {
    proxies[0]!.setFault({ kind: 'http-429', retryAfterS: 5 });
    const p = open();
    const started = performance.now();
    await getBlockNumber(p.client);
    expect(performance.now() - started).toBeLessThan(2_000); // far below the 5 s Retry-After
    const limited = p.health().find((h) => h.label === label(0))!;
    expect(limited.status).toBe('rate-limited');
    expect(limited.availableInMs).toBeGreaterThan(3_000);
    for (let i = 0; i < 5; i++) await p.request('eth_blockNumber');
    expect(proxies[0]!.stats().requests).toBe(1);
  });

  it('fails with ERR_RPC_UNREACHABLE when a Retry-After is longer than it may wait', async () => {
    proxies[0]!.setFault({ kind: 'http-429', retryAfterS: 60 });
    const p = open({ maxRetryAfterMs: 1_000 }, [0]);
    const error = await p.request('eth_blockNumber').catch((e: unknown) => e);
    expect(isFirebreakError(error, 'ERR_RPC_UNREACHABLE')).toBe(true);
    expect((error as FirebreakError).message).toMatch(/rate-limited/);
    expect(proxies[0]!.stats().requests).toBe(1);
  });

  it('refuses an answer larger than maxResponseBytes as a bad response', async () => {
    const p = open({ maxResponseBytes: 256, maxRetries: 0 }, [0]);
    const error = await p.request('eth_getBlockByNumber', ['0x3', true]).catch((e: unknown) => e);
    expect(isFirebreakError(error, 'ERR_RPC_UNREACHABLE')).toBe(true);
    expect(counterValue(metrics.snapshot(), 'firebreak_rpc_errors_total', { kind: 'bad-response' })).toBe(1);
    expect(await p.request('eth_blockNumber')).toMatch(/^0x/);
  });

  it('returns a revert from eth_call as a decodable revert, without asking another endpoint', async () => {
    const p = open();
    const error = await readContract(p.client, {
      address: REVERTER,
      abi: reverterAbi,
      functionName: 'poke',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BaseError);
    const revert = (error as BaseError).walk((e) => e instanceof ContractFunctionRevertedError) as
      | ContractFunctionRevertedError
      | undefined;
    expect(revert?.data?.errorName).toBe('Boom');
    expect(revert?.data?.args).toEqual([42n]);

    const raw = await p
      .request('eth_call', [
        { to: REVERTER, data: encodeFunctionData({ abi: reverterAbi, functionName: 'poke' }) },
        'latest',
      ])
      .catch((e: unknown) => e);
    expect(raw).toBeInstanceOf(JsonRpcError);
    expect((raw as JsonRpcError).code).toBe(3);
    expect((raw as JsonRpcError).data).toBe(
      encodeErrorResult({ abi: reverterAbi, errorName: 'Boom', args: [42n] }),
    );

    // One endpoint asked per request: a revert is an answer, not a reason to fail over. Which
    // endpoint answers the second request depends on the latency ranking (a loaded machine can
    // make the first endpoint's first answer slow enough to rank it below the untried ones), so
    // the count is taken over all three.
    const calls = proxies.map((proxy) => proxy.stats().byMethod.eth_call ?? 0);
    expect(calls.reduce((a, b) => a + b, 0)).toBe(2);
    expect(calls[0]).toBeGreaterThanOrEqual(1);
    // An answer, not an endpoint failure.
    for (const h of p.health()) expect(h.failures).toBe(0);
  });

  it('outvotes a lying endpoint (wrong block hash) with k=2 of 3, reports it and demotes it for good', async () => {
    proxies[0]!.setFault({ kind: 'lie', seed: 'liar' });
    const p = open();
    const truth = await chain.client.getBlock({ blockNumber: BLOCK });

    const confirmed = await p.confirmBlockHash(BLOCK, truth.hash, 2);
    expect(confirmed.value).toBe(truth.hash.toLowerCase());
    expect(confirmed.agreeing.sort()).toEqual([label(1), label(2)].sort());
    expect(confirmed.disagreeing).toEqual([{ label: label(0), value: lieAbout(truth.hash, 'liar') }]);
    expect(confirmed.failed).toEqual([]);

    const liar = p.health().find((h) => h.label === label(0))!;
    expect(liar.demoted).toBe(true);
    expect(liar.lastError).toBe('disagreement');
    // Never first again, however well it answers ordinary reads afterwards.
    for (let i = 0; i < 20; i++) {
      await p.request('eth_blockNumber');
      expect(p.health()[0]!.label).not.toBe(label(0));
    }
    expect(p.health().at(-1)!.label).toBe(label(0));

    const snapshot = metrics.snapshot();
    expect(
      counterValue(snapshot, 'firebreak_rpc_errors_total', { endpoint: label(0), kind: 'disagreement' }),
    ).toBe(1);
    const warn = logLines.find((l) => l.includes('disagrees with the quorum'));
    expect(warn).toContain(label(0));
    expect(logLines.join('\n')).not.toContain(KEY);
  });

  it('outvotes a liar on whole blocks (deep-equal) and on state reads (eth_call)', async () => {
    proxies[1]!.setFault({ kind: 'lie', seed: 'liar' });
    const p = open();
    const truth = await chain.client.request({
      method: 'eth_getBlockByNumber',
      params: [`0x${BLOCK.toString(16)}`, false],
    });
    const whole = await p.quorumRead({
      method: 'eth_getBlockByNumber',
      params: [`0x${BLOCK.toString(16)}`, false],
      k: 2,
    });
    expect(whole.value).toEqual(truth);
    expect(whole.disagreeing.map((d) => d.label)).toEqual([label(1)]);

    const [a] = chain.accounts;
    const data = '0x70a08231' as Hex; // any selector: an EOA answers 0x to every call
    const calls = [
      { to: a!.address, data, blockNumber: BLOCK },
      { to: REVERTER.replace('b5', 'b6') as Hex, data, blockNumber: BLOCK },
    ];
    const results = await p.confirmCalls(calls, ['0x', '0x'], 2);
    expect(results.map((r) => r.agreeing.length)).toEqual([2, 2]);
    expect(results[0]!.disagreeing).toEqual([{ label: label(1), value: lieAbout('0x', 'liar') }]);
  });

  it('records the block-pinned state reads behind a finding and confirms them against the liar', async () => {
    proxies[0]!.setFault({ kind: 'lie', seed: 'liar' }, { methods: ['eth_call'] });
    const p = open();
    const reads = recordingClient(p);
    const read = (client: typeof reads.client, blockNumber?: bigint) =>
      readContract(client, {
        address: ANSWERER,
        abi: answererAbi,
        functionName: 'answer',
        ...(blockNumber === undefined ? {} : { blockNumber }),
      });
    // The primary lies to the ordinary read: only the quorum can tell.
    expect(await read(reads.client, codeBlock)).not.toBe(42n);
    await read(reads.client); // at a tag: not recorded
    const calls = reads.calls();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ to: ANSWERER, blockNumber: codeBlock });
    const error = await p
      .confirmCalls(
        calls,
        calls.map((c) => c.result),
        2,
      )
      .catch((e: unknown) => e);
    expect((error as FirebreakError).code).toBe('ERR_QUORUM_NOT_MET');
    expect((error as FirebreakError).details).toMatchObject({ reason: 'mismatch', index: 0 });
    // The liar is demoted now: the same read through the pool gets the truth, which confirms.
    const again = recordingClient(p);
    expect(await read(again.client, codeBlock)).toBe(42n);
    const confirmed = await p.confirmCalls(
      again.calls(),
      again.calls().map((c) => c.result),
      2,
    );
    expect(confirmed[0]!.agreeing).toHaveLength(2);
    expect(confirmed[0]!.disagreeing.map((d) => d.label)).toEqual([label(0)]);
  });

  it('asks an endpoint that is behind again instead of counting its null as a vote', async () => {
    proxies[0]!.setFault({ kind: 'behind' }, { methods: ['eth_getBlockByNumber'], times: 2 });
    const p = open({ quorumTimeoutMs: 400 });
    const truth = await chain.client.getBlock({ blockNumber: BLOCK });
    const all = await p.confirmBlockHash(BLOCK, truth.hash, 3);
    expect(all.agreeing).toHaveLength(3);
    expect(proxies[0]!.stats().byMethod.eth_getBlockByNumber).toBe(3);

    // Behind for longer than the deadline: failed, not disagreeing, and not demoted.
    proxies[0]!.setFault({ kind: 'behind' }, { methods: ['eth_getBlockByNumber'] });
    const error = await p.confirmBlockHash(BLOCK, truth.hash, 3).catch((e: unknown) => e);
    expect((error as FirebreakError).code).toBe('ERR_QUORUM_NOT_MET');
    expect((error as FirebreakError).details.failed).toEqual([
      { label: label(0), kind: 'timeout', message: expect.stringMatching(/not available/) },
    ]);
    const two = await p.confirmBlockHash(BLOCK, truth.hash, 2);
    expect(two.disagreeing).toEqual([]);
    expect(p.health().every((h) => !h.demoted)).toBe(true);
    // An ordinary read asks the others when one endpoint has no such block.
    expect((await getBlock(p.client, { blockNumber: BLOCK })).hash).toBe(truth.hash);
  });

  it('never lets a lone liar confirm: with the honest endpoints down, k=2 is not met', async () => {
    proxies[0]!.setFault({ kind: 'lie', seed: 'liar' });
    proxies[1]!.setFault({ kind: 'drop' });
    proxies[2]!.setFault({ kind: 'http-503' });
    const p = open({ quorumTimeoutMs: 600 });
    const truth = await chain.client.getBlock({ blockNumber: BLOCK });
    const error = await p.confirmBlockHash(BLOCK, lieAbout(truth.hash, 'liar'), 2).catch((e: unknown) => e);
    expect(isFirebreakError(error)).toBe(true);
    expect((error as FirebreakError).code).toBe('ERR_QUORUM_NOT_MET');
    expect((error as FirebreakError).details.reason).toBe('no-quorum');
    expect((error as FirebreakError).details.failed).toHaveLength(2);
  });

  it('with 2 of 3 lying differently, k=2 fails with ERR_QUORUM_NOT_MET and demotes nobody', async () => {
    proxies[0]!.setFault({ kind: 'lie', seed: 'one' });
    proxies[1]!.setFault({ kind: 'lie', seed: 'two' });
    const p = open();
    const truth = await chain.client.getBlock({ blockNumber: BLOCK });
    const error = await p.confirmBlockHash(BLOCK, truth.hash, 2).catch((e: unknown) => e);
    expect((error as FirebreakError).code).toBe('ERR_QUORUM_NOT_MET');
    expect((error as FirebreakError).details.groups).toHaveLength(3);
    expect(JSON.stringify((error as FirebreakError).details)).not.toContain(KEY);
    expect(p.health().every((h) => !h.demoted)).toBe(true);
  });

  // Documented limit: a quorum of k tolerates at most k-1 endpoints that tell the SAME lie. Two
  // colluding (or identically broken) providers out of three win a k=2 vote, and the honest one is
  // the one reported and demoted. Only k=3 (all must agree) refuses; the expected-hash check of
  // confirmBlockHash refuses too, since the engine's own block came from an honest read.
  it('with 2 of 3 telling the same lie, k=2 returns the lie (documented), k=3 refuses', async () => {
    proxies[0]!.setFault({ kind: 'lie', seed: 'same' });
    proxies[1]!.setFault({ kind: 'lie', seed: 'same' });
    const p = open();
    const truth = await chain.client.getBlock({ blockNumber: BLOCK });
    const params = [`0x${BLOCK.toString(16)}`, false];
    const select = (b: unknown) => (b as { hash: Hex }).hash;

    const k3 = await p
      .quorumRead({ method: 'eth_getBlockByNumber', params, k: 3, select })
      .catch((e: unknown) => e);
    expect((k3 as FirebreakError).code).toBe('ERR_QUORUM_NOT_MET');

    const k2 = await p.quorumRead({ method: 'eth_getBlockByNumber', params, k: 2, select });
    expect(k2.value).toBe(lieAbout(truth.hash, 'same'));
    expect(k2.disagreeing).toEqual([{ label: label(2), value: truth.hash }]);
    expect(p.health().find((h) => h.label === label(2))!.demoted).toBe(true);

    const confirm = await p.confirmBlockHash(BLOCK, truth.hash, 2).catch((e: unknown) => e);
    expect((confirm as FirebreakError).code).toBe('ERR_QUORUM_NOT_MET');
    expect((confirm as FirebreakError).details.reason).toBe('mismatch');
  });

  it('counts calls and errors per endpoint under redacted labels, and keeps the key out of everything', async () => {
    proxies[0]!.setFault({ kind: 'http-503' }, { times: 2 });
    proxies[1]!.setFault({ kind: 'truncate' }, { times: 1 });
    const p = open();
    for (let i = 0; i < 6; i++) await p.request('eth_blockNumber');
    const snapshot = metrics.snapshot();
    for (const i of [0, 1, 2]) {
      expect(counterValue(snapshot, 'firebreak_rpc_requests_total', { endpoint: label(i) })).toBe(
        proxies[i]!.stats().requests,
      );
    }
    expect(
      counterValue(snapshot, 'firebreak_rpc_errors_total', { endpoint: label(0), kind: 'http-5xx' }),
    ).toBe(1);
    expect(
      counterValue(snapshot, 'firebreak_rpc_errors_total', { endpoint: label(1), kind: 'bad-response' }),
    ).toBe(1);
    const chainCalls = counterValue(snapshot, 'firebreak_rpc_chain_requests_total', {
      chain: String(chain.chainId),
    });
    expect(chainCalls).toBe(proxies.reduce((sum, x) => sum + x.stats().requests, 0));
    const text = toPrometheus(snapshot);
    expect(text).toContain(
      `firebreak_rpc_errors_total{chain="${chain.chainId}",endpoint="${label(0)}",kind="http-5xx"} 1`,
    );
    expect(text).toMatch(
      /firebreak_rpc_request_duration_seconds\{chain="\d+",endpoint="[^"]+",quantile="0.99"\} [\d.e-]+/,
    );
    expect(JSON.stringify(snapshot)).not.toContain(KEY);
    expect(text).not.toContain(KEY);

    // Every endpoint down: the error names endpoints by label and carries no cause.
    for (const x of proxies) x.setFault({ kind: 'drop' });
    const error = await p.request('eth_blockNumber').catch((e: unknown) => e);
    expect(isFirebreakError(error, 'ERR_RPC_UNREACHABLE')).toBe(true);
    expect((error as Error).cause).toBeUndefined();
    expect((error as Error).message).toContain(label(0));
    expect(`${(error as Error).message} ${JSON.stringify((error as FirebreakError).details)}`).not.toContain(
      KEY,
    );
    // Through viem: its error wraps ours (viem has no URL to add: the transport is the pool).
    const viaViem = await getBlockNumber(p.client).catch((e: unknown) => e);
    expect(viaViem).toBeInstanceOf(BaseError);
    expect((viaViem as BaseError).walk((e) => e instanceof FirebreakError)).toBeInstanceOf(FirebreakError);
    expect(String((viaViem as BaseError).message)).not.toContain(KEY);
  });

  it('cools a dead endpoint down and probes it again after the cooldown', async () => {
    proxies[0]!.setFault({ kind: 'drop' });
    const p = open({ health: { cooldownMs: 300, failuresBeforeCooldown: 1 } });
    await p.request('eth_blockNumber');
    const dead = p.health().find((h) => h.label === label(0))!;
    expect(dead.status).toBe('cooldown');
    proxies[0]!.setFault(undefined);
    // Cooling: the others serve; after the cooldown and a failure of both others, it is probed.
    await new Promise((r) => setTimeout(r, 350));
    proxies[1]!.setFault({ kind: 'drop' }, { times: 1 });
    proxies[2]!.setFault({ kind: 'drop' }, { times: 1 });
    await p.request('eth_blockNumber');
    expect(p.health().find((h) => h.label === label(0))!.status).toBe('up');
    expect(proxies[0]!.stats().requests).toBeGreaterThanOrEqual(2);
    const warn = logLines.find((l) => l.includes('cooling down'));
    expect(warn).toContain(label(0));
  });
});
