// The same configuration as firebreak.config.yaml, typed: `defineConfig` checks it as you write it,
// and Firebreak validates it again at load. Secrets are references to environment variables.
import { defineConfig } from 'firebreak';

export default defineConfig({
  dataDir: '.firebreak/data',
  chains: [
    {
      id: 1,
      name: 'mainnet',
      rpc: [{ env: 'MAINNET_RPC_URL' }, 'https://ethereum-rpc.publicnode.com'],
      pollIntervalMs: 1000,
    },
  ],
  markets: [
    {
      id: 'aave-core',
      chain: 'mainnet',
      protocol: 'aave-v3',
      addressesProvider: '0x2f39d218133AFaB8F2B819B1066c7E434Ad94E9e',
    },
  ],
  detectors: [
    {
      id: 'aave-oracle',
      type: 'oracle-deviation',
      market: 'aave-core',
      params: {
        assets: [
          {
            asset: '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2',
            symbol: 'WETH',
            // Placeholder: an independent WETH/USD feed.
            reference: { feed: '0x1111111111111111111111111111111111111111' },
          },
        ],
        thresholdBps: 1000,
        criticalBps: 3000,
      },
    },
  ],
  executors: [
    { id: 'guardian', type: 'eoa', chain: 'mainnet', key: { env: 'FIREBREAK_GUARDIAN_KEY' }, dryRun: true },
  ],
  playbooks: [
    {
      id: 'contain-manipulated-collateral',
      description: 'Critical oracle deviation on a collateral asset; contain that asset only.',
      when: { detector: 'aave-oracle', kind: 'manipulation', severity: 'critical' },
      do: [{ action: 'aave-v3.contain-collateral', executor: 'guardian', autonomy: 'auto' }],
    },
  ],
});
