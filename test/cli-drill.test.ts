// `firebreak drill` as CI runs it: the real command on a folder of scenarios (copies of the two
// small ones in scenarios/, and variants of them), with the JSON scorecard, the Markdown report and
// its SVG charts, and the exit codes a pipeline keys on.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

const firebreak = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/firebreak.mjs', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const readScenario = (file: string) => parse(readFileSync(join('scenarios', file), 'utf8'));
const INVERSE = 'inverse-finance-2022.yaml';
const BENIGN = 'benign-thin-pool-trading.yaml';
const REASON = 'the drill is told to act only on a deviation no manipulation reaches';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'firebreak-cli-drill-'));
  // The Inverse Finance drill with a critical line no manipulation reaches: nothing contains the
  // attack, so it fails, and the scenario says it expects to.
  const expected = readScenario(INVERSE);
  expected.name = 'inverse-expected-to-fail';
  expected.response = { ...expected.response, criticalBps: 100_000_000 };
  expected.score = { ...expected.score, expectedFailure: REASON };

  mkdirSync(join(dir, 'suite'));
  writeFileSync(join(dir, 'suite', INVERSE), readFileSync(join('scenarios', INVERSE)));
  writeFileSync(join(dir, 'suite', BENIGN), readFileSync(join('scenarios', BENIGN)));
  writeFileSync(join(dir, 'suite', 'inverse-expected-to-fail.yaml'), stringify(expected));
  mkdirSync(join(dir, 'report'));

  // A user's production config (valid on its own: its playbook names its own detector and
  // executor) whose playbook only notifies: with it, nothing contains the attack.
  const config = (detector: string) => ({
    chains: [{ id: 1, name: 'mainnet', rpc: ['http://127.0.0.1:9'] }],
    markets: [
      { id: 'aave', chain: 'mainnet', protocol: 'aave-v3', addressesProvider: `0x${'2f'.repeat(20)}` },
    ],
    detectors: [
      {
        id: detector,
        type: 'oracle-deviation',
        market: 'aave',
        params: { assets: [{ asset: `0x${'11'.repeat(20)}`, reference: { feed: `0x${'22'.repeat(20)}` } }] },
      },
    ],
    executors: [{ id: 'ops', type: 'eoa', chain: 'mainnet', key: { env: 'OPS_KEY' } }],
    playbooks: [
      {
        id: 'page-on-deviation',
        when: { detector, severity: 'critical' },
        do: [{ action: 'aave-v3.contain-collateral', executor: 'ops', autonomy: 'notify' }],
      },
    ],
  });
  writeFileSync(join(dir, 'notify.config.yaml'), stringify(config('oracle-deviation')));
  writeFileSync(join(dir, 'unknown-detector.config.yaml'), stringify(config('whale-watch')));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  // The variant's incident store (the CLI keeps one per scenario name under .firebreak/drills).
  rmSync(join('.firebreak', 'drills', 'inverse-expected-to-fail'), { recursive: true, force: true });
});

describe('firebreak drill <folder>', () => {
  it('runs every scenario, exits 0 when the only failure is an expected one, and writes JSON, Markdown and charts', () => {
    const json = join(dir, 'suite.json');
    const md = join(dir, 'report', 'drills.md');
    const r = firebreak('drill', join(dir, 'suite'), '--json', json, '--md', md);
    expect(r.code, r.stderr + r.stdout).toBe(0);

    // Progress: plain lines (not a terminal), one final line per scenario.
    expect(r.stderr).toMatch(/\[1\/3\] benign-thin-pool-trading .*PASS/);
    expect(r.stderr).toMatch(/\[3\/3\] inverse-finance-2022 .*PASS/);
    // The table, and why the expected failure failed.
    expect(r.stdout).toMatch(/scenario\s+verdict\s+unprotected loss\s+protected loss\s+prevented\s+detected/);
    expect(r.stdout).toMatch(/inverse-finance-2022\s+PASS\s+\$[\d,]+\s+\$\d/);
    expect(r.stdout).toContain(
      `EXPECTED FAIL inverse-expected-to-fail: Failed, as the scenario expects (${REASON})`,
    );

    const out = JSON.parse(readFileSync(json, 'utf8'));
    expect(out.scenarios.map((s: { scenario: string; verdict: string }) => [s.scenario, s.verdict])).toEqual([
      ['benign-thin-pool-trading', 'pass'],
      ['inverse-expected-to-fail', 'expected-fail'],
      ['inverse-finance-2022', 'pass'],
    ]);
    expect(out.summary).toEqual({
      scenarios: 3,
      pass: 2,
      fail: 0,
      expectedFail: 1,
      unexpectedPass: 0,
      exitCode: 0,
    });
    const [benign, expected, inverse] = out.scenarios;
    expect(expected.expectedFailure).toBe(REASON);
    expect(expected.reasons.join(' ')).toMatch(/protected loss .* exceeds/);
    expect(benign.tags).toEqual(['benign']);
    expect(benign.protected.actions).toEqual([]);
    expect(inverse.tags).toContain('inverse-finance');
    expect(inverse.counterfactual.lossUsd).toBeGreaterThan(1_000_000);
    expect(inverse.protected.lossUsd).toBeLessThan(inverse.counterfactual.lossUsd * 0.1);
    const action = inverse.protected.actions[0];
    expect(action).toMatchObject({ action: 'aave-v3.contain-collateral', asset: 'INV', status: 'verified' });
    expect(action.minedBlock).toBe(inverse.protected.mitigatedBlock);
    expect(action.minedOffset).toBe(action.minedBlock - inverse.protected.startBlock);
    expect(inverse.protected.timeline.map((e: { type: string }) => e.type)).toContain('effect-verified');
    // The price series: INV's oracle left its true price in the protected run.
    const series = inverse.protected.series as {
      prices: Record<string, number>;
      oraclePrices: Record<string, number>;
    }[];
    expect(series.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...series.map((p) => p.oraclePrices.INV! / p.prices.INV!))).toBeGreaterThan(10);

    // The report links one chart per scenario; each exists beside it and draws lines.
    const markdown = readFileSync(md, 'utf8');
    const links = [...markdown.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]!);
    expect(links).toEqual([
      'drills-benign-thin-pool-trading.svg',
      'drills-inverse-expected-to-fail.svg',
      'drills-inverse-finance-2022.svg',
    ]);
    for (const link of links) {
      const svg = readFileSync(join(dir, 'report', link), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('<polyline');
    }
    const inverseSvg = readFileSync(join(dir, 'report', links[2]!), 'utf8');
    expect(inverseSvg).toContain('INV oracle price');
    expect(inverseSvg).toContain('class="marker-mitigated"');
    expect(markdown).toContain('3 scenarios: 2 pass, 0 fail, 1 expected fail. Exit code 0.');
  }, 150_000);

  it("responds with --config's playbooks, and exits 1 when the scenario then fails its pass criteria, saying why", () => {
    const json = join(dir, 'notified.json');
    const r = firebreak(
      'drill',
      join('scenarios', INVERSE),
      '--json',
      json,
      '--config',
      join(dir, 'notify.config.yaml'),
    );
    expect(r.code, r.stderr + r.stdout).toBe(1);
    // One scenario: its scorecard and timeline, then the table, then why it failed.
    expect(r.stdout).toContain('Scorecard — Thin-AMM oracle manipulation');
    expect(r.stdout).toMatch(/inverse-finance-2022\s+FAIL/);
    expect(r.stdout).toMatch(/FAIL inverse-finance-2022: Failed: protected loss .* exceeds/);
    const out = JSON.parse(readFileSync(json, 'utf8'));
    expect(out.scenario).toBe('inverse-finance-2022');
    expect(out.verdict).toBe('fail');
    expect(out.reasons.length).toBeGreaterThan(0);
    // The config's playbook decided the response (notify: a decision, no transaction).
    expect(out.protected.actions).toEqual([]);
    const decisions = out.protected.timeline.filter((e: { type: string }) => e.type === 'decision');
    expect(decisions.map((e: { summary: string }) => e.summary).join('\n')).toContain(
      'playbook page-on-deviation',
    );
  }, 150_000);

  it('refuses a config playbook naming a detector the drill does not run, before running anything', () => {
    const r = firebreak('drill', join(dir, 'suite'), '--config', join(dir, 'unknown-detector.config.yaml'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('playbooks[0].when.detector');
    expect(r.stderr).toContain('"whale-watch"');
    expect(r.stderr).toContain('oracle-deviation');
    expect(r.stderr).not.toMatch(/\[1\/3\]/);
  });

  it('refuses a folder with no scenarios, and a missing file among several before running any', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    const r = firebreak('drill', empty);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('holds no scenario files');
    const two = firebreak('drill', join('scenarios', BENIGN), join('scenarios', 'no-such-scenario.yaml'));
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('no-such-scenario.yaml');
    expect(two.stderr).not.toMatch(/\[1\/2\]/);
  });
});
