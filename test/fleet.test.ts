// Lease age (fleet.ts): the stamp when there is one, else the Go makemac's 24h/23h rule.
import { describe, expect, it } from 'vitest';
import { leaseAgeMs } from '../shared/fleet';
import { attributeLease } from '../shared/plan/attribution';
import { classifyLease } from '../shared/plan/verdict';
import { config, HOST, HOUR, lease, MINUTE, NOW } from './builders';

describe('leaseAgeMs', () => {
  it('reads the makemac.created stamp', () => {
    expect(leaseAgeMs(lease({ createdAgo: 20 * MINUTE }), NOW)).toBe(20 * MINUTE);
  });

  it('ignores a stamp from the future beyond clock skew', () => {
    expect(leaseAgeMs(lease({ createdAgo: -2 * HOUR, expiresIn: 5 * HOUR }), NOW)).toBeNull();
  });

  it('infers the age of an unstamped lease from an expiry more than 23h away, as Go makemac did', () => {
    expect(leaseAgeMs(lease({ createdAgo: null, expiresIn: 23 * HOUR + 40 * MINUTE }), NOW)).toBe(20 * MINUTE);
  });

  it('knows no age for an unstamped lease renewed at least once', () => {
    expect(leaseAgeMs(lease({ createdAgo: null, expiresIn: 10 * HOUR }), NOW)).toBeNull();
  });

  it('tolerates an expiry a few minutes beyond 24h (clock skew)', () => {
    expect(leaseAgeMs(lease({ createdAgo: null, expiresIn: 24 * HOUR + 5 * MINUTE }), NOW)).toBe(0);
  });

  it('takes an expiry further away than any create gives as wrong, not young: age unknown', () => {
    const farFuture = Date.parse('9999-12-31T23:59:59Z') - NOW;
    expect(leaseAgeMs(lease({ createdAgo: null, expiresIn: farFuture }), NOW)).toBeNull();
    expect(leaseAgeMs(lease({ createdAgo: null, expiresIn: 25 * HOUR }), NOW)).toBeNull();
  });

  it('so an unstamped lease with a far-future expiry and no bot is missing, not booting forever', () => {
    const cfg = config();
    const subject = lease({ createdAgo: null, expiresIn: Date.parse('9999-01-01T00:00:00Z') - NOW, bot: null });
    const host = { host: HOST, blind: false, blindReason: null, botCount: 1, latestSeenAt: NOW };
    expect(classifyLease(subject, attributeLease(cfg, subject), host, cfg.policy, NOW).state).toBe('missing');
  });
});
