/**
 * Detect — a block's logs for detectors: indexed once per block by topic0, so a detector asks for
 * the events it subscribes to and only those logs are decoded (with viem, memoised per event and
 * address set; every detector of the block shares the work).
 *
 * The logs come from the block event when the engine runs with `logs: true` (and always in a
 * replay: a recording carries them); otherwise they are read once by block hash through the view.
 */
import {
  type AbiEvent,
  type Address,
  decodeEventLog,
  type Hex,
  type Log,
  parseAbiItem,
  toEventSelector,
} from 'viem';
import type { BlockEvent } from '../chain/events';
import { packedLogsOf } from '../chain/packed-logs';
import type { BlockView } from './view';

/** A log decoded against one event: its named arguments and where it sits. */
/** A mined log, as a node returns it. */
export type BlockLog = Log<bigint, number, false>;

export interface DecodedLog {
  /** The emitting contract, lowercase. */
  address: Address;
  args: Record<string, unknown>;
  transactionHash: Hex;
  transactionIndex: number;
  logIndex: number;
}

export interface BlockLogs {
  /** Every log of the block, in log-index order. */
  all(): Promise<readonly BlockLog[]>;
  /** Logs whose topic0 is `topic0`, optionally only from `address` (one or several). */
  withTopic(topic0: Hex, address?: Hex | readonly Hex[]): Promise<readonly BlockLog[]>;
  /** Logs of `event` (an ABI item or a signature such as `Transfer(address indexed,address indexed,uint256)`), decoded. */
  decode(event: AbiEvent | string, address?: Hex | readonly Hex[]): Promise<readonly DecodedLog[]>;
}

const eventCache = new Map<string, AbiEvent>();

/**
 * Parses an event signature, with or without the leading `event ` keyword (cached: signatures in
 * configs are parsed once per process, and an ABI item is immutable).
 *
 * @example
 * const transfer = eventItem('Transfer(address indexed from, address indexed to, uint256 value)');
 */
export function eventItem(signature: string): AbiEvent {
  let item = eventCache.get(signature);
  if (!item) {
    const text = signature.trim().startsWith('event ') ? signature.trim() : `event ${signature.trim()}`;
    item = parseAbiItem(text) as AbiEvent;
    if (item.type !== 'event') throw new Error(`"${signature}" is not an event signature`);
    eventCache.set(signature, item);
  }
  return item;
}

const addressKey = (address: Hex | readonly Hex[] | undefined): string =>
  address === undefined
    ? '*'
    : (typeof address === 'string' ? [address] : [...address])
        .map((a) => a.toLowerCase())
        .sort()
        .join(',');

/** The block's logs behind the `BlockLogs` interface (see the module comment for where they come from). */
export function createBlockLogs(event: BlockEvent, view: Pick<BlockView, 'logs'>): BlockLogs {
  let loaded: Promise<{ all: readonly BlockLog[]; byTopic: Map<string, BlockLog[]> }> | undefined;
  const load = () => {
    loaded ??= (async () => {
      const all = event.logs ?? (await view.logs(event.block.hash));
      const byTopic = new Map<string, BlockLog[]>();
      for (const log of all) {
        const t0 = log.topics[0]?.toLowerCase();
        if (t0 === undefined) continue;
        const list = byTopic.get(t0);
        if (list) list.push(log);
        else byTopic.set(t0, [log]);
      }
      return { all, byTopic };
    })();
    return loaded;
  };
  // A replayed block's logs are packed: ask them by topic0, and only those logs are made.
  const packed = packedLogsOf(event);
  const withTopic = async (topic0: Hex, address?: Hex | readonly Hex[]): Promise<readonly BlockLog[]> => {
    const list = packed
      ? packed.withTopic0(topic0)
      : ((await load()).byTopic.get(topic0.toLowerCase()) ?? []);
    if (address === undefined) return list;
    const wanted = new Set((typeof address === 'string' ? [address] : address).map((a) => a.toLowerCase()));
    return list.filter((l) => wanted.has(l.address.toLowerCase()));
  };
  const decoded = new Map<string, Promise<readonly DecodedLog[]>>();
  return {
    all: async () => (await load()).all,
    withTopic,
    decode(event, address) {
      const item = typeof event === 'string' ? eventItem(event) : event;
      const selector = toEventSelector(item);
      const key = `${selector}|${item.inputs.map((i) => (i.indexed ? 'i' : 'd')).join('')}|${addressKey(address)}`;
      let hit = decoded.get(key);
      if (!hit) {
        hit = withTopic(selector, address).then((logs) => {
          const out: DecodedLog[] = [];
          for (const log of logs) {
            try {
              const { args } = decodeEventLog({
                abi: [item],
                data: log.data,
                topics: log.topics as [Hex, ...Hex[]],
                strict: true,
              });
              out.push({
                address: log.address.toLowerCase() as Address,
                args: (args ?? {}) as Record<string, unknown>,
                transactionHash: (log.transactionHash ?? '0x') as Hex,
                transactionIndex: log.transactionIndex ?? -1,
                logIndex: log.logIndex ?? -1,
              });
            } catch {
              // Same topic0, another shape (an ERC-721 Transfer against the ERC-20 one): not this event.
            }
          }
          return out;
        });
        decoded.set(key, hit);
      }
      return hit;
    },
  };
}
