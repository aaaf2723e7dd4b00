import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FirebreakError } from '../common/errors';
import type { ConfigProblem } from './errors';
import { parseConfig, resolveSecret } from './load';
import { defineConfig, type FirebreakConfigInput } from './schema';

const PROVIDER = '0x2f39d218133AFaB8F2B819B1066c7E434Ad94E9e';
const WETH = '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2';
const WETH_FEED = '0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419';
const FILE = 'firebreak.config.yaml';

/** A complete, valid config; each test breaks one thing in a copy. */
function good(): FirebreakConfigInput {
  return defineConfig({
    chains: [{ id: 1, name: 'mainnet', rpc: ['https://rpc.example.org', { env: 'MAINNET_RPC_URL' }] }],
    markets: [{ id: 'aave', chain: 'mainnet', protocol: 'aave-v3', addressesProvider: PROVIDER }],
    detectors: [
      {
        id: 'weth-oracle',
        type: 'oracle-deviation',
        market: 'aave',
        params: { assets: [{ asset: WETH, symbol: 'WETH', reference: { feed: WETH_FEED } }] },
      },
    ],
    executors: [{ id: 'guardian', type: 'eoa', chain: 'mainnet', key: { env: 'FIREBREAK_GUARDIAN_KEY' } }],
    playbooks: [
      {
        id: 'contain',
        when: { detector: 'weth-oracle' },
        do: [{ action: 'aave-v3.contain-collateral', executor: 'guardian' }],
      },
    ],
  });
}

/** Runs parseConfig on data expected to be invalid; returns the error. */
function invalid(data: unknown, text?: string): FirebreakError {
  try {
    parseConfig(data, FILE, text);
  } catch (error) {
    if (error instanceof FirebreakError) return error;
    throw error;
  }
  throw new Error('parseConfig accepted invalid data');
}

const problemsOf = (error: FirebreakError) => error.details.problems as ConfigProblem[];

/** Every problem line must name a path and be followed by a `fix:` line. */
function expectEveryProblemHasAFix(error: FirebreakError): void {
  const lines = error.message.split('\n');
  const problemLines = lines.filter((l) => l.startsWith('  - '));
  const fixLines = lines.filter((l) => l.startsWith('    fix: '));
  expect(problemLines.length).toBe(problemsOf(error).length);
  expect(fixLines.length).toBe(problemLines.length);
  for (const [i, line] of lines.entries())
    if (line.startsWith('  - ')) expect(lines[i + 1]).toMatch(/^ {4}fix: ./);
}

describe('parseConfig: a valid config', () => {
  it('fills in every default', () => {
    const config = parseConfig(good(), FILE);
    expect(config.dataDir).toBe('.firebreak/data');
    expect(config.chains[0]?.pollIntervalMs).toBe(1000);
    expect(config.detectors[0]?.params.thresholdBps).toBe(1000);
    expect(config.detectors[0]?.params.criticalBps).toBe(3000);
    expect(config.executors[0]).toEqual({
      id: 'guardian',
      type: 'eoa',
      chain: 'mainnet',
      key: { env: 'FIREBREAK_GUARDIAN_KEY' },
      priorityFeeGwei: 50,
      maxFeeGwei: 500,
      dryRun: false,
    });
    expect(config.playbooks[0]).toEqual({
      id: 'contain',
      when: { detector: 'weth-oracle', severity: 'critical', minConfidence: 0 },
      do: [{ action: 'aave-v3.contain-collateral', executor: 'guardian', autonomy: 'auto' }],
      cooldownBlocks: 50,
    });
  });

  it('defaults every optional section to empty', () => {
    const config = parseConfig(
      { chains: [{ id: 1, name: 'mainnet', rpc: ['https://rpc.example.org'], ws: 'wss://rpc.example.org' }] },
      FILE,
    );
    expect(config.markets).toEqual([]);
    expect(config.detectors).toEqual([]);
    expect(config.executors).toEqual([]);
    expect(config.playbooks).toEqual([]);
  });

  it('takes WebSocket endpoints only under ws, HTTP ones only under rpc', () => {
    expect(() =>
      parseConfig({ chains: [{ id: 1, name: 'mainnet', rpc: ['wss://rpc.example.org'] }] }, FILE),
    ).toThrow(/chains\[0\]\.rpc\[0\][^\n]*\n\s+fix: use an http\(s\):\/\/ URL/);
    expect(() =>
      parseConfig(
        { chains: [{ id: 1, name: 'mainnet', rpc: ['https://a.example'], ws: 'https://a.example' }] },
        FILE,
      ),
    ).toThrow(/chains\[0\]\.ws/);
  });

  it('lower-cases addresses', () => {
    const config = parseConfig(good(), FILE);
    expect(config.markets[0]?.addressesProvider).toBe(PROVIDER.toLowerCase());
    expect(config.detectors[0]?.params.assets[0]?.asset).toBe(WETH.toLowerCase());
    expect(config.detectors[0]?.params.assets[0]?.reference.feed).toBe(WETH_FEED.toLowerCase());
  });

  it('keeps explicit values over defaults', () => {
    const data = good();
    data.dataDir = '/var/lib/firebreak';
    data.playbooks![0]!.cooldownBlocks = 0;
    data.playbooks![0]!.when.severity = 'high';
    const config = parseConfig(data, FILE);
    expect(config.dataDir).toBe('/var/lib/firebreak');
    expect(config.playbooks[0]?.cooldownBlocks).toBe(0);
    expect(config.playbooks[0]?.when.severity).toBe('high');
  });
});

describe('parseConfig: references between sections', () => {
  it('rejects a market on an unknown chain, listing the chains that exist', () => {
    const data = good();
    data.markets![0]!.chain = 'mainet';
    const error = invalid(data);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toBe(
      `${FILE}: invalid config (1 problem)\n` +
        '  - markets[0].chain: unknown chain "mainet"\n' +
        '    fix: use a chain name defined under chains: "mainnet"',
    );
    expect(problemsOf(error)).toEqual([
      {
        path: ['markets', 0, 'chain'],
        message: 'unknown chain "mainet"',
        fix: 'use a chain name defined under chains: "mainnet"',
      },
    ]);
  });

  it('rejects a detector on an unknown market', () => {
    const data = good();
    data.detectors![0]!.market = 'compound';
    const error = invalid(data);
    expect(error.message).toContain('  - detectors[0].market: unknown market "compound"\n');
    expect(error.message).toContain('    fix: use a market id defined under markets: "aave"');
  });

  it('rejects an executor on an unknown chain', () => {
    const data = good();
    data.executors![0]!.chain = 'arbitrum';
    const error = invalid(data);
    expect(error.message).toContain('  - executors[0].chain: unknown chain "arbitrum"\n');
    expectEveryProblemHasAFix(error);
  });

  it('rejects a playbook naming an unknown detector', () => {
    const data = good();
    data.playbooks![0]!.when.detector = 'wbtc-oracle';
    const error = invalid(data);
    expect(error.message).toContain('  - playbooks[0].when.detector: unknown detector "wbtc-oracle"\n');
    expect(error.message).toContain(
      '    fix: use a detector id or type defined under detectors: "weth-oracle", "oracle-deviation"',
    );
  });

  it('rejects a playbook step naming an unknown executor, and says when none is defined', () => {
    const data = good();
    data.executors = [];
    const error = invalid(data);
    expect(error.message).toBe(
      `${FILE}: invalid config (1 problem)\n` +
        '  - playbooks[0].do[0].executor: unknown executor "guardian"\n' +
        '    fix: use an executor id defined under executors: (none defined)',
    );
  });

  it('reports every broken reference at once', () => {
    const data = good();
    data.markets![0]!.chain = 'x';
    data.detectors![0]!.market = 'y';
    data.playbooks![0]!.do[0]!.executor = 'z';
    const error = invalid(data);
    expect(problemsOf(error).map((p) => p.path)).toEqual([
      ['markets', 0, 'chain'],
      ['detectors', 0, 'market'],
      ['playbooks', 0, 'do', 0, 'executor'],
    ]);
    expect(error.message.split('\n')[0]).toBe(`${FILE}: invalid config (3 problems)`);
    expectEveryProblemHasAFix(error);
  });

  it.each([
    ['chains', 'name'],
    ['markets', 'id'],
    ['detectors', 'id'],
    ['executors', 'id'],
    ['playbooks', 'id'],
  ] as const)('rejects a duplicate %s %s', (section, key) => {
    const data = good() as unknown as Record<string, unknown[]>;
    const list = data[section]!;
    list.push(structuredClone(list[0]));
    const error = invalid(data);
    const value = (list[0] as Record<string, string>)[key];
    expect(problemsOf(error)).toContainEqual({
      path: [section, 1, key],
      message: `duplicate ${key} "${value}"`,
      fix: `give each entry of ${section} its own ${key}`,
    });
    expect(error.message).toContain(`  - ${section}[1].${key}: duplicate ${key} "${value}"\n`);
    expectEveryProblemHasAFix(error);
  });
});

describe('parseConfig: malformed values', () => {
  it('rejects a bad address with the path, the rule and a fix', () => {
    const data = good();
    data.markets![0]!.addressesProvider = '0x2f39d218133AFaB8F2B819B1066c7E434Ad94E9'; // 39 hex digits
    const error = invalid(data);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(problemsOf(error).map((p) => [p.path, p.message])).toEqual([
      [['markets', 0, 'addressesProvider'], 'must be a 20-byte hex address (0x followed by 40 hex digits)'],
    ]);
    expect(error.message).toContain(
      '  - markets[0].addressesProvider: must be a 20-byte hex address (0x followed by 40 hex digits)\n    fix: ',
    );
    expectEveryProblemHasAFix(error);
  });

  it('rejects a bad address deep inside detector params', () => {
    const data = good();
    data.detectors![0]!.params.assets[0]!.reference.feed = 'WETH/USD';
    const error = invalid(data);
    expect(problemsOf(error).map((p) => p.path)).toEqual([
      ['detectors', 0, 'params', 'assets', 0, 'reference', 'feed'],
    ]);
    expect(error.message).toContain(
      '  - detectors[0].params.assets[0].reference.feed: must be a 20-byte hex',
    );
  });

  it.each(['firebreak_key', '1KEY', 'MY-KEY', ''])(
    'rejects %j as a secret environment variable name',
    (env) => {
      const data = good();
      data.executors![0]!.key = { env };
      const error = invalid(data);
      const [problem, ...rest] = problemsOf(error);
      expect(rest).toEqual([]);
      expect(problem?.path).toEqual(['executors', 0, 'key', 'env']);
      expect(problem?.message).toBe('must be an environment variable name such as FIREBREAK_GUARDIAN_KEY');
      expect(error.message).toContain('  - executors[0].key.env: must be an environment variable name');
      expectEveryProblemHasAFix(error);
    },
  );

  it('rejects a secret given as a value instead of a reference', () => {
    const data = good() as unknown as { executors: { key: unknown }[] };
    data.executors[0]!.key = `0x${'ab'.repeat(32)}`;
    const error = invalid(data);
    expect(problemsOf(error).map((p) => p.path)).toEqual([['executors', 0, 'key']]);
    expect(error.message).not.toContain('ab'.repeat(32));
    expectEveryProblemHasAFix(error);
  });

  it('rejects an unknown field with a fix that names it', () => {
    const data = { ...good(), chainz: [] };
    const error = invalid(data);
    expect(problemsOf(error)).toEqual([
      { path: [], message: expect.any(String), fix: 'remove or correct the unknown field(s): chainz' },
    ]);
    expect(error.message).toContain('  - (top level): ');
  });

  it('rejects an unknown enum value with the allowed ones as the fix', () => {
    const data = good();
    data.playbooks![0]!.when.severity = 'urgent' as never;
    const error = invalid(data);
    expect(problemsOf(error)).toEqual([
      {
        path: ['playbooks', 0, 'when', 'severity'],
        message: expect.any(String),
        fix: 'use one of: "info", "low", "medium", "high", "critical"',
      },
    ]);
  });

  it('rejects a missing required field with "add the field" as the fix', () => {
    const data = good() as unknown as { chains: Record<string, unknown>[] };
    delete data.chains[0]!.id;
    const error = invalid(data);
    expect(problemsOf(error)).toEqual([
      { path: ['chains', 0, 'id'], message: expect.any(String), fix: 'add the field (number)' },
    ]);
  });

  it('rejects a config with no chain', () => {
    const error = invalid({ chains: [] });
    expect(problemsOf(error)).toEqual([
      { path: ['chains'], message: 'needs at least one chain', fix: 'use a value ≥ 1' },
    ]);
  });

  it('checks references only once the shape is valid', () => {
    const data = good();
    data.markets![0]!.chain = 'nowhere';
    data.chains[0]!.rpc = ['not-a-url'];
    const error = invalid(data);
    expect(problemsOf(error).map((p) => p.path)).toEqual([['chains', 0, 'rpc', 0]]);
  });

  it('gives the YAML line of each problem when the text is known', () => {
    const data = good();
    data.markets![0]!.chain = 'mainet';
    const text = stringify(data);
    const line = text.split('\n').findIndex((l) => l.includes('chain: mainet')) + 1;
    expect(line).toBeGreaterThan(1);
    const error = invalid(data, text);
    expect(error.message).toContain(`  - markets[0].chain (line ${line}): unknown chain "mainet"\n    fix: `);
  });
});

describe('resolveSecret', () => {
  it('reads the named variable', () => {
    expect(resolveSecret({ env: 'K' }, 'executors[guardian].key', { K: '0x01' })).toBe('0x01');
  });

  it('names the variable, the place and the fix when it is unset or empty', () => {
    for (const env of [{}, { K: '' }]) {
      let error: unknown;
      try {
        resolveSecret({ env: 'K' }, 'executors[guardian].key', env);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(FirebreakError);
      expect((error as FirebreakError).code).toBe('ERR_SECRET_MISSING');
      expect((error as FirebreakError).message).toBe(
        'executors[guardian].key: environment variable K is not set\n    fix: export K=… before starting Firebreak (it is never read from a file)',
      );
    }
  });
});
