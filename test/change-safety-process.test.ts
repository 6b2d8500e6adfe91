// Change safety through the command an operator runs (package.json's compiled bin, its own
// process) against the fakes: whose leases a pass may touch, a retired host drained, a secret
// typo refused before any call, and a dry run that reads the secrets a create would send.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { METADATA } from '../shared/fleet';
import { IMAGE_14, PUBLIC_HOST, SECRET_ENV, startFakeFleet, type FakeFleet } from './support/fake-fleet';
import { runCli } from './support/run-cli';

let fleet: FakeFleet;
let dir: string;
beforeEach(async () => {
  fleet = await startFakeFleet();
  dir = mkdtempSync(join(tmpdir(), 'makemac-change-safety-'));
});
afterEach(() => fleet.close());

async function reconcile(document: unknown, ...flags: string[]) {
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(document));
  const run = await runCli(['reconcile', '--config', configFile, '--log-format', 'json', ...flags], {
    ...SECRET_ENV,
    METADATA_SERVER_DETECTION: 'none',
  });
  const lines = run.stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line));
  return { ...run, lines };
}

/** A lease of `projectName` (and customer), past boot grace, with no bot: `missing` were it ours. */
function addLease(leaseId: string, projectName: string, customerName = 'golang') {
  const now = fleet.world.now();
  return fleet.world.addLease({
    leaseId,
    customerName,
    projectName,
    image: IMAGE_14,
    createdAt: now - 3 * 3_600_000,
    expiresAt: now + 3_600_000,
    metadata: [{ key: METADATA.hostname, value: 'darwin-amd64-14' }],
  });
}

it('touches only leases of its customer tagged byte for byte for a configured or retired host, and drains the retired one', async () => {
  fleet.seedConvergedFleet();
  const foreign = [
    addLease('aaaaaaaa-0000-4000-8000-000000000001', 'makemac/other-host.appspot.com'),
    addLease('aaaaaaaa-0000-4000-8000-000000000002', `makemac/${PUBLIC_HOST}/x`),
    addLease('aaaaaaaa-0000-4000-8000-000000000003', `makemac/${PUBLIC_HOST} `),
    addLease('aaaaaaaa-0000-4000-8000-000000000004', `makemac/${PUBLIC_HOST}`, 'someone-else'),
  ];
  const retired = addLease('bbbbbbbb-0000-4000-8000-000000000001', 'makemac/old-swarm.appspot.com');

  const { code, lines, stderr } = await reconcile(fleet.configDocument({ retiredHosts: ['old-swarm.appspot.com'] }));

  expect(stderr).toBe('');
  expect(code).toBe(0);
  const touched = fleet.macService.requests.filter((r) => r.verb === 'renew' || r.verb === 'vacate').map((r) => r.body.leaseId);
  for (const lease of foreign) expect(touched).not.toContain(lease.leaseId);
  for (const lease of foreign) expect(fleet.world.leases.has(lease.leaseId)).toBe(true);
  expect(lines.filter((l) => l.event === 'lease.vacate').map((l) => [l.leaseId, l.reason, l.outcome])).toEqual([[retired.leaseId, 'retired', 'ok']]);
  expect(fleet.world.leases.has(retired.leaseId)).toBe(false);
});

it('refuses a mistyped secret scheme with exit 2 naming the field, before any API call', async () => {
  const document = fleet.configDocument();
  document.swarming[0]!.groups[0]!.cert = 'secrets:darwin-amd64-14-cert';
  const { code, stderr, stdout } = await reconcile(document);
  expect(code).toBe(2);
  expect(stderr).toContain('swarming[0].groups[0].cert: looks like a mistyped reference');
  expect(stdout).toBe('');
  expect(fleet.macService.requests).toEqual([]);
});

it('fails a dry run whose creates could not read their bot certificate, as the live creates would fail, creating nothing', async () => {
  // An empty fleet: every group wants creates. Secret Manager cannot be reached from here.
  const document = fleet.configDocument();
  document.swarming[0]!.groups[0]!.cert = 'secret:makemac-test/darwin-amd64-14-cert';
  const { code, lines } = await reconcile(document, '--dry-run');
  expect(code).toBe(1);
  const creates = lines.filter((l) => l.event === 'lease.create');
  expect(creates.filter((l) => l.group === 'darwin-amd64-14')).toHaveLength(3);
  expect(creates.filter((l) => l.group === 'darwin-amd64-14').every((l) => l.outcome === 'error' && /darwin-amd64-14-cert/.test(l.error))).toBe(true);
  expect(creates.filter((l) => l.group !== 'darwin-amd64-14').every((l) => l.outcome === 'dry-run')).toBe(true);
  expect(fleet.macService.requests.filter((r) => r.verb === 'create')).toEqual([]);
});
