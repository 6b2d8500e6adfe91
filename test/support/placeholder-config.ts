// A valid config that points nowhere, for loading the function where no test config is set
// yet. Its secrets are `env:` references to SECRET_ENV.
import { IMAGE_14, PUBLIC_HOST, PUBLIC_POOL } from './fake-fleet';

export const PLACEHOLDER_CONFIG = JSON.stringify({
  // Nothing listens on the discard port: a test that forgets its own config fails loudly.
  macService: { url: 'http://127.0.0.1:9/', apiKey: 'env:MAKEMAC_TEST_API_KEY', customer: 'golang' },
  swarming: [
    {
      host: PUBLIC_HOST,
      url: 'http://127.0.0.1:9',
      pool: PUBLIC_POOL,
      groups: [{ hostname: 'darwin-amd64-14', image: IMAGE_14, count: 1, cert: 'env:MAKEMAC_TEST_CERT', key: 'env:MAKEMAC_TEST_KEY' }],
    },
  ],
});
