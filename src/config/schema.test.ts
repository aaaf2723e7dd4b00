import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FirebreakError } from '../common/errors';
import type { ConfigProblem } from './errors';
import { assertSecretsPresent, parseConfig, resolveSecret } from './load';
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
    const oracle = config.detectors[0];
    if (oracle?.type !== 'oracle-deviation') throw new Error('expected the oracle-deviation detector');
    expect(oracle.params.thresholdBps).toBe(1000);
    expect(oracle.params.criticalBps).toBe(3000);
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
    const oracle = config.detectors[0];
    if (oracle?.type !== 'oracle-deviation') throw new Error('expected the oracle-deviation detector');
    expect(oracle.params.assets[0]?.asset).toBe(WETH.toLowerCase());
    expect(oracle.params.assets[0]?.reference?.feed).toBe(WETH_FEED.toLowerCase());
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
    ['chains', 'id'],
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
    const oracle = data.detectors![0]!;
    if (oracle.type !== 'oracle-deviation') throw new Error('expected the oracle-deviation detector');
    oracle.params.assets[0]!.reference = { feed: 'WETH/USD' };
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
      (data.executors![0] as { key: unknown }).key = { env };
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

describe('parseConfig: guardian-hub executors', () => {
  const HUB = '0x459cC1bC61a6dCc6bC14De97a63795375148F681';
  const hubAgent = (id: string, env: string) => ({
    id,
    type: 'guardian-hub' as const,
    chain: 'mainnet',
    hub: HUB,
    key: { env },
  });

  it('accepts an agent of a hub, fills in the fee defaults and lower-cases the hub', () => {
    const data = good();
    data.executors = [hubAgent('guardian', 'FIREBREAK_AGENT_KEY')];
    expect(parseConfig(data, FILE).executors).toEqual([
      {
        id: 'guardian',
        type: 'guardian-hub',
        chain: 'mainnet',
        hub: HUB.toLowerCase(),
        key: { env: 'FIREBREAK_AGENT_KEY' },
        priorityFeeGwei: 50,
        maxFeeGwei: 500,
        dryRun: false,
      },
    ]);
  });

  it('needs the hub address, and a well-formed one', () => {
    const data = good();
    const { hub: _, ...noHub } = hubAgent('guardian', 'FIREBREAK_AGENT_KEY');
    data.executors = [noHub as never];
    expect(problemsOf(invalid(data))).toEqual([
      {
        path: ['executors', 0, 'hub'],
        message: expect.stringContaining('undefined'),
        fix: expect.stringMatching(/^add the field/),
      },
    ]);
    data.executors = [{ ...hubAgent('guardian', 'FIREBREAK_AGENT_KEY'), hub: '0x1234' }];
    const error = invalid(data);
    expect(error.message).toContain('  - executors[0].hub: must be a 20-byte hex address');
    expectEveryProblemHasAFix(error);
  });

  it('rejects the zero address as a hub', () => {
    const data = good();
    data.executors = [{ ...hubAgent('guardian', 'FIREBREAK_AGENT_KEY'), hub: `0x${'0'.repeat(40)}` }];
    const error = invalid(data);
    expect(error.message).toBe(
      `${FILE}: invalid config (1 problem)\n` +
        '  - executors[0].hub: the zero address is not a guardian hub\n' +
        '    fix: use the address of the deployed GuardianHub contract',
    );
  });

  it('rejects two executors confirming on one hub with one key (one agent cannot count twice)', () => {
    const data = good();
    data.executors = [hubAgent('a', 'AGENT_KEY'), hubAgent('guardian', 'AGENT_KEY')];
    const error = invalid(data);
    expect(problemsOf(error)).toEqual([
      {
        path: ['executors', 1, 'key'],
        message: `executors[0] already confirms on hub ${HUB.toLowerCase()} with the key in AGENT_KEY`,
        fix: 'give each guardian-hub executor of one hub its own agent key (or keep one executor)',
      },
    ]);
    // Distinct keys are distinct agents; an eoa executor with the same key is a different role.
    data.executors = [
      hubAgent('a', 'AGENT_KEY'),
      hubAgent('guardian', 'OTHER_AGENT_KEY'),
      { id: 'eoa', type: 'eoa', chain: 'mainnet', key: { env: 'AGENT_KEY' } },
    ];
    expect(parseConfig(data, FILE).executors.map((e) => e.type)).toEqual([
      'guardian-hub',
      'guardian-hub',
      'eoa',
    ]);
  });

  it('takes an encrypted keystore as the key, whose password is a secret reference checked at start', () => {
    const data = good();
    data.executors = [
      {
        ...hubAgent('guardian', 'UNUSED'),
        key: { keystore: 'keys/agent.json', password: { env: 'AGENT_KEYSTORE_PASSWORD' } },
      },
    ];
    const config = parseConfig(data, FILE);
    expect((config.executors[0] as { key: unknown }).key).toEqual({
      keystore: 'keys/agent.json',
      password: { env: 'AGENT_KEYSTORE_PASSWORD' },
    });
    let error: unknown;
    try {
      assertSecretsPresent(config, FILE, { MAINNET_RPC_URL: 'https://x.example' });
    } catch (e) {
      error = e;
    }
    expect((error as FirebreakError).code).toBe('ERR_SECRET_MISSING');
    expect((error as FirebreakError).message).toContain(
      '  - executors[0].key.password: environment variable AGENT_KEYSTORE_PASSWORD is not set',
    );
    // A password given as a value is refused like any other secret.
    data.executors = [
      {
        ...hubAgent('guardian', 'UNUSED'),
        key: { keystore: 'keys/agent.json', password: 'hunter2' } as never,
      },
    ];
    expect(problemsOf(invalid(data)).map((p) => p.path)).toEqual([['executors', 0, 'key']]);
  });

  it('rejects an eoa-only field on a guardian-hub executor and a hub on an eoa one', () => {
    const data = good();
    data.executors = [
      { id: 'guardian', type: 'eoa', chain: 'mainnet', key: { env: 'K' }, hub: HUB } as never,
    ];
    const error = invalid(data);
    expect(error.message).toContain('  - executors[0]: ');
    expect(error.message).toContain('fix: remove or correct the unknown field(s): hub');
  });
});

describe('parseConfig: the detector library', () => {
  const FEED = '0x0000000000000000000000000000000000000f01';
  const PAIR = '0x0000000000000000000000000000000000000a01';
  const withDetectors = (detectors: NonNullable<FirebreakConfigInput['detectors']>) => ({
    ...good(),
    detectors,
    playbooks: [],
  });

  it('fills in each built-in detector’s defaults', () => {
    const config = parseConfig(
      withDetectors([
        { id: 'f', type: 'price-feed-integrity', chain: 'mainnet', params: { feeds: [{ feed: FEED }] } },
        { id: 'a', type: 'amm-manipulation', chain: 'mainnet', params: { pools: [{ pair: PAIR }] } },
        { id: 'o', type: 'outflow-rate', market: 'aave', params: { assets: [{ asset: WETH }] } },
        { id: 'v', type: 'volatility-breaker', market: 'aave', params: { sources: [{ asset: WETH }] } },
        { id: 'g', type: 'governance-watch', market: 'aave' } as never,
        { id: 's', type: 'share-price-jump', chain: 'mainnet', params: { assets: [{ pair: PAIR }] } },
      ]),
      FILE,
    );
    const byId = new Map(config.detectors.map((d) => [d.id, d.params as Record<string, unknown>]));
    expect(byId.get('f')).toEqual({
      feeds: [
        {
          feed: FEED,
          heartbeatSeconds: 3600,
          maxJumpBps: 1000,
          references: [],
          flatBlocks: 300,
          flatReferenceMoveBps: 500,
          updaters: [],
        },
      ],
    });
    expect(byId.get('a')).toMatchObject({
      impactBps: 2000,
      criticalBps: 5000,
      volMultiplier: 8,
      windowBlocks: 300,
    });
    expect(byId.get('o')).toMatchObject({
      windowBlocks: 300,
      maxOutflowBps: 3000,
      txShareBps: 1000,
      txCriticalShareBps: 3000,
    });
    expect(byId.get('v')).toMatchObject({
      windowBlocks: 50,
      thresholdBps: 1500,
      criticalBps: 3000,
      minSamples: 5,
    });
    expect(byId.get('g')).toEqual({
      marketContracts: true,
      timelocks: [],
      minDelaySeconds: 86_400,
      warnBeforeSeconds: 3600,
    });
    expect(byId.get('s')).toMatchObject({ thresholdBps: 500, criticalBps: 2000 });
  });

  it('needs a market or a chain, not both, and a market for the detectors that read one', () => {
    const error = invalid(
      withDetectors([
        { id: 'none', type: 'amm-manipulation', params: { pools: [{ pair: PAIR }] } },
        {
          id: 'both',
          type: 'amm-manipulation',
          market: 'aave',
          chain: 'mainnet',
          params: { pools: [{ pair: PAIR }] },
        },
        { id: 'nochain', type: 'amm-manipulation', chain: 'goerli', params: { pools: [{ pair: PAIR }] } },
        { id: 'gov', type: 'governance-watch', chain: 'mainnet', params: {} },
      ]),
    );
    expect(problemsOf(error).map((p) => p.path.join('.'))).toEqual([
      'detectors.0',
      'detectors.1.chain',
      'detectors.2.chain',
      'detectors.3.market',
    ]);
    expectEveryProblemHasAFix(error);
  });

  it('checks critical lines against the lower ones for every detector that has both', () => {
    const error = invalid(
      withDetectors([
        {
          id: 'a',
          type: 'amm-manipulation',
          chain: 'mainnet',
          params: { pools: [{ pair: PAIR }], impactBps: 6000 },
        },
        {
          id: 'o',
          type: 'outflow-rate',
          market: 'aave',
          params: { assets: [{ asset: WETH }], txShareBps: 4000 },
        },
      ]),
    );
    expect(problemsOf(error).map((p) => p.path.join('.'))).toEqual([
      'detectors.0.params.criticalBps',
      'detectors.1.params.txCriticalShareBps',
    ]);
  });

  it('checks a declarative rule’s signatures and condition at load', () => {
    const rule = (
      condition: string,
      event = 'Transfer(address indexed from, address indexed to, uint256 value)',
    ) => ({
      id: 'r',
      type: 'rule' as const,
      chain: 'mainnet',
      params: { match: [{ event }], condition, severity: 'high' as const, kind: 'anomaly' as const },
    });
    expect(() => parseConfig(withDetectors([rule('value > 5')]), FILE)).not.toThrow();
    const unknownName = invalid(withDetectors([rule('amount > 5')]));
    expect(problemsOf(unknownName)[0]?.message).toContain('uses "amount"');
    const badSyntax = invalid(withDetectors([rule('value >')]));
    expect(problemsOf(badSyntax)[0]?.message).toContain('ends early');
    const badEvent = invalid(withDetectors([rule('value > 5', 'Transfer(address')]));
    expect(problemsOf(badEvent)[0]?.message).toContain('is not an event signature');
    expectEveryProblemHasAFix(badEvent);
  });

  it('accepts several oracle references and refuses an asset with none', () => {
    const oracle = (asset: Record<string, unknown>) => [
      {
        id: 'od',
        type: 'oracle-deviation' as const,
        market: 'aave',
        params: { assets: [{ asset: WETH, ...asset }] },
      },
    ];
    const ok = parseConfig(
      withDetectors(oracle({ references: [{ feed: FEED }, { pair: PAIR, quoteFeed: FEED }] }) as never),
      FILE,
    );
    const params = ok.detectors[0]!.params as { assets: { references: unknown[] }[] };
    expect(params.assets[0]!.references[1]).toEqual({ pair: PAIR, quoteFeed: FEED, twapBlocks: 30 });
    const error = invalid(withDetectors(oracle({}) as never));
    expect(problemsOf(error)[0]?.message).toContain('needs a reference');
  });
});
