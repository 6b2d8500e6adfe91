// The two ways one leases:find answer is read: whole (JSON.parse, bodies up to WHOLE_BODY_BYTES)
// and streamed (larger ones). The client tests run through the first; here the second must agree
// with it on any body, cut into any chunks, and take over once the body outgrows the first.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FindPageReader } from '../shared/macservice/find-page';
import type { IsOwned } from '../shared/macservice/wire';

const IMAGE = 'a'.repeat(64);
const isOwned: IsOwned = ({ customerName, projectName }) => customerName === 'golang' && projectName.startsWith('makemac/');

const leaseId = fc.constantFrom('39b47cf6-2aaa-4c80-b9cb-b800844fb104', '5d0e0a8e-3c0a-4f33-9d55-2f0e3c1b9a77', '', 'x');
const junk = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined));
/** Instances near the wire shape, any field of which may be junk or missing. */
const instance = fc.record(
  {
    lease: fc.oneof(
      fc.record({
        leaseId: fc.oneof(leaseId, junk),
        vmResourceNamespace: fc.oneof(
          fc.record({ customerName: fc.constantFrom('golang', 'other'), projectName: fc.constantFrom('makemac/h.appspot.com', 'other/x', '') }),
          junk,
        ),
        expires: fc.oneof(fc.constantFrom('2026-08-03T10:00:00Z', '2026-02-30T00:00:00Z', '', null), junk),
      }),
      junk,
    ),
    instanceSpecification: fc.oneof(
      fc.record({
        metadata: fc.oneof(fc.array(fc.record({ key: fc.constantFrom('golang.hostname', 'golang.cert', '__proto__'), value: fc.oneof(fc.string(), junk) })), junk),
        diskSelection: fc.constant({ imageHashes: { bootSha256: IMAGE } }),
      }),
      junk,
    ),
  },
  { requiredKeys: [] },
);
const findBody = fc.record(
  { instances: fc.oneof(fc.array(fc.oneof(instance, junk), { maxLength: 6 }), junk), nextPageToken: fc.oneof(fc.string({ maxLength: 4 }), junk) },
  { requiredKeys: [] },
);

/** The body's bytes fed in chunks cut at the given fractions. */
function read(body: string, cuts: number[], wholeUpTo?: number, known?: ReadonlySet<string>) {
  const bytes = Buffer.from(body, 'utf8');
  const reader = new FindPageReader(isOwned, known, wholeUpTo);
  const at = [...new Set(cuts.map((cut) => Math.floor(cut * bytes.length)))].sort((a, b) => a - b);
  let from = 0;
  for (const to of [...at, bytes.length]) {
    if (!reader.write(bytes.subarray(from, to))) break;
    from = to;
  }
  return reader.end();
}

function expectSameReading(body: string, cuts: number[], known?: ReadonlySet<string>): void {
  const whole = read(body, cuts, undefined, known);
  const streamed = read(body, cuts, 0, known);
  // Both refuse a bad body; which of its faults each names first may differ.
  if ('problem' in whole || 'problem' in streamed) expect('problem' in streamed, body).toBe('problem' in whole);
  else expect(streamed, body).toEqual(whole);
}

const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 });

describe('a leases:find answer read whole and streamed', () => {
  it('agree on answers near the wire shape, with any field junk or missing', () => {
    fc.assert(fc.property(findBody, cuts, (body, at) => expectSameReading(JSON.stringify(body) ?? '', at)), { numRuns: 400 });
  });

  it('agree on any JSON document', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), cuts, (value, at) => expectSameReading(JSON.stringify(value), at)), { numRuns: 300 });
  });

  it('agree on an answer cut anywhere, with anything after the cut', () => {
    fc.assert(
      fc.property(findBody, fc.double({ min: 0, max: 1, noNaN: true }), fc.string({ maxLength: 8 }), cuts, (body, cut, tail, at) => {
        const text = JSON.stringify(body) ?? '';
        expectSameReading(text.slice(0, Math.floor(cut * text.length)) + tail, at);
      }),
      { numRuns: 300 },
    );
  });

  it('agree on leaving out the leases already known', () => {
    const known = new Set(['39b47cf6-2aaa-4c80-b9cb-b800844fb104']);
    fc.assert(fc.property(findBody, cuts, (body, at) => expectSameReading(JSON.stringify(body) ?? '', at, known)), { numRuns: 200 });
  });

  it('reads a real-shaped answer to the same leases either way', () => {
    const body = JSON.stringify({
      instances: Array.from({ length: 50 }, (_, i) => ({
        lease: { leaseId: `lease-${i}`, vmResourceNamespace: { customerName: 'golang', projectName: i % 5 ? 'makemac/h.appspot.com' : 'other/x' }, expires: '2026-08-03T10:00:00Z' },
        instanceSpecification: { metadata: [{ key: 'golang.hostname', value: `darwin-${i}` }], diskSelection: { imageHashes: { bootSha256: IMAGE } } },
      })),
      nextPageToken: 'next',
    });
    const whole = read(body, [0.3, 0.6]);
    expect(whole).toMatchObject({ nextPageToken: 'next', skipped: 0 });
    expect('leases' in whole && whole.leases.map((lease) => lease.leaseId)).toHaveLength(50);
    expect(read(body, [0.3, 0.6], 0)).toEqual(whole);
  });
});

describe('a leases:find answer larger than the whole-body limit', () => {
  it('is streamed once it outgrows the limit, so a bad one is given up on without being read to its end', () => {
    const reader = new FindPageReader(isOwned, undefined, 16);
    expect(reader.write(Buffer.from('{"instances":'))).toBe(true);
    expect(reader.write(Buffer.from('{"not":"a list"}, "padding": "'))).toBe(false);
    expect(reader.end()).toEqual({ problem: 'instances: expected an array' });
  });

  it('below the limit is kept until its end and read whole', () => {
    const reader = new FindPageReader(isOwned, undefined, 1024);
    expect(reader.write(Buffer.from('{"instances":{"not":"a list"}'))).toBe(true);
    expect(reader.write(Buffer.from(', "nextPageToken": "t"}'))).toBe(true);
    expect(reader.end()).toEqual({ problem: 'instances: expected an array' });
  });
});
