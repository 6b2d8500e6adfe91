import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds the compiled bin when a source changed since the last build.
    globalSetup: ['test/support/build.ts'],
    setupFiles: ['test/support/no-warnings.ts'],
    // The Google libraries probe the metadata server and shell out to gcloud without these.
    env: {
      METADATA_SERVER_DETECTION: 'none',
      GOOGLE_CLOUD_PROJECT: 'makemac-test',
    },
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
