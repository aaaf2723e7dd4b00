/**
 * Risk — contagion across markets, assets, pools and protocols. The graph says who holds what:
 * a lending market's collateral (shared collateral links markets), the tokens a protocol issues
 * (its governance token or stablecoin used as collateral elsewhere), a pool's reserves and its LP
 * token (LP tokens as collateral), a market's deposit receipt (aTokens as collateral elsewhere).
 * A failing asset (it loses a fraction of its value) or protocol (its tokens and everything it runs
 * lose a fraction) propagates until nothing changes:
 * - a pool's LP token loses `1 − Π (1 − λ_i)^{w_i}` (the value-weighted geometric mean of a
 *   constant-product pool's reserves after arbitrage; w_i the reserves' value shares);
 * - a market loses the value of its collateral; what no longer covers its debt is bad debt, borne
 *   by its depositors: its receipt token loses `bad debt / supplied` (worst case: no liquidation
 *   saves anything);
 * and those losses reach whoever holds the LP or receipt token. Losses only grow and are capped at
 * 100 %, so the propagation reaches a fixpoint.
 */
import { FirebreakError } from '../common/errors';

export interface ContagionGraph {
  assets: readonly { id: string }[];
  markets: readonly {
    id: string;
    /** Collateral posted in the market, by asset (USD). */
    collateral: readonly { asset: string; amountUsd: number }[];
    debtUsd: number;
    suppliedUsd: number;
    /** The asset that represents a deposit in this market (its aToken), if listed anywhere. */
    receiptToken?: string;
  }[];
  pools: readonly {
    id: string;
    reserves: readonly { asset: string; amountUsd: number }[];
    lpToken?: string;
  }[];
  protocols: readonly {
    id: string;
    /** Assets the protocol issues (its token, its stablecoin). */
    issues: readonly string[];
    /** Markets and pools it runs. */
    operates: readonly string[];
  }[];
}

export type ContagionSource =
  | { kind: 'asset'; id: string; loss: number }
  | { kind: 'protocol'; id: string; loss: number };

export type EdgeKind = 'issues' | 'operates' | 'collateral' | 'reserve' | 'lp-token' | 'receipt';

export interface ContagionEdge {
  from: string;
  to: string;
  kind: EdgeKind;
  /** The loss that travelled this edge (USD where amounts are known, else the fraction as USD 0). */
  lossUsd: number;
  /** The fraction lost by `from` when it travelled. */
  loss: number;
}

export interface MarketExposure {
  id: string;
  collateralLossUsd: number;
  badDebtUsd: number;
  /** Fraction of deposits lost. */
  depositorLoss: number;
  /** Node ids from a source to this market along the edges that carried the largest loss. */
  path: string[];
}

export interface ContagionResult {
  /** Fraction of value lost per asset (0 = untouched). */
  assetLoss: Record<string, number>;
  /** Markets with any loss, largest bad debt first. */
  markets: MarketExposure[];
  pools: { id: string; lpLoss: number; lossUsd: number }[];
  /** Edges that carried a loss. */
  edges: ContagionEdge[];
  iterations: number;
}

const invalid = (message: string) => new FirebreakError('ERR_USAGE', message);

/** Checks ids are unique and every reference names a node (throws ERR_USAGE naming the first). */
function checkGraph(g: ContagionGraph): void {
  const ids = new Map<string, string>();
  const add = (id: string, kind: string) => {
    if (ids.has(id)) throw invalid(`risk: contagion graph: "${id}" is defined twice`);
    ids.set(id, kind);
  };
  for (const x of g.assets) add(x.id, 'asset');
  for (const x of g.markets) add(x.id, 'market');
  for (const x of g.pools) add(x.id, 'pool');
  for (const x of g.protocols) add(x.id, 'protocol');
  const expect = (id: string, kind: string, where: string) => {
    if (ids.get(id) !== kind)
      throw invalid(`risk: contagion graph: ${where} names ${kind} "${id}", which is not defined`);
  };
  const amount = (v: number, where: string) => {
    if (!(v >= 0 && Number.isFinite(v)))
      throw invalid(`risk: contagion graph: ${where} is ${v}; use a finite amount ≥ 0`);
  };
  for (const m of g.markets) {
    for (const c of m.collateral) {
      expect(c.asset, 'asset', `market "${m.id}" collateral`);
      amount(c.amountUsd, `market "${m.id}" collateral ${c.asset}`);
    }
    amount(m.debtUsd, `market "${m.id}" debtUsd`);
    amount(m.suppliedUsd, `market "${m.id}" suppliedUsd`);
    if (m.receiptToken !== undefined) expect(m.receiptToken, 'asset', `market "${m.id}" receiptToken`);
  }
  for (const p of g.pools) {
    for (const r of p.reserves) {
      expect(r.asset, 'asset', `pool "${p.id}" reserves`);
      amount(r.amountUsd, `pool "${p.id}" reserve ${r.asset}`);
    }
    if (p.lpToken !== undefined) expect(p.lpToken, 'asset', `pool "${p.id}" lpToken`);
  }
  for (const p of g.protocols) {
    for (const a of p.issues) expect(a, 'asset', `protocol "${p.id}" issues`);
    for (const x of p.operates)
      if (ids.get(x) !== 'market' && ids.get(x) !== 'pool')
        throw invalid(
          `risk: contagion graph: protocol "${p.id}" operates "${x}", which is no market or pool`,
        );
  }
}

/**
 * Propagates a failure through the graph to its fixpoint.
 *
 * @example
 * propagateContagion(graph, [{ kind: 'asset', id: 'stETH', loss: 0.3 }]).markets
 */
export function propagateContagion(
  graph: ContagionGraph,
  sources: readonly ContagionSource[],
): ContagionResult {
  checkGraph(graph);
  const loss = new Map<string, number>(); // assets, markets (depositor loss), pools (lp loss)
  const via = new Map<string, { from: string; weight: number }>();
  const edges = new Map<string, ContagionEdge>();
  const raise = (id: string, value: number, from: string | null, weight: number) => {
    const v = Math.min(1, value);
    if (v > (loss.get(id) ?? 0) + 1e-15) {
      loss.set(id, v);
      if (from !== null && weight >= (via.get(id)?.weight ?? 0)) via.set(id, { from, weight });
      return true;
    }
    return false;
  };
  const edge = (from: string, to: string, kind: EdgeKind, lossUsd: number, fraction: number) => {
    if (!(fraction > 0)) return;
    edges.set(`${from}→${to}`, { from, to, kind, lossUsd, loss: fraction });
  };
  const protocolLoss = new Map<string, number>();
  for (const s of sources) {
    if (!(s.loss > 0 && s.loss <= 1))
      throw invalid(`risk: a contagion source's loss must be in (0, 1], got ${s.loss}`);
    if (s.kind === 'asset') {
      if (!graph.assets.some((a) => a.id === s.id))
        throw invalid(`risk: contagion source: no asset "${s.id}"`);
      raise(s.id, s.loss, null, 0);
    } else {
      const p = graph.protocols.find((x) => x.id === s.id);
      if (p === undefined) throw invalid(`risk: contagion source: no protocol "${s.id}"`);
      protocolLoss.set(p.id, Math.max(protocolLoss.get(p.id) ?? 0, s.loss));
      for (const a of p.issues) {
        raise(a, s.loss, p.id, s.loss);
        edge(p.id, a, 'issues', 0, s.loss);
      }
      for (const x of p.operates) {
        raise(x, s.loss, p.id, s.loss);
        edge(p.id, x, 'operates', 0, s.loss);
      }
    }
  }

  const marketState = new Map<string, { collateralLossUsd: number; badDebtUsd: number }>();
  const poolState = new Map<string, number>();
  let iterations = 0;
  for (let changed = true; changed && iterations < 1000; iterations++) {
    changed = false;
    for (const p of graph.pools) {
      const total = p.reserves.reduce((s, r) => s + r.amountUsd, 0);
      let logKeep = 0;
      let lossUsd = 0;
      for (const r of p.reserves) {
        const l = loss.get(r.asset) ?? 0;
        if (total > 0) logKeep += (r.amountUsd / total) * Math.log(Math.max(1e-300, 1 - l));
        lossUsd += r.amountUsd * l;
        edge(r.asset, p.id, 'reserve', r.amountUsd * l, l);
      }
      const lpLoss = Math.max(1 - Math.exp(logKeep), loss.get(p.id) ?? 0);
      const heaviest = p.reserves.reduce<{ asset: string; usd: number } | null>((best, r) => {
        const usd = r.amountUsd * (loss.get(r.asset) ?? 0);
        return best === null || usd > best.usd ? { asset: r.asset, usd } : best;
      }, null);
      if (raise(p.id, lpLoss, heaviest?.asset ?? null, heaviest?.usd ?? 0)) changed = true;
      poolState.set(p.id, Math.max(lossUsd, total * (loss.get(p.id) ?? 0)));
      if (p.lpToken !== undefined) {
        const l = loss.get(p.id) ?? 0;
        if (raise(p.lpToken, l, p.id, total * l)) changed = true;
        edge(p.id, p.lpToken, 'lp-token', total * l, l);
      }
    }
    for (const m of graph.markets) {
      let lost = 0;
      let kept = 0;
      let heaviest: { asset: string; usd: number } | null = null;
      for (const c of m.collateral) {
        const l = loss.get(c.asset) ?? 0;
        lost += c.amountUsd * l;
        kept += c.amountUsd * (1 - l);
        edge(c.asset, m.id, 'collateral', c.amountUsd * l, l);
        if (l > 0 && (heaviest === null || c.amountUsd * l > heaviest.usd))
          heaviest = { asset: c.asset, usd: c.amountUsd * l };
      }
      const bad = Math.max(0, m.debtUsd - kept);
      marketState.set(m.id, { collateralLossUsd: lost, badDebtUsd: bad });
      const depositorLoss = m.suppliedUsd > 0 ? bad / m.suppliedUsd : bad > 0 ? 1 : 0;
      if (raise(m.id, depositorLoss, heaviest?.asset ?? null, heaviest?.usd ?? 0)) changed = true;
      if (m.receiptToken !== undefined) {
        const l = loss.get(m.id) ?? 0;
        if (raise(m.receiptToken, l, m.id, m.suppliedUsd * l)) changed = true;
        edge(m.id, m.receiptToken, 'receipt', m.suppliedUsd * l, l);
      }
    }
  }

  const pathTo = (id: string): string[] => {
    const path = [id];
    const seen = new Set([id]);
    for (let at = via.get(id); at !== undefined && !seen.has(at.from); at = via.get(at.from)) {
      path.unshift(at.from);
      seen.add(at.from);
    }
    return path;
  };
  const markets: MarketExposure[] = graph.markets
    .map((m) => {
      const st = marketState.get(m.id) ?? { collateralLossUsd: 0, badDebtUsd: 0 };
      return {
        id: m.id,
        collateralLossUsd: st.collateralLossUsd,
        badDebtUsd: Math.max(st.badDebtUsd, (loss.get(m.id) ?? 0) * m.suppliedUsd),
        depositorLoss: loss.get(m.id) ?? 0,
        path: pathTo(m.id),
      };
    })
    .filter((m) => m.collateralLossUsd > 0 || m.depositorLoss > 0)
    .sort((x, y) => y.badDebtUsd - x.badDebtUsd || y.collateralLossUsd - x.collateralLossUsd);
  const assetLoss: Record<string, number> = {};
  for (const a of graph.assets) assetLoss[a.id] = loss.get(a.id) ?? 0;
  return {
    assetLoss,
    markets,
    pools: graph.pools
      .map((p) => ({ id: p.id, lpLoss: loss.get(p.id) ?? 0, lossUsd: poolState.get(p.id) ?? 0 }))
      .filter((p) => p.lpLoss > 0),
    edges: [...edges.values()],
    iterations,
  };
}
