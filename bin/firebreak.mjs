#!/usr/bin/env node
// The `firebreak` command. Firebreak ships as TypeScript run through tsx's loader, so there is no
// separate build step between a checkout and a working command.
import { register } from 'tsx/esm/api';
import { buildContracts } from './build-contracts.mjs';

register();
// Our contracts compile on first use (and again only when their sources change).
buildContracts();
const { main } = await import('../src/cli/main.ts');
const { redact } = await import('../src/common/errors.ts');
// Nothing may escape as a raw stack trace carrying an RPC URL or a key.
for (const event of ['unhandledRejection', 'uncaughtException']) {
  process.on(event, (error) => {
    process.stderr.write(
      `firebreak: unexpected error: ${redact(error instanceof Error ? error.message : String(error))}\n`,
    );
    process.exit(1);
  });
}
process.exitCode = await main(process.argv.slice(2));
