import { describe, expect, it } from 'vitest';
import { createDrillProgress } from './output';

function capture(tty: boolean, columns?: number) {
  const out: string[] = [];
  let now = 0;
  const progress = createDrillProgress({
    total: 2,
    tty,
    columns,
    write: (t) => out.push(t),
    clock: () => now,
  });
  return { out, progress, tick: (ms: number) => (now += ms) };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI colour codes
const plain = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');

describe('drill progress display', () => {
  it('writes plain lines off a terminal: phases and over-budget blocks only, then the outcome', () => {
    const { out, progress, tick } = capture(false);
    progress.start(0, 'inverse-finance-2022');
    progress.event({ type: 'phase', message: 'counterfactual run: nobody responds' });
    progress.event({ type: 'block', run: 'counterfactual', offset: 1, of: 10, blockNumber: 65n });
    tick(1500);
    progress.event({
      type: 'block',
      run: 'protected',
      offset: 7,
      of: 10,
      blockNumber: 71n,
      note: 'engine over budget',
    });
    progress.done('PASS', 2.5);
    const lines = out.map(plain);
    expect(lines.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
    expect(lines).toEqual([
      '[1/2] inverse-finance-2022 [0.0s] starting\n',
      '[1/2] inverse-finance-2022 [0.0s] counterfactual run: nobody responds\n',
      '[1/2] inverse-finance-2022 [1.5s] protected: block 7/10 engine over budget\n',
      '[1/2] inverse-finance-2022 PASS in 2.5 s\n',
    ]);
  });

  it('rewrites one line per scenario on a terminal, block by block, and ends it with the outcome', () => {
    const { out, progress } = capture(true);
    progress.start(1, 'benign');
    progress.event({ type: 'block', run: 'protected', offset: 3, of: 23, blockNumber: 69n });
    progress.done('FAIL', 1);
    const text = out.map(plain);
    expect(text.every((t) => t.startsWith('\r\u001b[2K'))).toBe(true);
    expect(text[1]).toContain('[2/2] benign [0.0s] protected: block 3/23');
    expect(text.slice(0, -1).some((t) => t.includes('\n'))).toBe(false);
    expect(text.at(-1)!.endsWith('[2/2] benign FAIL in 1.0 s\n')).toBe(true);
  });

  it('cuts a rewritten line to the terminal width, so that it never wraps', () => {
    const { out, progress } = capture(true, 40);
    progress.start(0, 'a-scenario-with-a-rather-long-name');
    progress.event({ type: 'phase', message: 'deploying: accounts and supplied liquidity' });
    for (const t of out) expect(plain(t).replace('\r\u001b[2K', '').length).toBeLessThanOrEqual(39);
  });
});
