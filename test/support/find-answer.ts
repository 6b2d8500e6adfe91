// A doctored leases:find: the fake's own answer, read once, changed by a test, then served in
// its place, as a server that lists odd, repeated or missing leases would.
import { SECRETS, type FakeFleet } from './fake-fleet';

/** What the fake MacService answers to leases:find right now; the read is not counted as the pass's. */
export async function findAnswer(fleet: FakeFleet): Promise<{ instances: any[] }> {
  const response = await fetch(`${fleet.macService.url}leases:find`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'x-goog-api-key': SECRETS.apiKey },
    body: JSON.stringify({ vmResourceNamespace: { customerName: 'golang' } }),
  });
  fleet.macService.requests.length = 0;
  return (await response.json()) as { instances: any[] };
}

/** Makes every later leases:find answer with exactly these instances. */
export function serveFind(fleet: FakeFleet, instances: unknown[]): void {
  fleet.macService.inject('find', { kind: 'garbage', body: JSON.stringify({ instances }) });
}
