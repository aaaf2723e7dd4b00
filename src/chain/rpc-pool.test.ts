// Pure parts of the RPC pool (backoff, Retry-After, response classification, health, quorum
// grouping) and the metrics registry, with a hand-driven clock. The pool over real HTTP is tested
// in test/rpc-pool.test.ts.
import { describe, expect, it } from 'vitest';
import type { Clock } from '../common/common';
import { registerSecret } from '../common/errors';
import { createMetrics, quantileSorted, rpcMetrics, toPrometheus } from './metrics';
import {
  backoffDelay,
  canonicalKey,
  DEFAULT_HEALTH,
  type EndpointState,
  endpointLabel,
  groupVotes,
  initialEndpointState,
  interpretResponse,
  isDeterministicRpcError,
  normalizeRpcError,
  parseRetryAfter,
  pickQuorum,
  rankEndpoints,
  recordDisagreement,
  recordFailure,
  recordSuccess,
  scoreOf,
} from './rpc-pool';

const manualClock = (start = 1_000_000) => {
  let t = start;
  const clock: Clock = { now: () => t, monotonic: () => t };
  return { clock, advance: (ms: number) => (t += ms) };
};

describe('backoffDelay', () => {
  const policy = { baseMs: 50, maxMs: 2_000, jitter: 0.5 };

  it('doubles per round up to the cap, without jitter when random() is 0', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((r) => backoffDelay(r, policy, () => 0))).toEqual([
      50, 100, 200, 400, 800, 1_600, 2_000, 2_000,
    ]);
  });

  it('takes away at most the jitter fraction', () => {
    expect(backoffDelay(3, policy, () => 1)).toBe(200);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(300);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(4, policy);
      expect(d).toBeGreaterThanOrEqual(400);
      expect(d).toBeLessThanOrEqual(800);
    }
  });

  it('with full jitter can go down to zero', () => {
    expect(backoffDelay(2, { ...policy, jitter: 1 }, () => 1)).toBe(0);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  it('reads seconds, fractions and HTTP dates', () => {
    expect(parseRetryAfter('2', now)).toBe(2_000);
    expect(parseRetryAfter(' 0.5 ', now)).toBe(500);
    expect(parseRetryAfter('Wed, 01 May 2024 12:00:03 GMT', now)).toBe(3_000);
    expect(parseRetryAfter('Wed, 01 May 2024 11:00:00 GMT', now)).toBe(0);
  });
  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('interpretResponse', () => {
  const now = Date.now();
  const ok = (result: unknown, id = 7) => JSON.stringify({ jsonrpc: '2.0', id, result });
  const err = (code: number, message: string, data?: unknown) =>
    JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      error: { code, message, ...(data === undefined ? {} : { data }) },
    });

  it('returns the result, null included', () => {
    expect(interpretResponse(200, undefined, ok('0x10'), 7, now)).toEqual({ ok: true, result: '0x10' });
    expect(interpretResponse(200, undefined, ok(null), 7, now)).toEqual({ ok: true, result: null });
  });

  it('classifies transport failures as retryable kinds', () => {
    expect(interpretResponse(429, '3', '', 7, now)).toMatchObject({
      ok: false,
      kind: 'http-429',
      retryAfterMs: 3_000,
      deterministic: false,
    });
    expect(interpretResponse(503, undefined, 'Service Unavailable', 7, now)).toMatchObject({
      kind: 'http-5xx',
    });
    expect(interpretResponse(200, undefined, ok('0x10').slice(0, 20), 7, now)).toMatchObject({
      kind: 'bad-response',
      detail: expect.stringMatching(/malformed JSON/),
    });
    expect(interpretResponse(200, undefined, '{"jsonrpc":"2.0","id":7}', 7, now)).toMatchObject({
      kind: 'bad-response',
    });
    expect(interpretResponse(200, undefined, ok('0x10', 8), 7, now)).toMatchObject({
      kind: 'bad-response',
      detail: expect.stringMatching(/id mismatch/),
    });
    expect(interpretResponse(403, undefined, 'forbidden', 7, now)).toMatchObject({
      kind: 'bad-response',
      detail: 'HTTP 403',
    });
  });

  it('turns a Hardhat-style revert into code 3 with its data, deterministic', () => {
    const data = '0xdeadbeef000000000000000000000000000000000000000000000000000000000000002a';
    const out = interpretResponse(
      200,
      undefined,
      err(-32603, 'Error: VM Exception while processing transaction: reverted with …', {
        message: 'x',
        data,
      }),
      7,
      now,
    );
    expect(out).toMatchObject({
      ok: false,
      kind: 'rpc-error',
      deterministic: true,
      rpcError: { code: 3, data },
    });
  });

  it('keeps geth-style reverts, invalid params and rejected transactions deterministic', () => {
    expect(isDeterministicRpcError({ code: 3, message: 'execution reverted', data: '0x' })).toBe(true);
    expect(isDeterministicRpcError({ code: -32000, message: 'execution reverted' })).toBe(true);
    expect(isDeterministicRpcError({ code: -32602, message: 'invalid argument 0' })).toBe(true);
    expect(isDeterministicRpcError({ code: -32000, message: 'nonce too low' })).toBe(true);
    expect(isDeterministicRpcError({ code: -32000, message: 'header not found' })).toBe(false);
    expect(isDeterministicRpcError({ code: -32601, message: 'the method does not exist' })).toBe(false);
    expect(normalizeRpcError({ code: -32000, message: 'execution reverted' })).toEqual({
      code: 3,
      message: 'execution reverted',
      data: '0x',
    });
  });

  it('retries endpoint-specific JSON-RPC errors elsewhere, and treats rate-limit bodies as 429', () => {
    expect(interpretResponse(200, undefined, err(-32000, 'header not found'), 7, now)).toMatchObject({
      kind: 'rpc-error',
      deterministic: false,
    });
    expect(interpretResponse(200, undefined, err(-32005, 'limit exceeded'), 7, now)).toMatchObject({
      kind: 'http-429',
    });
    expect(interpretResponse(500, undefined, err(-32603, 'internal error'), 7, now)).toMatchObject({
      kind: 'http-5xx',
    });
  });

  it('never puts a URL path into a detail', () => {
    const out = interpretResponse(
      200,
      undefined,
      err(-32000, 'upstream https://rpc.example/v2/KEY123 failed', {
        message: 'https://rpc.example/?key=KEY123',
      }),
      7,
      now,
    );
    expect(JSON.stringify(out)).not.toContain('KEY123');
  });
});

describe('endpointLabel', () => {
  it('keeps scheme, host and port, and marks a path or query', () => {
    expect(endpointLabel(new URL('https://u:p@eth.example/v2/KEY'))).toBe('https://eth.example/…');
    expect(endpointLabel(new URL('http://127.0.0.1:8545'))).toBe('http://127.0.0.1:8545');
    expect(endpointLabel(new URL('https://eth.example/?apikey=KEY'))).toBe('https://eth.example/…');
  });
  it('does not depend on the URL being a registered secret', () => {
    const url = 'https://registered.example/v3/abcdef0123456789';
    registerSecret(url);
    expect(endpointLabel(new URL(url))).toBe('https://registered.example/…');
  });
});

describe('endpoint health', () => {
  const policy = DEFAULT_HEALTH;
  const fail = (s: EndpointState, n: number, now: number) => {
    let out = s;
    for (let i = 0; i < n; i++) out = recordFailure(out, 'network', now, policy);
    return out;
  };

  it('cools an endpoint down after repeated failures, and doubles the cooldown when the probe fails', () => {
    const now = 10_000;
    const twice = fail(initialEndpointState(), 2, now);
    expect(twice.cooldownUntil).toBe(0);
    const thrice = recordFailure(twice, 'timeout', now, policy);
    expect(thrice.cooldownUntil).toBe(now + policy.cooldownMs);
    // More failures while cooling (requests in flight) do not stretch it.
    expect(recordFailure(thrice, 'network', now + 1, policy).cooldownUntil).toBe(now + policy.cooldownMs);
    const probe = recordFailure(thrice, 'network', now + policy.cooldownMs, policy);
    expect(probe.cooldownUntil).toBe(now + policy.cooldownMs + 2 * policy.cooldownMs);
    const healed = recordSuccess(probe, 5, policy);
    expect(healed.cooldowns).toBe(0);
    expect(healed.consecutiveFailures).toBe(0);
  });

  it('caps the cooldown', () => {
    let s = fail(initialEndpointState(), 3, 0);
    for (let i = 0; i < 20; i++) s = recordFailure(s, 'network', s.cooldownUntil, policy);
    const last = s.cooldownUntil;
    const next = recordFailure(s, 'network', last, policy);
    expect(next.cooldownUntil - last).toBe(policy.maxCooldownMs);
  });

  it('pauses a rate-limited endpoint for Retry-After without a cooldown, and JSON-RPC errors never cool it', () => {
    const limited = recordFailure(initialEndpointState(), 'http-429', 100, policy, { retryAfterMs: 5_000 });
    expect(limited.rateLimitedUntil).toBe(5_100);
    expect(limited.consecutiveFailures).toBe(0);
    const rpc = fail(initialEndpointState(), 0, 0);
    let s = rpc;
    for (let i = 0; i < 10; i++) s = recordFailure(s, 'rpc-error', 0, policy);
    expect(s.cooldownUntil).toBe(0);
    expect(s.successRate).toBeLessThan(0.2);
  });

  it('scores by success rate less a latency penalty, rounded so that small latency noise ties', () => {
    const fast = recordSuccess(initialEndpointState(), 2, policy);
    const slightlySlower = recordSuccess(initialEndpointState(), 9, policy);
    expect(scoreOf(fast, policy)).toBe(scoreOf(slightlySlower, policy));
    const slow = recordSuccess(initialEndpointState(), 800, policy);
    expect(scoreOf(slow, policy)).toBe(0.8);
    expect(scoreOf(recordFailure(initialEndpointState(), 'network', 0, policy), policy)).toBe(0.8);
  });

  it('ranks demoted last, then blocked, then by score, then by configured order', () => {
    const now = 50_000;
    const healthy = recordSuccess(initialEndpointState(), 1, policy);
    const flaky = recordFailure(healthy, 'network', now, policy);
    const cooling = fail(healthy, 3, now);
    const liar = recordDisagreement(healthy, now, policy);
    expect(rankEndpoints([liar, cooling, flaky, healthy, healthy], now, policy)).toEqual([3, 4, 2, 1, 0]);
    // After the cooldown the endpoint is back in the running (behind by its score), the liar is not.
    expect(rankEndpoints([liar, cooling, healthy], now + policy.cooldownMs, policy)).toEqual([2, 1, 0]);
    // A liar stays behind an endpoint in cooldown: it is never preferred while demoted.
    expect(rankEndpoints([liar, cooling], now, policy)).toEqual([1, 0]);
    expect(rankEndpoints([liar, healthy], now + policy.demotionMs, policy)).toEqual([0, 1]);
  });

  it('doubles the demotion for a repeat liar', () => {
    const once = recordDisagreement(initialEndpointState(), 0, policy);
    const twice = recordDisagreement(once, 0, policy);
    expect(once.demotedUntil).toBe(policy.demotionMs);
    expect(twice.demotedUntil).toBe(2 * policy.demotionMs);
  });
});

describe('quorum grouping', () => {
  it('groups deep-equal values regardless of key order and hex case', () => {
    expect(canonicalKey({ b: 1, a: ['0xAB', { d: 2n, c: undefined }] })).toBe(
      canonicalKey({ a: ['0xab', { c: null, d: 2n }], b: 1 }),
    );
    expect(canonicalKey('Hello')).not.toBe(canonicalKey('hello'));
    const groups = groupVotes([
      { index: 0, value: { hash: '0xAA', n: 1 } },
      { index: 1, value: { n: 1, hash: '0xaa' } },
      { index: 2, value: { hash: '0xbb', n: 1 } },
    ]);
    expect(groups.map((g) => g.members)).toEqual([[0, 1], [2]]);
  });

  it('picks the largest group with at least k members', () => {
    const groups = groupVotes([
      { index: 0, value: 'lie' },
      { index: 1, value: 'truth' },
      { index: 2, value: 'truth' },
    ]);
    expect(pickQuorum(groups, 2, [0, 1, 2])).toMatchObject({ winner: { value: 'truth' }, strict: true });
    expect(pickQuorum(groups, 3, [0, 1, 2])).toBeUndefined();
    // k=1: the primary's value loses to a majority.
    expect(pickQuorum(groups, 1, [0, 1, 2])).toMatchObject({ winner: { value: 'truth' }, strict: true });
  });

  it("breaks a tie with the primary's value and says the tie is not strict", () => {
    const groups = groupVotes([
      { index: 0, value: 'a' },
      { index: 1, value: 'b' },
      { index: 2, value: 'a' },
      { index: 3, value: 'b' },
    ]);
    expect(pickQuorum(groups, 2, [3, 0, 1, 2])).toMatchObject({ winner: { value: 'b' }, strict: false });
    expect(pickQuorum(groups, 2, [0, 1, 2, 3])).toMatchObject({ winner: { value: 'a' }, strict: false });
  });

  it('finds no quorum when every endpoint says something else', () => {
    const groups = groupVotes([
      { index: 0, value: 1 },
      { index: 1, value: 2 },
      { index: 2, value: 3 },
    ]);
    expect(pickQuorum(groups, 2, [0, 1, 2])).toBeUndefined();
    expect(pickQuorum([], 1, [])).toBeUndefined();
  });
});

describe('metrics registry', () => {
  it('counts, gauges and summarises by label, and renders Prometheus text', () => {
    const { clock } = manualClock();
    const m = createMetrics({ clock });
    const calls = m.counter('x_calls_total', 'Calls', ['chain']);
    calls.inc({ chain: '1' });
    calls.inc({ chain: '1' }, 2);
    calls.inc({ chain: '10' });
    m.gauge('x_up', 'Up\nor down', ['chain']).set({ chain: '1' }, 1);
    const lat = m.summary('x_seconds', 'Latency', [], { quantiles: [0.5, 0.99] });
    for (const v of [1, 2, 3, 4]) lat.observe({}, v);
    m.summary('x_empty_seconds', 'Nothing yet');
    expect(calls.value({ chain: '1' })).toBe(3);
    expect(toPrometheus(m.snapshot())).toBe(
      [
        '# HELP x_calls_total Calls',
        '# TYPE x_calls_total counter',
        'x_calls_total{chain="1"} 3',
        'x_calls_total{chain="10"} 1',
        '# HELP x_up Up\\nor down',
        '# TYPE x_up gauge',
        'x_up{chain="1"} 1',
        '# HELP x_seconds Latency',
        '# TYPE x_seconds summary',
        'x_seconds{quantile="0.5"} 2',
        'x_seconds{quantile="0.99"} 4',
        'x_seconds_sum 10',
        'x_seconds_count 4',
        '# HELP x_empty_seconds Nothing yet',
        '# TYPE x_empty_seconds summary',
        '',
      ].join('\n'),
    );
  });

  it('escapes label values and renders an empty reservoir as NaN', () => {
    const m = createMetrics();
    m.counter('y_total', 'Y', ['v']).inc({ v: 'a"b\\c\nd' });
    m.summary('y_seconds', 'Y', ['v']).observe({ v: 'z' }, 1);
    const text = toPrometheus(m.snapshot());
    expect(text).toContain('y_total{v="a\\"b\\\\c\\nd"} 1');
    const snap = m.snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
  });

  it('keeps a bounded reservoir of the most recent observations', () => {
    const m = createMetrics();
    const s = m.summary('z_seconds', 'Z', [], { reservoir: 100 });
    for (let i = 0; i < 1_000; i++) s.observe({}, i < 900 ? 1_000 : 1);
    expect(s.quantile({}, 0.99)).toBe(1);
    const [series] = (m.snapshot().metrics[0] as { series: { count: number; reservoir: number }[] }).series;
    expect(series).toMatchObject({ count: 1_000, reservoir: 100 });
    expect(quantileSorted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5)).toBe(5);
    expect(quantileSorted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99)).toBe(10);
  });

  it('computes rates over a window from per-second slots', () => {
    const { clock, advance } = manualClock(0);
    const m = createMetrics({ clock, rateWindowMs: 10_000, maxRateWindowMs: 60_000 });
    const c = m.counter('r_total', 'R');
    for (let s = 0; s < 20; s++) {
      c.inc({}, 5);
      advance(1_000);
    }
    expect(c.rate({}, 10_000)).toBe(5);
    expect(c.rate({}, 60_000)).toBe(5); // averaged over the 20 s the series has existed
    advance(30_000);
    expect(c.rate({}, 10_000)).toBe(0);
    expect(c.value()).toBe(100);
    // Errors that start late are averaged over the window, not over their own short life.
    const late = m.counter('r2_total', 'R2');
    late.inc({}, 10);
    advance(1_000);
    expect(late.rate({}, 10_000)).toBe(1);
    // In a registry's first second, what has been counted so far is one second's worth.
    const young = createMetrics({ clock }).counter('r3_total', 'R3');
    young.inc({}, 3);
    expect(young.rate({}, 10_000)).toBe(3);
  });

  it('redacts label values and refuses bad names and mismatched re-registration', () => {
    const m = createMetrics();
    m.counter('l_total', 'L', ['endpoint']).inc({ endpoint: 'https://user:pw@rpc.example/v2/SECRETKEY' });
    const text = toPrometheus(m.snapshot());
    expect(text).toContain('endpoint="https://rpc.example/…"');
    expect(text).not.toContain('SECRETKEY');
    expect(m.counter('l_total', 'L', ['endpoint'])).toBeDefined();
    expect(() => m.gauge('l_total', 'L', ['endpoint'])).toThrow(/already registered/);
    expect(() => m.counter('bad-name', 'B')).toThrow(/invalid metric name/);
    expect(() => m.counter('q_total', 'Q', ['quantile'])).toThrow(/invalid label/);
    expect(() => m.counter('l_total', 'L', ['endpoint']).inc({ nope: 'x' })).toThrow(/no label "nope"/);
    expect(() => m.counter('l_total', 'L', ['endpoint']).inc({}, -1)).toThrow(/only go up/);
  });

  it('reports RPC calls, errors and per-second rates per chain and endpoint', () => {
    const { clock, advance } = manualClock(0);
    const registry = createMetrics({ clock });
    const rpc = rpcMetrics(registry, 1);
    for (let i = 0; i < 10; i++) {
      rpc.call('https://a.example/…', 12);
      rpc.call('https://b.example', 30);
      advance(100);
    }
    rpc.error('https://a.example/…', 'timeout');
    rpc.endpointState('https://a.example/…', { score: 0.8, up: false, demoted: true });
    rpc.quorum('met');
    advance(1_000);
    expect(rpc.callsPerSecond(undefined, 2_000)).toBe(10);
    expect(rpc.callsPerSecond('https://a.example/…', 2_000)).toBe(5);
    expect(rpc.errorsPerSecond('https://a.example/…', 'timeout', 2_000)).toBe(0.5);
    const text = toPrometheus(registry.snapshot());
    expect(text).toContain('firebreak_rpc_requests_total{chain="1",endpoint="https://a.example/…"} 10');
    expect(text).toContain(
      'firebreak_rpc_errors_total{chain="1",endpoint="https://a.example/…",kind="timeout"} 1',
    );
    expect(text).toContain('firebreak_rpc_endpoint_demoted{chain="1",endpoint="https://a.example/…"} 1');
    expect(text).toContain(
      'firebreak_rpc_request_duration_seconds{chain="1",endpoint="https://b.example",quantile="0.5"} 0.03',
    );
    expect(text).toContain('firebreak_rpc_quorum_reads_total{chain="1",outcome="met"} 1');
  });
});
