// The log-based metrics in terraform/ read fields the code really writes: real passes are run
// against the fakes, and every event and field a metric filters on or extracts must appear,
// with the right type, in the JSON lines those passes printed.
import { convertFiles } from '@cdktn/hcl2json';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClients } from '../shared/clients';
import { parseConfig } from '../shared/config/load';
import { CallCounter } from '../shared/http';
import { COMMON_FIELDS, EVENT_NAMES, fieldName, fieldsOf, LABEL_FIELDS, LOG_EVENTS, type LogEvent } from '../shared/log-contract';
import { JsonLogger } from '../shared/log';
import { runPass } from '../shared/pass';
import { ACTION_REASONS } from '../shared/plan/vocabulary';
import { SecretResolver } from '../shared/secrets';
import { CapturedStream } from './support/capture';
import { IMAGE_14, IMAGE_15, PUBLIC_HOST, SECRET_ENV, startFakeFleet, type FakeFleet } from './support/fake-fleet';
import { HOUR } from './builders';

let fleet: FakeFleet;
const stdout = new CapturedStream();

async function pass(policy: Record<string, unknown> = {}) {
  const config = parseConfig(fleet.configDocument({ policy: { maxAttempts: 1, ...policy } }));
  const calls = new CallCounter();
  const secrets = new SecretResolver({ env: SECRET_ENV });
  await runPass({ config, clients: buildClients(config, { calls, secrets }), secrets, calls, logger: new JsonLogger(stdout, { passId: 'p', dryRun: false }) });
}

beforeAll(async () => {
  fleet = await startFakeFleet();
  // A pass with every kind of action, one of them failing.
  fleet.seedConvergedFleet();
  const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
  fleet.addBotFor(dead, { isDead: true, lastSeenAt: 0 });
  for (const lease of [...fleet.world.leases.values()]) if (lease.image === IMAGE_15) fleet.world.leases.delete(lease.leaseId);
  fleet.addBotFor(fleet.addManagedLease(PUBLIC_HOST, 'darwin-arm64-15', IMAGE_15, 5 * HOUR));
  fleet.macService.inject('create', { kind: 'status', status: 500, times: 1 });
  await pass();
  // A pass the brake stops: most of one host's bots dead at once.
  for (const bot of fleet.world.hostBots(PUBLIC_HOST).values()) Object.assign(bot, { isDead: true, lastSeenAt: 0 });
  await pass();
  // A pass with a blind host, and one that cannot read MacService.
  fleet.publicSwarming.inject({ kind: 'status', status: 503, grpcCode: 14, times: 1 });
  await pass();
  fleet.macService.inject('find', { kind: 'status', status: 503, times: 1 });
  await pass();
});
afterAll(async () => {
  await fleet.close();
});

interface Metric {
  name: string;
  events: string[];
  fields: string[];
  valueField: string | null;
}

async function metrics(): Promise<Metric[]> {
  const tf: any = await convertFiles(join(__dirname, '..', 'terraform'));
  const blocks = Object.entries(tf.resource?.google_logging_metric ?? {}) as [string, any[]][];
  return blocks.map(([name, [metric]]) => {
    const texts = [metric.filter, metric.value_extractor ?? '', ...Object.values(metric.label_extractors ?? {})].join(' ');
    return {
      name,
      events: [...String(metric.filter).matchAll(/jsonPayload\.event=\\?"([^"\\]+)\\?"/g)].map((m) => m[1]!),
      fields: [...new Set([...texts.matchAll(/jsonPayload\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!))].filter((f) => f !== 'event'),
      valueField: /EXTRACT\(jsonPayload\.([A-Za-z0-9_]+)\)/.exec(metric.value_extractor ?? '')?.[1] ?? null,
    };
  });
}

describe('log contract', () => {
  it('the passes above produced every event the metrics count', () => {
    const events = new Set(stdout.jsonLines().map((l) => l.event));
    for (const event of ['lease.create', 'lease.renew', 'lease.vacate', 'safety.brake', 'observe.error', 'group.status', 'pass.summary']) {
      expect(events, event).toContain(event);
    }
  });

  it('every field a metric filters on or extracts is written on that metric’s events, with a number where a value is extracted', async () => {
    const found = await metrics();
    expect(found.length).toBeGreaterThanOrEqual(5);
    const lines = stdout.jsonLines();
    for (const metric of found) {
      expect(metric.events.length, `${metric.name} filters on no event`).toBeGreaterThan(0);
      for (const event of metric.events) {
        const entries = lines.filter((l) => l.event === event);
        expect(entries.length, `${metric.name}: no ${event} entry was written`).toBeGreaterThan(0);
        for (const field of metric.fields) {
          expect(entries.some((l) => l[field] !== undefined), `${metric.name}: ${event} entries lack ${field}`).toBe(true);
        }
        if (metric.valueField) {
          const values = entries.map((l) => l[metric.valueField!]).filter((v) => v !== undefined);
          expect(values.length, `${metric.name}: no ${metric.valueField}`).toBeGreaterThan(0);
          expect(values.every((v) => typeof v === 'number'), `${metric.name}: ${metric.valueField} must be a number`).toBe(true);
        }
      }
    }
  });

  it('lines carry only makemac’s fields and the keys Cloud Logging lifts: no logName, which would land in jsonPayload', () => {
    const lines = stdout.text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line));
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) {
      expect(line).not.toHaveProperty('logName');
      expect(line).not.toHaveProperty('resource');
      expect(typeof line.event).toBe('string');
    }
  });

  it('action outcomes and reasons take only the documented values', () => {
    const actions = stdout.jsonLines().filter((l) => /^lease\./.test(l.event));
    const outcomes = new Set(actions.map((l) => l.outcome));
    expect([...outcomes].every((o) => ['ok', 'gone', 'error', 'skipped', 'dry-run'].includes(o))).toBe(true);
    expect(outcomes).toContain('error');
    const reasons = ACTION_REASONS.map((r) => r.reason as string);
    expect(actions.every((l) => reasons.includes(l.reason))).toBe(true);
  });

  it('every line carries exactly the fields log-contract.ts declares for its event, and its labels', () => {
    const lines = stdout.jsonLines();
    // Cloud Logging's own keys, lifted out of jsonPayload on Cloud Run.
    const envelope = new Set(['severity', 'timestamp', 'logging.googleapis.com/labels', 'logging.googleapis.com/trace', 'logging.googleapis.com/insertId']);
    for (const line of lines) {
      const event = line.event as LogEvent;
      expect(EVENT_NAMES, `undeclared event ${event}`).toContain(event);
      const declared = new Set(fieldsOf(event));
      expect(Object.keys(line).filter((key) => !declared.has(key) && !envelope.has(key)), event).toEqual([]);
      const required = [...COMMON_FIELDS, ...LOG_EVENTS[event].filter((f) => !f.endsWith('?')).map(fieldName)];
      expect(required.filter((field) => !(field in line)), event).toEqual([]);
      const labels = line['logging.googleapis.com/labels'] ?? {};
      expect(Object.keys(labels).sort(), event).toEqual(LABEL_FIELDS.filter((f) => line[f] != null).sort());
      for (const label of Object.keys(labels)) expect(labels[label]).toBe(String(line[label]));
    }
  });
});
