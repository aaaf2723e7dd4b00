// Risk — bootstrap of a Monte Carlo worker thread. The project runs TypeScript through tsx with no
// build step, and a worker thread starts without the parent's loader: register tsx here, then load
// the TypeScript worker. Works under `tsx`, `node --import tsx` and vitest alike.
import { register } from 'tsx/esm/api';

register();
await import('./montecarlo.worker.ts');
