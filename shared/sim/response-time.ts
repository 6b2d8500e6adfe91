// A fixed response time, as a server across a network of fixed latency has: the answer leaves
// `ms` after its request arrived, however long the fake itself took to make it. The bench uses
// it so a call costs what its limit says (latency × calls), whatever the fake's own work (a
// `find` of thousands of leases, three requests arriving at once) would otherwise add.
import type { ServerResponse } from 'node:http';

/** Holds back `res.end` until `ms` after now (the request's arrival). */
export function answerAfter(res: ServerResponse, ms: number): void {
  const due = performance.now() + ms;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((...args: unknown[]) => {
    setTimeout(() => end(...args), Math.max(0, due - performance.now()));
    return res;
  }) as ServerResponse['end'];
}
