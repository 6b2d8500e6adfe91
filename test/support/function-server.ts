// The Cloud Function in-process, behind functions-framework's own test server, on loopback.
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import './function-env';
import '../../functions/reconcile';

export async function startFunctionServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = getTestServer('reconcile');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
