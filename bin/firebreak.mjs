#!/usr/bin/env node
// The `firebreak` command. Firebreak ships as TypeScript run through tsx's loader, so there is no
// separate build step between a checkout and a working command.
import { register } from 'tsx/esm/api';

import { buildContracts } from './build-contracts.mjs';

register();
// Our contracts compile on first use (and again only when their sources change).
buildContracts();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
