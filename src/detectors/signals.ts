/**
 * Detect — signals several detectors share, read from a block's logs: flash loans (Aave v2/v3,
 * Balancer v2, ERC-3156 lenders) by transaction, and ERC-20 transfers.
 */
import type { Hex } from 'viem';
import type { BlockLogs, DecodedLog } from './logs';

/** Flash-loan events of the common lenders; a tx emitting any of them borrowed within itself. */
export const FLASH_LOAN_EVENTS = [
  // Aave v3 Pool (flashLoan and flashLoanSimple)
  'FlashLoan(address indexed target, address initiator, address indexed asset, uint256 amount, uint8 interestRateMode, uint256 premium, uint16 indexed referralCode)',
  // Aave v2 LendingPool
  'FlashLoan(address indexed target, address indexed initiator, address indexed asset, uint256 amount, uint256 premium, uint16 referralCode)',
  // Balancer v2 Vault
  'FlashLoan(address indexed recipient, address indexed token, uint256 amount, uint256 feeAmount)',
  // ERC-3156 lenders such as MakerDAO's flash mint module
  'FlashLoan(address indexed receiver, address token, uint256 amount, uint256 fee)',
] as const;

/** Flash loans in the block by transaction hash (lowercase): lender, asset, amount. */
export async function flashLoansByTx(
  logs: BlockLogs,
): Promise<Map<string, { lender: Hex; asset: string; amount: bigint }[]>> {
  const byTx = new Map<string, { lender: Hex; asset: string; amount: bigint }[]>();
  const decoded = await Promise.all(FLASH_LOAN_EVENTS.map((e) => logs.decode(e)));
  for (const list of decoded) {
    for (const l of list) {
      const asset = String(l.args.asset ?? l.args.token ?? '');
      const amount = typeof l.args.amount === 'bigint' ? l.args.amount : 0n;
      const key = l.transactionHash.toLowerCase();
      const entry = byTx.get(key) ?? [];
      entry.push({ lender: l.address, asset, amount });
      byTx.set(key, entry);
    }
  }
  return byTx;
}

export const ERC20_TRANSFER = 'Transfer(address indexed from, address indexed to, uint256 value)';

/** The ERC-20 transfers of `token` in the block, decoded. */
export function transfersOf(logs: BlockLogs, token: Hex): Promise<readonly DecodedLog[]> {
  return logs.decode(ERC20_TRANSFER, token);
}
