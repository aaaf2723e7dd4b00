/**
 * Drills — the contracts some incidents need beside the Aave v3 market, deployed after it:
 *
 * - `market.lendingVault` (SCENARIOS.md §6, Euler): the drill-only `DonationVault` with Euler's
 *   bug, its honest deposits, optionally an ERC-7265 `CircuitBreaker` in front of its payouts (the
 *   drill's guardian is the breaker's guardian), and a `DonationExploit` contract for each account
 *   that attacks it;
 * - `market.governance` (SCENARIOS.md §7, Beanstalk): the drill-only `FlashGovernor`, its stakers,
 *   its treasury (held by the governor, or by an OpenZeppelin `TimelockController` in which the
 *   guardian holds CANCELLER_ROLE), the proposer's proposal to send the treasury to itself, and the
 *   proposer's `GovernanceExploit` contract.
 *
 * Time: deposits must settle before the drill (an ERC-7265 breaker counts only liquidity older
 * than its window), and the proposal must be old enough for the emergency path (Beanstalk's was
 * submitted a day earlier), so the chain's clock is moved on by the longer of the two before the
 * drill's first block. Also: the calls of the scenario steps that drive these contracts, and the
 * backing the scorer tracks for them (`vault:<SYM>`, `treasury:<SYM>`).
 */
import { encodeFunctionData, type Hex, keccak256, parseAbi, parseUnits, toHex } from 'viem';
import { readContract, waitForTransactionReceipt, writeContract } from 'viem/actions';
import { deployArtifact, firebreakArtifact, packageArtifact } from '../chain/artifacts';
import type { EmbeddedChain, FundedAccount } from '../chain/embedded';
import type { AaveV3Market } from '../protocols/aave-v3/fixture';
import type { DrillStep, Scenario } from './scenario';
import type { DrillToken } from './token';

export interface DrillExtras {
  vault?: {
    address: Hex;
    assets: string[];
    /** The ERC-7265 breaker in front of the vault's payouts, or null. */
    breaker: Hex | null;
    /** The honest depositors (market.lendingVault.deposits) whose claims the scorer protects. */
    depositors: Hex[];
    /** Each attacking account's DonationExploit contract, by account name. */
    exploits: Map<string, Hex>;
  };
  governance?: {
    governor: Hex;
    timelock: Hex | null;
    /** Holds the treasury: the timelock, or the governor without one. */
    treasury: Hex;
    treasuryAssets: string[];
    stakeToken: string;
    proposalId: bigint;
    exploit: Hex;
  };
}

/** What extras need from the market deployed before them. */
export interface ExtrasBase {
  tokens: Map<string, DrillToken>;
  aave: AaveV3Market;
  deployer: FundedAccount;
  guardian: FundedAccount;
  accounts: Map<string, FundedAccount>;
}

const vaultAbi = parseAbi([
  'function deposit(address asset, uint256 amount)',
  'function cash(address asset) view returns (uint256)',
  'function collateralOf(address asset, address account) view returns (uint256)',
  'function debtOf(address asset, address account) view returns (uint256)',
]);
const breakerAbi = parseAbi([
  'function registerAsset(address asset, uint256 metricThreshold, uint256 minAmountToLimit)',
  'function addProtectedContracts(address[] contracts)',
  'function setGuardian(address guardian)',
  'function totalLocked(address asset) view returns (uint256)',
]);
const governorAbi = parseAbi([
  'function stake(uint256 amount)',
  'function propose(address[] targets, bytes[] payloads) returns (uint256)',
  'function proposalCount() view returns (uint256)',
  'function executeQueued(uint256 id)',
]);
const timelockAbi = parseAbi(['function grantRole(bytes32 role, address account)']);
const exploitAbi = parseAbi(['function attack(address asset, uint256 amount)']);
const governanceExploitAbi = parseAbi(['function attack(uint256 proposalId, uint256 amount)']);
const tokenAbi = parseAbi([
  'function mint(address to, uint256 amount)',
  'function approve(address spender, uint256 amount) returns (bool)',
  'function transfer(address to, uint256 amount) returns (bool)',
  'function balanceOf(address account) view returns (uint256)',
]);

const units = (amount: number, decimals: number) =>
  parseUnits(amount.toFixed(Math.min(decimals, 12)), decimals);

/** Deploys the scenario's extra contracts (none when it declares none). Automine must be on. */
export async function deployDrillExtras(
  chain: EmbeddedChain,
  scenario: Scenario,
  base: ExtrasBase,
  progress: (message: string) => void = () => {},
): Promise<DrillExtras> {
  const { lendingVault, governance } = scenario.market;
  const extras: DrillExtras = {};
  if (!lendingVault && !governance) return extras;
  const { client } = chain;
  const { deployer } = base;
  const token = (symbol: string) => base.tokens.get(symbol)!;
  const account = (name: string) => base.accounts.get(name)!;
  const send = async (from: FundedAccount, to: Hex, abi: readonly unknown[], fn: string, args: unknown[]) => {
    const hash = await writeContract(client, {
      address: to,
      abi: abi as never,
      functionName: fn as never,
      args: args as never,
      account: from.account,
      chain: client.chain,
    });
    const receipt = await waitForTransactionReceipt(client, { hash, pollingInterval: 1 });
    if (receipt.status !== 'success') throw new Error(`${fn} on ${to} reverted`);
  };
  const deploy = (name: string, from: FundedAccount, args: unknown[]) =>
    deployArtifact(client, firebreakArtifact(name), { account: from.account, args });
  const mint = (symbol: string, to: Hex, amount: bigint) =>
    send(deployer, token(symbol).address, tokenAbi, 'mint', [to, amount]);
  let settleSeconds = 0;

  if (lendingVault) {
    progress('lending vault (drill-only, vulnerable)');
    const assets = lendingVault.assets.map((s) => token(s).address);
    let breaker: Hex | null = null;
    if (lendingVault.breaker) {
      const b = lendingVault.breaker;
      breaker = (
        await deploy('CircuitBreaker', deployer, [
          deployer.address,
          BigInt(b.cooldownSeconds),
          BigInt(b.withdrawalPeriodSeconds),
          BigInt(b.tickSeconds),
        ])
      ).toLowerCase() as Hex;
      for (const a of assets)
        await send(deployer, breaker, breakerAbi, 'registerAsset', [a, BigInt(b.retentionBps), 0n]);
      await send(deployer, breaker, breakerAbi, 'setGuardian', [base.guardian.address]);
      settleSeconds = Math.max(settleSeconds, b.withdrawalPeriodSeconds + b.tickSeconds);
    }
    const vault = (
      await deploy('DonationVault', deployer, [
        breaker ?? '0x0000000000000000000000000000000000000000',
        assets,
      ])
    ).toLowerCase() as Hex;
    if (breaker) await send(deployer, breaker, breakerAbi, 'addProtectedContracts', [[vault]]);
    const depositors: Hex[] = [];
    for (const [name, amounts] of Object.entries(lendingVault.deposits)) {
      const who = account(name);
      depositors.push(who.address);
      for (const [symbol, amount] of Object.entries(amounts)) {
        const t = token(symbol);
        const n = units(amount, t.decimals);
        await mint(symbol, who.address, n);
        await send(who, t.address, tokenAbi, 'approve', [vault, n]);
        await send(who, vault, vaultAbi, 'deposit', [t.address, n]);
      }
    }
    const exploits = new Map<string, Hex>();
    for (const step of scenario.timeline) {
      if (step.do !== 'vault-exploit' || exploits.has(step.actor)) continue;
      exploits.set(
        step.actor,
        (await deploy('DonationExploit', account(step.actor), [vault, base.aave.pool])).toLowerCase() as Hex,
      );
    }
    extras.vault = { address: vault, assets: lendingVault.assets, breaker, depositors, exploits };
  }

  if (governance) {
    progress('governor, treasury and the proposal (drill-only, vulnerable)');
    let timelock: Hex | null = null;
    if (governance.timelock) {
      const artifact = packageArtifact('@openzeppelin/contracts/build/contracts/TimelockController.json');
      timelock = (
        await deployArtifact(client, artifact, {
          account: deployer.account,
          // Anyone may execute once the delay has passed (executor address(0)); the deployer administers.
          args: [
            BigInt(governance.timelock.minDelaySeconds),
            [],
            ['0x0000000000000000000000000000000000000000'],
            deployer.address,
          ],
        })
      ).toLowerCase() as Hex;
    }
    const stake = token(governance.stakeToken);
    const governor = (
      await deploy('FlashGovernor', deployer, [
        stake.address,
        BigInt(governance.emergencyDelaySeconds),
        BigInt(governance.supermajorityBps),
        timelock ?? '0x0000000000000000000000000000000000000000',
      ])
    ).toLowerCase() as Hex;
    if (timelock) {
      const role = (name: string) => keccak256(toHex(name));
      await send(deployer, timelock, timelockAbi, 'grantRole', [role('PROPOSER_ROLE'), governor]);
      await send(deployer, timelock, timelockAbi, 'grantRole', [
        role('CANCELLER_ROLE'),
        base.guardian.address,
      ]);
    }
    const treasury = timelock ?? governor;
    for (const [symbol, amount] of Object.entries(governance.treasury))
      await mint(symbol, treasury, units(amount, token(symbol).decimals));
    for (const [name, amount] of Object.entries(governance.stakes)) {
      const who = account(name);
      const n = units(amount, stake.decimals);
      await mint(stake.symbol, who.address, n);
      await send(who, stake.address, tokenAbi, 'approve', [governor, n]);
      await send(who, governor, governorAbi, 'stake', [n]);
    }
    // The proposal (Beanstalk's BIP-18): send the whole treasury to the proposer.
    const proposer = account(governance.proposer);
    const targets: Hex[] = [];
    const payloads: Hex[] = [];
    for (const [symbol, amount] of Object.entries(governance.treasury)) {
      const t = token(symbol);
      targets.push(t.address);
      payloads.push(
        encodeFunctionData({
          abi: tokenAbi,
          functionName: 'transfer',
          args: [proposer.address, units(amount, t.decimals)],
        }),
      );
    }
    await send(proposer, governor, governorAbi, 'propose', [targets, payloads]);
    const count = await readContract(client, {
      address: governor,
      abi: governorAbi,
      functionName: 'proposalCount',
    });
    const exploit = (
      await deploy('GovernanceExploit', proposer, [governor, base.aave.pool])
    ).toLowerCase() as Hex;
    // The attacker pays the flash loan's premium from its wallet.
    await send(proposer, stake.address, tokenAbi, 'approve', [exploit, 2n ** 256n - 1n]);
    settleSeconds = Math.max(settleSeconds, governance.emergencyDelaySeconds);
    extras.governance = {
      governor,
      timelock,
      treasury,
      treasuryAssets: Object.keys(governance.treasury),
      stakeToken: governance.stakeToken,
      proposalId: count - 1n,
      exploit,
    };
  }

  if (settleSeconds > 0) {
    progress(`letting ${settleSeconds} s pass before the drill`);
    await client.request({ method: 'evm_increaseTime', params: [toHex(settleSeconds)] } as never);
    await chain.mine();
  }
  return extras;
}

/** A call a scenario step makes on the extra contracts (the actors sign and send it). */
export interface ExtraCall {
  to: Hex;
  abi: readonly unknown[];
  functionName: string;
  args: readonly unknown[];
  gas: bigint;
}

/** The calls of a step that drives the extra contracts; a string says why it sends nothing. */
export function extraStepCalls(
  step: Extract<DrillStep, { do: 'vault-exploit' | 'governance-attack' | 'governance-execute' }>,
  extras: DrillExtras | undefined,
  tokens: Map<string, DrillToken>,
): ExtraCall[] | string {
  switch (step.do) {
    case 'vault-exploit': {
      const exploit = extras?.vault?.exploits.get(step.actor);
      if (!exploit) return 'no lending vault exploit contract for this account';
      const t = tokens.get(step.asset)!;
      return [
        {
          to: exploit,
          abi: exploitAbi,
          functionName: 'attack',
          args: [t.address, units(step.flashLoan, t.decimals)],
          gas: 4_000_000n,
        },
      ];
    }
    case 'governance-attack': {
      const g = extras?.governance;
      if (!g) return 'no governor';
      const stake = tokens.get(g.stakeToken)!;
      return [
        {
          to: g.exploit,
          abi: governanceExploitAbi,
          functionName: 'attack',
          args: [g.proposalId, units(step.flashLoan, stake.decimals)],
          gas: 2_000_000n,
        },
      ];
    }
    case 'governance-execute': {
      const g = extras?.governance;
      if (!g?.timelock) return 'no timelock';
      return [
        {
          to: g.governor,
          abi: governorAbi,
          functionName: 'executeQueued',
          args: [g.proposalId],
          gas: 600_000n,
        },
      ];
    }
  }
}

/**
 * The backing the scorer tracks for the extra contracts, in whole tokens by `vault:<SYM>` and
 * `treasury:<SYM>`: the vault's cash (plus what its breaker holds locked) less the honest
 * depositors' net claims — it falls by exactly what is drained — and the treasury's balances.
 */
export async function extrasBacking(
  chain: EmbeddedChain,
  extras: DrillExtras | undefined,
  tokens: Map<string, DrillToken>,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  if (!extras) return out;
  const { client } = chain;
  const read = (address: Hex, abi: readonly unknown[], functionName: string, args: unknown[]) =>
    readContract(client, {
      address,
      abi: abi as never,
      functionName: functionName as never,
      args: args as never,
    }) as Promise<bigint>;
  const asFloat = (n: bigint, decimals: number) => Number(n) / 10 ** decimals;
  const v = extras.vault;
  if (v) {
    await Promise.all(
      v.assets.map(async (symbol) => {
        const t = tokens.get(symbol)!;
        const [cash, locked, claims] = await Promise.all([
          read(v.address, vaultAbi, 'cash', [t.address]),
          v.breaker ? read(v.breaker, breakerAbi, 'totalLocked', [t.address]) : Promise.resolve(0n),
          Promise.all(
            v.depositors.map(async (who) => {
              const [c, d] = await Promise.all([
                read(v.address, vaultAbi, 'collateralOf', [t.address, who]),
                read(v.address, vaultAbi, 'debtOf', [t.address, who]),
              ]);
              return c > d ? c - d : 0n;
            }),
          ),
        ]);
        out[`vault:${symbol}`] = asFloat(cash + locked - claims.reduce((a, b) => a + b, 0n), t.decimals);
      }),
    );
  }
  const g = extras.governance;
  if (g) {
    await Promise.all(
      g.treasuryAssets.map(async (symbol) => {
        const t = tokens.get(symbol)!;
        out[`treasury:${symbol}`] = asFloat(
          await read(t.address, tokenAbi, 'balanceOf', [g.treasury]),
          t.decimals,
        );
      }),
    );
  }
  return out;
}
