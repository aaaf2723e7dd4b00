/**
 * Test support — a small real Aave v3 market for the sending tests (test/respond-sending.test.ts,
 * test/respond-kill.test.ts, test/anvil-priority.test.ts): two reserves (USDC, WETH) with drill
 * tokens and price feeds, deployed by `deployer`, with `guardian` as EMERGENCY_ADMIN and RISK_ADMIN
 * (it may pause and freeze). Works on any local EVM client (EDR or anvil).
 */
import { type Account, type Address, type Client, getAddress } from 'viem';
import { deployArtifact, firebreakArtifact } from '../../src/chain/artifacts';
import {
  type AaveV3AssetOptions,
  type AaveV3Market,
  deployAaveV3Market,
} from '../../src/protocols/aave-v3/fixture';

export interface SendingMarket {
  market: AaveV3Market;
  usdc: Address;
  weth: Address;
}

export async function deploySendingMarket(
  client: Client,
  deployer: Account,
  guardian: Address,
): Promise<SendingMarket> {
  const token = firebreakArtifact('DrillToken');
  const feed = firebreakArtifact('DrillPriceFeed');
  const deploy = async (symbol: string, decimals: number, price: bigint) => {
    const asset = getAddress(
      await deployArtifact(client as never, token, { account: deployer, args: [symbol, symbol, decimals] }),
    );
    const source = await deployArtifact(client as never, feed, {
      account: deployer,
      args: [8, `${symbol} / USD`, price],
    });
    return { asset, source };
  };
  const u = await deploy('USDC', 6, 10n ** 8n);
  const w = await deploy('WETH', 18, 2_000n * 10n ** 8n);
  const reserve = (
    symbol: string,
    decimals: number,
    a: { asset: Address; source: Address },
  ): AaveV3AssetOptions => ({
    symbol,
    asset: a.asset,
    decimals,
    priceSource: a.source,
    ltvBps: 7500,
    liquidationThresholdBps: 8000,
    liquidationBonusBps: 10500,
    reserveFactorBps: 1000,
    borrowingEnabled: true,
    supplyCap: 0n,
    borrowCap: 0n,
  });
  const market = await deployAaveV3Market(client, {
    account: deployer,
    guardian,
    assets: [reserve('USDC', 6, u), reserve('WETH', 18, w)],
  });
  return { market, usdc: u.asset, weth: w.asset };
}
