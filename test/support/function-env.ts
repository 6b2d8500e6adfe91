// The function validates its config when its module loads (a revision with a bad config must
// never serve), so a test process needs a valid one before it imports functions/reconcile.
// Import this first; each test then sets its own MAKEMAC_CONFIG and calls resetInstance().
import { IMAGE_14, PUBLIC_HOST, PUBLIC_POOL, SECRET_ENV } from './fake-fleet';

Object.assign(process.env, SECRET_ENV);
process.env.MAKEMAC_CONFIG ??= JSON.stringify({
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
