// A loopback HTTP server that answers whatever a test says, byte for byte: for the answers the
// fakes cannot give (wrong content types, cut-off bodies, endless streams, endless page tokens).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type RawHandler = (req: IncomingMessage, body: string, res: ServerResponse) => void | Promise<void>;

export interface RawServer {
  url: string;
  /** Bodies received, in order. */
  bodies: string[];
  handler: RawHandler;
  close(): Promise<void>;
}

export async function startRawServer(handler: RawHandler): Promise<RawServer> {
  const raw: RawServer = {
    url: '',
    bodies: [],
    handler,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    raw.bodies.push(body);
    try {
      await raw.handler(req, body, res);
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  raw.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return raw;
}

/** Answers `body` with `status` and exactly these headers. */
export function answer(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, headers);
  res.end(body);
}
