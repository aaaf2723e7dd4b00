/**
 * Example custom detector (in code): any ERC-20 transfer of a watched token larger than a share of
 * its total supply. Loaded from the config:
 *
 *   detectors:
 *     - id: large-usdc-transfer
 *       type: custom
 *       chain: mainnet
 *       module: examples/detectors/large-transfer.ts
 *       params: { token: '0xA0b8…', shareBps: 500 }
 *
 * It uses the same context as the built-ins: `ctx.logs` (decode only the event it subscribes to),
 * `ctx.view` (state at the block), `ctx.state` (what it remembers between blocks).
 */
import type { Hex } from 'viem';
import { z } from 'zod';
import type { CustomDetectorDefinition } from '../../src/detectors/custom';
import { findingOf } from '../../src/detectors/finding';

const paramsSchema = z.strictObject({
  token: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/)
    .transform((s) => s.toLowerCase() as Hex),
  /** Share of the total supply, in basis points, from which a transfer is reported. */
  shareBps: z.number().int().min(1).max(10_000).default(500),
});
type Params = z.output<typeof paramsSchema>;

const largeTransfer: CustomDetectorDefinition<Params> = {
  type: 'large-transfer',
  description: 'An ERC-20 transfer larger than a share of the total supply.',
  paramsSchema,
  async detect(event, ctx) {
    const transfers = await ctx.logs.decode(
      'Transfer(address indexed from, address indexed to, uint256 value)',
      ctx.params.token,
    );
    if (transfers.length === 0) return [];
    const supply = await ctx.view.totalSupply(ctx.params.token);
    const seen = (ctx.state.get<number>('seen') ?? 0) + transfers.length;
    ctx.state.set('seen', seen);
    return transfers
      .filter((t) => (t.args.value as bigint) * 10_000n > supply * BigInt(ctx.params.shareBps))
      .map((t) =>
        findingOf('large-transfer', ctx.instanceId, event, {
          severity: 'medium',
          kind: 'anomaly',
          subject: { asset: ctx.params.token, account: String(t.args.from).toLowerCase() as Hex },
          dedupeKey: `large-transfer:${t.transactionHash}:${t.logIndex}`,
          confidence: 0.8,
          title: `transfer of ${t.args.value} (over ${ctx.params.shareBps / 100}% of the supply ${supply})`,
          evidence: {
            from: String(t.args.from),
            to: String(t.args.to),
            value: String(t.args.value),
            totalSupply: supply.toString(),
            tx: t.transactionHash,
            transfersSeen: seen,
          },
        }),
      );
  },
};

export default largeTransfer;
