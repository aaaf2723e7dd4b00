import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { decodeReserveConfiguration, RESERVE_CONFIGURATION_LAYOUT } from './reader';

const require = createRequire(import.meta.url);

/** Our field name → the constant prefix in ReserveConfiguration.sol. */
const SOL_NAMES: Record<keyof typeof RESERVE_CONFIGURATION_LAYOUT, [mask: string, start: string | null]> = {
  ltv: ['LTV', null],
  liquidationThreshold: ['LIQUIDATION_THRESHOLD', 'LIQUIDATION_THRESHOLD'],
  liquidationBonus: ['LIQUIDATION_BONUS', 'LIQUIDATION_BONUS'],
  decimals: ['DECIMALS', 'RESERVE_DECIMALS'],
  active: ['ACTIVE', 'IS_ACTIVE'],
  frozen: ['FROZEN', 'IS_FROZEN'],
  borrowingEnabled: ['BORROWING', 'BORROWING_ENABLED'],
  stableBorrowingEnabled: ['STABLE_BORROWING', 'STABLE_BORROWING_ENABLED'],
  paused: ['PAUSED', 'IS_PAUSED'],
  borrowableInIsolation: ['BORROWABLE_IN_ISOLATION', 'BORROWABLE_IN_ISOLATION'],
  siloedBorrowing: ['SILOED_BORROWING', 'SILOED_BORROWING'],
  flashLoanEnabled: ['FLASHLOAN_ENABLED', 'FLASHLOAN_ENABLED'],
  reserveFactor: ['RESERVE_FACTOR', 'RESERVE_FACTOR'],
  borrowCap: ['BORROW_CAP', 'BORROW_CAP'],
  supplyCap: ['SUPPLY_CAP', 'SUPPLY_CAP'],
  liquidationProtocolFee: ['LIQUIDATION_PROTOCOL_FEE', 'LIQUIDATION_PROTOCOL_FEE'],
  eModeCategory: ['EMODE_CATEGORY', 'EMODE_CATEGORY'],
  unbackedMintCap: ['UNBACKED_MINT_CAP', 'UNBACKED_MINT_CAP'],
  debtCeiling: ['DEBT_CEILING', 'DEBT_CEILING'],
};

const MAX = (1n << 256n) - 1n;

describe('decodeReserveConfiguration', () => {
  it('uses the bit layout of the shipped ReserveConfiguration.sol', () => {
    const source = readFileSync(
      require.resolve('@aave/core-v3/contracts/protocol/libraries/configuration/ReserveConfiguration.sol'),
      'utf8',
    );
    const constant = (name: string) => {
      const match = new RegExp(`constant ${name} =\\s*(0x[0-9A-Fa-f]+|\\d+);`).exec(source);
      if (!match?.[1]) throw new Error(`${name} not found in ReserveConfiguration.sol`);
      return BigInt(match[1]);
    };
    for (const [field, [start, bits]] of Object.entries(RESERVE_CONFIGURATION_LAYOUT)) {
      const [maskName, startName] = SOL_NAMES[field as keyof typeof SOL_NAMES];
      const ones = ((1n << BigInt(bits)) - 1n) << BigInt(start);
      expect(MAX ^ constant(`${maskName}_MASK`), field).toBe(ones);
      expect(startName === null ? 0n : constant(`${startName}_START_BIT_POSITION`), field).toBe(
        BigInt(start),
      );
    }
  });

  it('decodes every field', () => {
    const data =
      7500n |
      (8000n << 16n) |
      (10500n << 32n) |
      (6n << 48n) |
      (1n << 56n) |
      (1n << 58n) |
      (1n << 60n) |
      (1n << 63n) |
      (1000n << 64n) |
      (68_719_476_735n << 80n) |
      (2_000_000n << 116n) |
      (1000n << 152n) |
      (3n << 168n) |
      (5n << 176n) |
      (123_456n << 212n);
    expect(decodeReserveConfiguration(data)).toEqual({
      data,
      ltvBps: 7500,
      liquidationThresholdBps: 8000,
      liquidationBonusBps: 10500,
      decimals: 6,
      isActive: true,
      isFrozen: false,
      borrowingEnabled: true,
      stableBorrowingEnabled: false,
      isPaused: true,
      borrowableInIsolation: false,
      siloedBorrowing: false,
      flashLoanEnabled: true,
      reserveFactorBps: 1000,
      borrowCap: 68_719_476_735n,
      supplyCap: 2_000_000n,
      liquidationProtocolFeeBps: 1000,
      eModeCategory: 3,
      unbackedMintCap: 5n,
      debtCeiling: 123_456n,
    });
    expect(decodeReserveConfiguration((1n << 57n) | (1n << 59n) | (1n << 61n) | (1n << 62n))).toMatchObject({
      isActive: false,
      isFrozen: true,
      stableBorrowingEnabled: true,
      borrowableInIsolation: true,
      siloedBorrowing: true,
      isPaused: false,
    });
  });
});
