// postJson's connections: kept between the calls of a pass, dropped once idle, and an answer that
// is slow to come is still waited for (only the request's own timeout ends it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson } from '../shared/http';
import { answer, startRawServer, type RawServer } from './support/raw-server';

/** Longer than the 4 s after which an idle connection is closed. */
const PAST_IDLE_MS = 4_500;

describe('postJson connections', () => {
  let raw: RawServer;
  const portOf = new Map<string, number>();
  beforeAll(async () => {
    raw = await startRawServer(async (req, _body, res) => {
      portOf.set(req.url!, req.socket.remotePort!);
      if (req.url === '/slow') await new Promise((resolve) => setTimeout(resolve, PAST_IDLE_MS));
      answer(res, 200, '{}');
    });
  });
  afterAll(() => raw.close());
  const post = (path: string) => postJson(`${raw.url}${path}`, { endpoint: 'test call', headers: {}, body: '{}', timeoutMs: 10_000 });

  it.concurrent('waits for an answer slower than the idle time', async () => {
    expect((await post('/slow')).status).toBe(200);
  });

  it.concurrent('reuses a connection between calls, and opens a new one after it sat idle', async () => {
    await post('/a');
    await post('/b');
    await new Promise((resolve) => setTimeout(resolve, PAST_IDLE_MS));
    await post('/c');
    expect(portOf.get('/b')).toBe(portOf.get('/a'));
    expect(portOf.get('/c')).not.toBe(portOf.get('/b'));
  });
});
