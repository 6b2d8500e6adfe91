#!/usr/bin/env node
// The `makemac` command. The sources are TypeScript, run through tsx so that a fresh
// clone works right after `npm ci` with no build step; the Cloud Function is compiled.
// Both hooks: require() for the static imports, import() for the commands cli.ts loads lazily.
require('tsx/cjs/api').register();

import('tsx/esm/api')
  .then(({ register }) => {
    register();
    return require('./cli.ts').main(process.argv.slice(2));
  })
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(`makemac: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
