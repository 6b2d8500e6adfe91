// The function validates its config when its module loads (a revision with a bad config must
// never serve), so a test process needs a valid one before it imports functions/reconcile.
// Import this first; each test then sets its own MAKEMAC_CONFIG and calls resetInstance().
import { SECRET_ENV } from './fake-fleet';
import { PLACEHOLDER_CONFIG } from './placeholder-config';

Object.assign(process.env, SECRET_ENV);
process.env.MAKEMAC_CONFIG ??= PLACEHOLDER_CONFIG;
