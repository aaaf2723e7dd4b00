// WebSocket heads against a real JSON-RPC server (the embedded chain served over HTTP+WS): pushed
// heads arrive; killing the server drops the socket and the signal falls back to polling; a server
// restarted on the same port brings it back to 'ws'. Every switch is logged.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedChain, type EmbeddedChain, type ServedChain } from '../src/chain/embedded';
import { type HeadMode, wsHeads } from '../src/chain/heads';
import { connectWebSocket } from '../src/chain/ws';
import { createCommon } from '../src/common/common';
import { createLogger } from '../src/common/logger';

/** A logger whose JSON lines are kept, to check what was logged. */
function capturedLogger() {
  const lines: { level: number; msg: string; mode?: string; url?: string }[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

describe('wsHeads over a served chain', () => {
  let chain: EmbeddedChain;
  let served: ServedChain;

  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: 2 });
    served = await chain.serve();
  });
  afterAll(async () => {
    await served?.close();
    await chain?.close();
  });

  it('a WebSocket provider answers requests and pushes subscriptions', async () => {
    const ws = await connectWebSocket(served.wsUrl);
    expect(await ws.request({ method: 'eth_chainId' })).toBe('0x7a69');
    const pushed = new Promise((resolve) => ws.on('message', resolve));
    await ws.request({ method: 'eth_subscribe', params: ['newHeads'] });
    await chain.mine();
    expect(await pushed).toMatchObject({
      type: 'eth_subscription',
      data: { result: { number: expect.any(String) } },
    });
    await expect(ws.request({ method: 'no_such_method' })).rejects.toMatchObject({
      code: expect.any(Number),
    });
    ws.close();
    expect(ws.closed).toBe(true);
    await expect(ws.request({ method: 'eth_chainId' })).rejects.toMatchObject({ code: 4900 });
  });

  it('follows pushed heads, falls back to polling when the server dies, and returns to ws when it is back', async () => {
    const { logger, lines } = capturedLogger();
    const switches: HeadMode[] = [];
    let onSwitch: ((mode: HeadMode) => void) | undefined;
    const switched = (mode: HeadMode) =>
      new Promise<void>((resolve) => {
        if (switches.at(-1) === mode) return resolve();
        onSwitch = (m) => m === mode && resolve();
      });
    const heads = wsHeads({
      url: served.wsUrl,
      fallbackPollMs: 40,
      backoff: { initialMs: 25, maxMs: 200 },
      common: createCommon({ logger }),
      onModeChange: (mode) => {
        switches.push(mode);
        onSwitch?.(mode);
      },
    });
    try {
      expect(heads.mode).toBe('poll'); // until the subscription is up
      await switched('ws');
      expect(heads.mode).toBe('ws');
      expect(await heads.next(0)).toBe('head'); // the switch itself says "look now"

      // Pushed: nothing comes without a block; a block comes at once.
      expect(await heads.next(60)).toBe('timeout');
      const waiting = heads.next(5_000);
      const minedAt = performance.now();
      await chain.mine();
      expect(await waiting).toBe('head');
      const pushMs = performance.now() - minedAt;
      expect(pushMs).toBeLessThan(1_000);

      // Several heads while nobody waits coalesce into one.
      await chain.mine();
      await chain.mine();
      await new Promise((r) => setTimeout(r, 50));
      expect(await heads.next(0)).toBe('head');
      expect(await heads.next(30)).toBe('timeout');

      // Kill the server: the socket drops, the signal polls.
      const port = Number(new URL(served.url).port);
      await served.close();
      await switched('poll');
      expect(heads.mode).toBe('poll');
      await heads.next(0); // the switch's own wake-up
      const t0 = performance.now();
      expect(await heads.next(5_000)).toBe('head'); // a poll tick, no server needed
      expect(performance.now() - t0).toBeLessThan(1_000);
      expect(await heads.next(10)).toBe('timeout'); // shorter than the poll interval

      // Restart on the same port: back to ws, heads pushed again.
      served = await chain.serve({ port });
      await switched('ws');
      await heads.next(0);
      const again = heads.next(5_000);
      await chain.mine();
      expect(await again).toBe('head');
      expect(switches).toEqual(['ws', 'poll', 'ws']);

      const logged = lines.filter((l) => /heads: /.test(l.msg));
      expect(logged.map((l) => l.mode)).toEqual(expect.arrayContaining(['ws', 'poll']));
      expect(logged.filter((l) => l.msg.includes('subscribed to newHeads'))).toHaveLength(2);
      expect(logged.filter((l) => l.msg.includes('polling every 40 ms'))).toHaveLength(1);
    } finally {
      heads.close();
    }
    expect(await heads.next(1_000)).toBe('closed');
  });

  it('starts polling when the WebSocket endpoint is not there, and keeps retrying', async () => {
    const { logger, lines } = capturedLogger();
    const heads = wsHeads({
      url: 'ws://127.0.0.1:9', // discard port: nothing listens
      fallbackPollMs: 20,
      backoff: { initialMs: 10, maxMs: 40 },
      common: createCommon({ logger }),
    });
    expect(await heads.next(1_000)).toBe('head');
    expect(heads.mode).toBe('poll');
    await new Promise((r) => setTimeout(r, 150));
    heads.close();
    expect(lines.filter((l) => l.msg.includes('WebSocket unavailable'))).toHaveLength(1);
    expect(lines.filter((l) => l.msg.includes('reconnect failed')).length).toBeGreaterThan(1);
  });
});
