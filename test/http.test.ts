// postJson against answers the fakes do not give: connections kept between the calls of a pass
// and dropped once idle, an answer slower than the idle time still waited for, and an error page
// that never ends read only as far as an error message needs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_BODY_BYTES, postJson } from '../shared/http';
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

describe('postJson error answers', () => {
  let raw: RawServer;
  beforeAll(async () => {
    raw = await startRawServer(async (_req, _body, res) => {
      // A proxy's error page that never ends.
      res.writeHead(503, { 'Content-Type': 'text/html' });
      while (!res.destroyed) {
        res.write('<p>upstream unavailable</p>'.repeat(1_000));
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
  });
  afterAll(() => raw.close());

  it('reads only the start of an endless error page, and answers with its status', async () => {
    const response = await postJson(raw.url, { endpoint: 'test call', headers: {}, body: '{}', timeoutMs: 10_000 });
    expect(response.status).toBe(503);
    expect(response.body.length).toBe(ERROR_BODY_BYTES);
    expect(response.body.startsWith('<p>upstream unavailable</p>')).toBe(true);
  });
});
