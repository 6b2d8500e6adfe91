// The config document, as a zod schema that is also the type. Every object is strict so a
// typo in a knob is an error rather than a silent fallback to the default.
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from '../duration';

const DEFAULT_MACSERVICE_URL = 'https://macservice-pa.googleapis.com/v1alpha1/';

const LOOPBACK_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopbackUrl(url: string): boolean {
  try {
    const { hostname } = new URL(url);
    return LOOPBACK_HOSTNAMES.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname);
  } catch {
    return false;
  }
}

const serviceUrl = z.string().superRefine((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute http(s) URL' });
    return;
  }
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && isLoopbackUrl(text)) return;
  ctx.addIssue({
    code: 'custom',
    message:
      url.protocol === 'http:'
        ? 'http:// is accepted only for loopback addresses; use https://'
        : 'must be an https:// URL',
  });
});

/** `secret:NAME`, `secret:PROJECT/NAME`, `secret:projects/P/secrets/N/versions/V`, `env:VAR`, or a literal (see secretRef). */
const SECRET_NAME = '[A-Za-z0-9_-]{1,255}';
const SECRET_FORMS = new RegExp(
  `^(?:${SECRET_NAME}|[a-z][a-z0-9-]{4,28}[a-z0-9]/${SECRET_NAME}|projects/[^/\\s]+/secrets/${SECRET_NAME}/versions/(?:latest|\\d+))$`,
);

/** `scheme:` at the start of a value: a reference, or a mistyped one (`secrets:`, `Secret:`, `sm:`, `env :`). */
const SCHEME_LIKE = /^\s*[A-Za-z][A-Za-z0-9+._ -]*\s*:/;
const PEM_BLOCK = /^\s*-----BEGIN [A-Z0-9 ]+-----[\s\S]+-----END [A-Z0-9 ]+-----\s*$/;
/** Letters, digits and the few marks API keys and tokens use; no spaces, no colon. */
const API_KEY_LITERAL = /^[A-Za-z0-9._~+/=-]{8,}$/;

/**
 * A secret reference, or a literal value of the given kind. Anything that could be a mistyped
 * reference is an error: sent as a literal, it would become the bot certificate of every VM
 * created, and those VMs would never join Swarming.
 */
const secretRef = (kind: 'api key' | 'PEM block') =>
  z
    .string()
    .min(1, 'must not be empty')
    .superRefine((ref, ctx) => {
      const problem = secretRefProblem(ref, kind);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    });

function secretRefProblem(ref: string, kind: 'api key' | 'PEM block'): string | null {
  if (ref.startsWith('secret:')) {
    return SECRET_FORMS.test(ref.slice('secret:'.length))
      ? null
      : 'malformed secret reference: use secret:NAME, secret:PROJECT/NAME or secret:projects/P/secrets/N/versions/V';
  }
  if (ref.startsWith('env:')) {
    return /^env:[A-Za-z_][A-Za-z0-9_]*$/.test(ref) ? null : 'malformed environment reference: use env:VARIABLE_NAME';
  }
  if (SCHEME_LIKE.test(ref)) return 'looks like a mistyped reference: the only schemes are secret: and env: (lower case, no spaces)';
  if (kind === 'PEM block' && !PEM_BLOCK.test(ref)) return 'a literal value must be a PEM block (-----BEGIN …-----); use secret:NAME or env:VAR to read one';
  if (kind === 'api key' && !API_KEY_LITERAL.test(ref)) return 'a literal API key must be at least 8 letters, digits or -._~+/= with no spaces; use secret:NAME or env:VAR to read one';
  return null;
}

/** A duration knob, bounded: a value outside [min, max] would quietly break the fleet. */
const duration = (fallback: string, min: string, max: string) =>
  z
    .string({ error: 'must be a duration string with a unit, such as "90s", "60m" or "22h"' })
    .regex(DURATION_PATTERN, { message: 'must be a duration with a unit, such as "90s", "60m" or "22h"', abort: true })
    .refine((text) => parseDuration(text)! >= parseDuration(min)! && parseDuration(text)! <= parseDuration(max)!, {
      message: `must be between ${min} and ${max}`,
    })
    .default(fallback)
    .transform((text) => parseDuration(text)!);

/** MacService fleets are tens of VMs; a count beyond this is a typo, not a fleet. */
export const MAX_GROUP_COUNT = 1000;

/** A whole number, or a percentage of the group's count such as "25%". */
export type Size = number | `${number}%`;
const size = z.custom<Size>(
  (value) =>
    (typeof value === 'number' && Number.isInteger(value) && value >= 0) ||
    (typeof value === 'string' && /^\d+(?:\.\d+)?%$/.test(value)),
  { error: 'must be a whole number ≥ 0 or a percentage such as "25%"' },
);

const wholeNumber = (what = 'a whole number ≥ 0') =>
  z.number({ error: `must be ${what}` }).int(`must be ${what}`).min(0, `must be ${what}`);

export const image = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'must be a SHA-256: 64 lowercase hex characters');

export const hostname = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]*$/, 'must be a bot hostname prefix (lowercase letters, digits, "-" and ".")')
  .refine((name) => !name.includes('--'), 'must not contain "--" (it separates the prefix from the lease id)');

export const customerName = z.string().regex(/^[a-z0-9-]+$/, 'must be lowercase letters, digits and "-"');

export const groupCount = wholeNumber().max(MAX_GROUP_COUNT, `must be a whole number from 0 to ${MAX_GROUP_COUNT}`);

const groupSchema = z.strictObject({
  hostname,
  image,
  count: groupCount,
  cert: secretRef('PEM block'),
  key: secretRef('PEM block'),
});

export const swarmingHost = z.string().regex(/^[a-z0-9.-]+(?::\d+)?$/, 'must be a host name such as chromium-swarm.appspot.com');

const swarmingSchema = z
  .strictObject({
    host: swarmingHost,
    url: serviceUrl.optional(),
    pool: z.string().min(1, 'must not be empty'),
    // An empty list would orphan, and so drain, every lease of the host: drain with count 0.
    groups: z.array(groupSchema).min(1, 'must list at least one group (set a count to 0 to drain it)'),
  })
  .superRefine((server, ctx) => {
    const seen = (key: 'hostname' | 'image') => {
      const first = new Map<string, number>();
      server.groups.forEach((group, index) => {
        const earlier = first.get(group[key]);
        if (earlier === undefined) first.set(group[key], index);
        else
          ctx.addIssue({
            code: 'custom',
            path: ['groups', index, key],
            message: `duplicate ${key} under ${server.host}: also groups[${earlier}]`,
          });
      });
    };
    seen('hostname');
    seen('image');
  })
  .transform((server) => ({ ...server, url: server.url ?? `https://${server.host}` }));

/**
 * A Swarming host being retired: its leases are drained. With its pool, its bots are listed like
 * a configured host's, so busy ones are known and wait for their task; with only its name, a
 * lease is judged by the bot found on a configured host, if any.
 */
const retiredHostSchema = z
  .union([swarmingHost, z.strictObject({ host: swarmingHost, url: serviceUrl.optional(), pool: z.string().min(1, 'must not be empty').optional() })], {
    error: 'must be a host name, or an object with host and optionally url and pool',
  })
  .transform((retired) => {
    const { host, url, pool } = typeof retired === 'string' ? { host: retired, url: undefined, pool: undefined } : retired;
    return { host, url: url ?? `https://${host}`, pool: pool ?? null };
  });

export const policySchema = z.strictObject({
  /** A lease with no bot is `booting` for this long after creation, `missing` after. */
  bootGrace: duration('60m', '5m', '24h'),
  /** A dead bot is vacated only once it has been silent this long (Swarming's own death timeout is 10m). */
  deadAfter: duration('30m', '0s', '24h'),
  /** A bot not seen for this long is judged dead before Swarming says so, so it is replaced sooner (its vacate still waits for deadAfter). */
  silentAfter: duration('3m', '1m', '24h'),
  /** Renew a kept lease when its expiry is closer than this. */
  renewBefore: duration('22h', '1h', '24h'),
  /** New-image leases a group may have above its count during a rollout. */
  maxSurge: size.default('25%'),
  /** How far below count healthy capacity may drop while outdated leases are replaced. */
  maxUnavailable: size.default(0),
  maxCreatesPerPass: wholeNumber().default(20),
  /** Budget on all vacates of one pass; a percentage is of all managed leases. */
  maxVacatesPerPass: size.default('25%'),
  /** An absolute ceiling on maxVacatesPerPass: a percentage of a huge (or phantom) fleet is no limit. */
  vacateCeiling: z.number().int('must be a whole number from 1 to 10000').min(1, 'must be a whole number from 1 to 10000').max(10_000, 'must be a whole number from 1 to 10000').default(200),
  /** Health vacates per swarming host beyond max(brakeMinimum, ceil(brakeFraction × managed leases)) engage the brake. */
  brakeMinimum: wholeNumber().default(3),
  brakeFraction: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1').default(0.5),
  /** Whether an idle quarantined bot's lease is vacated (busy ones always finish their task first). */
  vacateQuarantined: z.boolean().default(true),
  /** Mutations in flight at once. */
  concurrency: z.number().int().min(1, 'must be at least 1').max(64, 'must be at most 64').default(8),
  /** The whole pass, observation included; actions not started by then are skipped. */
  passDeadline: duration('4m', '10s', '1h'),
  /** One HTTP request. */
  requestTimeout: duration('30s', '100ms', '5m'),
  /** Attempts for one retryable call (429, 5xx, connection errors). */
  maxAttempts: z.number().int().min(1, 'must be at least 1').max(10, 'must be at most 10').default(4),
}).refine((policy) => policy.passDeadline > policy.requestTimeout, {
  message: 'must be longer than requestTimeout, or no request could finish within the pass',
  path: ['passDeadline'],
});

export const configSchema = z
  .strictObject({
    macService: z.strictObject({
      url: serviceUrl.default(DEFAULT_MACSERVICE_URL),
      apiKey: secretRef('api key'),
      customer: customerName,
      profile: z.string().min(1).default('V1_MEDIUM_VM'),
      accessLevel: z.string().min(1).default('GOLANG_OSS'),
    }),
    // An empty list would orphan, and so drain, the whole fleet.
    swarming: z.array(swarmingSchema).min(1, 'must list at least one swarming host'),
    // Hosts whose leases are drained. Leases of a host neither configured nor retired are never touched.
    retiredHosts: z.array(retiredHostSchema).default([]),
    policy: policySchema.default(() => policySchema.parse({})),
    dryRun: z.boolean().default(false),
  })
  .superRefine((config, ctx) => {
    const first = new Map<string, number>();
    config.swarming.forEach((server, index) => {
      const earlier = first.get(server.host);
      if (earlier === undefined) first.set(server.host, index);
      else
        ctx.addIssue({
          code: 'custom',
          path: ['swarming', index, 'host'],
          message: `duplicate swarming host: also swarming[${earlier}]`,
        });
    });
    const retired = new Map<string, number>();
    config.retiredHosts.forEach(({ host }, index) => {
      const configured = first.get(host);
      const earlier = retired.get(host);
      if (configured !== undefined)
        ctx.addIssue({ code: 'custom', path: ['retiredHosts', index], message: `is also configured as swarming[${configured}]: a host is either served or retired` });
      else if (earlier !== undefined)
        ctx.addIssue({ code: 'custom', path: ['retiredHosts', index], message: `duplicate retired host: also retiredHosts[${earlier}]` });
      else retired.set(host, index);
    });
  })
  .transform((config) => ({
    ...config,
    // The base URL is joined with `leases:<verb>`, so it must end in a slash.
    macService: { ...config.macService, url: config.macService.url.replace(/\/?$/, '/') },
  }));

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type SwarmingServer = Config['swarming'][number];
export type Group = SwarmingServer['groups'][number];
export type Policy = Config['policy'];

/** Resolves a size knob against a count, rounding a percentage up. */
export function sizeOf(value: Size, of: number): number {
  if (typeof value === 'number') return value;
  return Math.ceil((Number.parseFloat(value) / 100) * of);
}

/** The Swarming hosts whose bots a pass lists: every configured host, and retired ones with a pool. */
export function listedSwarmingHosts(config: Config): { host: string; url: string; pool: string }[] {
  return [
    ...config.swarming.map(({ host, url, pool }) => ({ host, url, pool })),
    ...config.retiredHosts.flatMap(({ host, url, pool }) => (pool === null ? [] : [{ host, url, pool }])),
  ];
}

/** The hosts whose leases makemac owns: configured and retired (see ownedHost). */
export function ownedSwarmingHosts(config: Config): ReadonlySet<string> {
  return new Set([...config.swarming.map((s) => s.host), ...config.retiredHosts.map((r) => r.host)]);
}
