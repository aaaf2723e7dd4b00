/**
 * Bench `risk` (part): the position book versus the node. On a real Aave v3 market on the embedded
 * chain with 10,000 positions (four assets, a stablecoin e-mode, opened by the drill-only
 * PositionSpawner), the book built from the market's logs computes every account's
 * `getUserAccountData` in `bigint`; the node answers the same question through the batch reader
 * (`AccountDataReader`, 1,000 accounts per `eth_call`, the calls in flight together) at the same
 * block. Reported: the speed-up (median node time / median book time, 5 rounds each) and the
 * number of accounts whose six values differ in any digit (target 0).
 *
 * The book's time is the computation from its state and the handed-in inputs (configuration and
 * prices), as the risk engine runs it every block; reading those inputs from the node (9 calls) is
 * logged apart.
 */
import { createEmbeddedChain } from '../src/chain/embedded';
import { createPositionBook } from '../src/risk/book';
import {
  deployPositionMarket,
  feedBook,
  readAllAccountData,
  readRiskInputs,
  sameAccountData,
} from '../test/risk/support/position-market';
import { type Metric, percentile, round } from './stats';

const POSITIONS = 10_000;
const ROUNDS = 5;

export async function measureBookVsRpc(log: (message: string) => void): Promise<Metric[]> {
  const chain = await createEmbeddedChain({ accounts: 4, blockGasLimit: 1_000_000_000n });
  try {
    const started = performance.now();
    const market = await deployPositionMarket(chain, { positions: POSITIONS, seed: 10 });
    log(
      `market with ${POSITIONS} positions opened in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    const book = createPositionBook(market.bookMarket);
    const head = await chain.client.getBlockNumber();
    const feedStarted = performance.now();
    const logs = await feedBook(market, book, market.fromBlock, head);
    log(
      `book built from ${logs} logs in ${(performance.now() - feedStarted).toFixed(0)} ms (${book.size()} accounts)`,
    );
    const accounts = book.accounts();

    const inputsStarted = performance.now();
    const inputs = await readRiskInputs(market, head);
    log(
      `risk inputs (configuration, e-mode, prices) read in ${(performance.now() - inputsStarted).toFixed(1)} ms`,
    );

    const bookMs: number[] = [];
    const nodeMs: number[] = [];
    let mismatches = 0;
    for (let r = 0; r < ROUNDS; r++) {
      let t = performance.now();
      const mine = book.allAccountData(inputs);
      bookMs.push(performance.now() - t);
      t = performance.now();
      const theirs = await readAllAccountData(market, accounts, head);
      nodeMs.push(performance.now() - t);
      if (r === 0) {
        mismatches = accounts.filter((_, i) => !sameAccountData(mine[i]!, theirs[i]!)).length;
      }
    }
    const bookMedian = percentile(bookMs, 50);
    const nodeMedian = percentile(nodeMs, 50);
    log(
      `${accounts.length} accounts: book ${bookMs.map((m) => m.toFixed(1)).join(', ')} ms; ` +
        `node ${nodeMs.map((m) => m.toFixed(0)).join(', ')} ms; ${mismatches} mismatches`,
    );
    return [
      {
        id: 'book_vs_rpc_speedup',
        value: round(nodeMedian / bookMedian),
        unit: '×',
        target: null,
        better: 'higher',
      },
      { id: 'parity_mismatches', value: mismatches, unit: 'accounts', target: 0, better: 'lower' },
    ];
  } finally {
    await chain.close();
  }
}
