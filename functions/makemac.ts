#!/usr/bin/env node
// The `makemac` command (package.json `bin`), compiled by `npm ci` (the prepare script) so that
// it runs as plain JavaScript: no TypeScript compiler is loaded at run time.
import { main } from './cli';
import { dropMetadataLookupWarnings } from './quiet-warnings';

dropMetadataLookupWarnings();
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`makemac: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
