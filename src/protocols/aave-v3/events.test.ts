import fc from 'fast-check';
import {
  type AbiEvent,
  type Address,
  decodeEventLog,
  encodeAbiParameters,
  encodeEventTopics,
  type Hex,
  parseAbi,
} from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ASSETS,
  calls,
  deployPositionMarket,
  mineBlock,
  type PositionMarket,
  priceTx,
  runTxs,
  units,
} from '../../../test/risk/support/position-market';
import { createEmbeddedChain, type EmbeddedChain } from '../../chain/embedded';
import { isFirebreakError } from '../../common/errors';
import { aTokenAbi, poolAbi, variableDebtTokenAbi } from './abi';
import { AAVE_V3_TOPICS, type AaveV3Event, decodeAaveV3Log, type RawLog } from './events';

const stableDebtAbi = parseAbi([
  'event Mint(address indexed user, address indexed onBehalfOf, uint256 amount, uint256 currentBalance, uint256 balanceIncrease, uint256 newRate, uint256 avgStableRate, uint256 newTotalSupply)',
  'event Burn(address indexed from, uint256 amount, uint256 currentBalance, uint256 balanceIncrease, uint256 avgStableRate, uint256 newTotalSupply)',
]);

/** Every event the decoder knows, from the ABIs (pool, aToken, variable debt, stable debt). */
const events = [
  ...(poolAbi.filter((x) => x.type === 'event') as AbiEvent[]),
  ...(aTokenAbi.filter((x) => x.type === 'event') as AbiEvent[]),
  ...(stableDebtAbi as readonly AbiEvent[]),
].filter((e) => (Object.values(AAVE_V3_TOPICS) as string[]).includes(topicOf(e)));

function topicOf(event: AbiEvent): Hex {
  return encodeEventTopics({ abi: [event], eventName: event.name } as never)[0] as Hex;
}

/** viem's generic decoding of a log, as the reference. */
function viemDecode(log: RawLog): Record<string, unknown> {
  const topic0 = log.topics[0];
  const abi = [...poolAbi, ...aTokenAbi, ...variableDebtTokenAbi, ...stableDebtAbi].filter(
    (x) => x.type === 'event' && topicOf(x as AbiEvent) === topic0,
  );
  const { args } = decodeEventLog({ abi, data: log.data, topics: log.topics as [Hex, ...Hex[]] }) as {
    args: Record<string, unknown>;
  };
  return Object.fromEntries(
    Object.entries(args).map(([k, v]) => [k, typeof v === 'string' ? v.toLowerCase() : v]),
  );
}

/** Our decoding without the log position and type, with small integers as numbers like viem's. */
function fields(event: AaveV3Event): Record<string, unknown> {
  const { type: _type, address: _address, logIndex: _logIndex, ...rest } = event;
  return rest;
}

/** The fields of `ours` that viem also decodes, so that the stable-debt events compare on a subset. */
function comparable(ours: Record<string, unknown>, theirs: Record<string, unknown>) {
  return Object.fromEntries(Object.keys(ours).map((k) => [k, theirs[k]]));
}

const arbitraryValue = (type: string): fc.Arbitrary<unknown> => {
  if (type === 'address') return fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => toAddress(b));
  if (type === 'bool') return fc.boolean();
  if (type === 'uint8') return fc.integer({ min: 0, max: 255 });
  if (type === 'uint16') return fc.integer({ min: 0, max: 65_535 });
  if (type === 'uint256') return fc.bigInt({ min: 0n, max: 2n ** 256n - 1n });
  throw new Error(`no arbitrary for ${type}`);
};
const toAddress = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString('hex')}` as Address;

describe('Aave v3 event decoders', () => {
  it('decode every event as viem does, for any values (property)', () => {
    expect(events.length).toBe(Object.keys(AAVE_V3_TOPICS).length);
    for (const event of events) {
      const arbitrary = fc.tuple(...event.inputs.map((input) => arbitraryValue(input.type)));
      fc.assert(
        fc.property(arbitrary, (values) => {
          const args = Object.fromEntries(event.inputs.map((input, i) => [input.name!, values[i]]));
          const topics = encodeEventTopics({ abi: [event], eventName: event.name, args } as never) as Hex[];
          const data = encodeAbiParameters(
            event.inputs.filter((i) => !i.indexed),
            event.inputs.filter((i) => !i.indexed).map((i) => args[i.name!]),
          );
          const log: RawLog = {
            address: '0x00000000000000000000000000000000000000Aa',
            topics,
            data,
            logIndex: 7,
          };
          const decoded = decodeAaveV3Log(log)!;
          expect(decoded.address).toBe('0x00000000000000000000000000000000000000aa');
          expect(decoded.logIndex).toBe(7);
          const ours = fields(decoded);
          expect(ours).toEqual(comparable(ours, viemDecode(log)));
        }),
        { numRuns: 50 },
      );
    }
  });

  it('returns null for events it does not follow and throws on a known event of the wrong shape', () => {
    const approval = {
      address: '0x0000000000000000000000000000000000000001' as Address,
      topics: ['0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925' as Hex],
      data: '0x' as Hex,
      logIndex: 0,
    };
    expect(decodeAaveV3Log(approval)).toBeNull();
    expect(decodeAaveV3Log({ ...approval, topics: [] })).toBeNull();
    // An ERC-721 Transfer: ERC-20's topic0 with the token id as a fourth topic and no data.
    const nft = {
      ...approval,
      topics: [AAVE_V3_TOPICS.Transfer, approval.topics[0]!, approval.topics[0]!, '0x01' as Hex],
    };
    let error: unknown;
    try {
      decodeAaveV3Log(nft);
    } catch (e) {
      error = e;
    }
    expect(isFirebreakError(error, 'ERR_RISK_INPUT')).toBe(true);
    expect(() =>
      decodeAaveV3Log({
        ...approval,
        topics: [AAVE_V3_TOPICS.ReserveDataUpdated, approval.topics[0]!],
        data: '0x00',
      }),
    ).toThrow(/data bytes/);
  });
});

describe('Aave v3 event decoders on a real market', () => {
  let chain: EmbeddedChain;
  let m: PositionMarket;
  let logs: RawLog[];

  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: 2, blockGasLimit: 1_000_000_000n });
    m = await deployPositionMarket(chain, { positions: 40, seed: 9 });
    const [weth, basket, eMode, dai, lender] = [0, 1, 2, 3, 4].map((k) => m.accounts[k]!) as [
      Address,
      Address,
      Address,
      Address,
      Address,
    ];
    const MAX = 2n ** 256n - 1n;
    await mineBlock(
      m,
      runTxs(m, [
        calls.transferAToken(m, lender, 'USDC', weth, units(10, 6)),
        calls.supplyFor(m, 'DAI', units(100, 18), eMode),
        calls.repayWithATokens(m, eMode, 'DAI', units(1, 18)),
        calls.repayFor(m, dai, 'WETH', units(0.001, 18)),
        calls.repay(m, eMode, 'DAI', units(1, 18)),
        calls.withdraw(m, lender, 'USDC', units(1, 6)),
        calls.useAsCollateral(m, lender, 'USDC', false),
        calls.setEMode(m, lender, 1),
      ]),
      86_400n,
    );
    await mineBlock(
      m,
      [priceTx(m, 'WETH', ASSETS.WETH.priceUsd / 4), priceTx(m, 'WBTC', ASSETS.WBTC.priceUsd / 4)],
      60n,
    );
    await mineBlock(
      m,
      runTxs(m, [
        calls.liquidate(m, 'WETH', 'USDC', weth, MAX, false),
        calls.liquidate(m, 'WETH', 'DAI', basket, MAX, true),
      ]),
      12n,
    );
    logs = (await chain.client.getLogs({ address: m.logAddresses, fromBlock: m.fromBlock })) as RawLog[];
  }, 300_000);

  afterAll(async () => {
    await chain?.close();
  });

  it('decode every log of the market as viem does, and cover what the book needs', () => {
    const seen = new Map<string, number>();
    for (const log of logs) {
      const decoded = decodeAaveV3Log(log);
      if (decoded === null) continue;
      seen.set(decoded.type, (seen.get(decoded.type) ?? 0) + 1);
      const ours = fields(decoded);
      expect(ours).toEqual(comparable(ours, viemDecode(log)));
    }
    for (const type of [
      'Supply',
      'Withdraw',
      'Borrow',
      'Repay',
      'LiquidationCall',
      'ReserveDataUpdated',
      'ReserveUsedAsCollateralEnabled',
      'ReserveUsedAsCollateralDisabled',
      'UserEModeSet',
      'Mint',
      'Burn',
      'BalanceTransfer',
      'Transfer',
    ]) {
      expect(seen.get(type) ?? 0, type).toBeGreaterThan(0);
    }
  });

  it('is several times faster than generic ABI decoding (logged, not asserted)', () => {
    const abi = [...poolAbi, ...aTokenAbi];
    const rounds = 20;
    let started = performance.now();
    for (let r = 0; r < rounds; r++) for (const log of logs) decodeAaveV3Log(log);
    const oursUs = ((performance.now() - started) * 1000) / (rounds * logs.length);
    started = performance.now();
    for (let r = 0; r < rounds; r++) {
      for (const log of logs) {
        try {
          decodeEventLog({ abi, data: log.data, topics: log.topics as [Hex, ...Hex[]], strict: true });
        } catch {
          // events outside these ABIs
        }
      }
    }
    const viemUs = ((performance.now() - started) * 1000) / (rounds * logs.length);
    process.stderr.write(
      `[events] ${logs.length} logs: ${oursUs.toFixed(2)} µs/log here, ${viemUs.toFixed(2)} µs/log with decodeEventLog (${(viemUs / oursUs).toFixed(1)}×)\n`,
    );
    expect(oursUs).toBeGreaterThan(0);
  });
});
