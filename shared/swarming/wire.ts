// What Swarming's ListBots sends over pRPC with JSON (wire-notes.md §2–§4): the response
// schemas, the anti-XSSI prefix and the gRPC status codes. Both the client and the fake
// server read this file, so they cannot disagree about a name or a code.
import { z } from 'zod';
import type { Bot } from '../fleet';
import { parseTimestamp } from '../timestamp';

/** pRPC puts every method at `/prpc/<package.Service>/<Method>`. */
export const LIST_BOTS_PATH = '/prpc/swarming.v2.Bots/ListBots';

/** Prefixed to every JSON success body (never to errors) so a browser cannot run it as script. */
export const XSSI_PREFIX = ")]}'\n";

/** gRPC status codes by name, as carried in the `X-Prpc-Grpc-Code` header. */
export const GRPC_CODE = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

type GrpcCodeName = keyof typeof GRPC_CODE;

/** The HTTP status the Go pRPC server answers with for each code (grpcutil.CodeStatus). */
const HTTP_STATUS: Record<GrpcCodeName, number> = {
  OK: 200,
  CANCELLED: 499,
  UNKNOWN: 500,
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  OUT_OF_RANGE: 400,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DATA_LOSS: 500,
  UNAUTHENTICATED: 401,
};

const NAME_BY_CODE = new Map<number, GrpcCodeName>(
  Object.entries(GRPC_CODE).map(([name, code]) => [code, name as GrpcCodeName]),
);

/** `INTERNAL` for 13; `CODE_99` for a number outside the table, so a message can still name it. */
export function grpcCodeName(code: number): string {
  return NAME_BY_CODE.get(code) ?? `CODE_${code}`;
}

/** The server's HTTP status for a code; 500 for a code outside the table. */
export function httpStatusForCode(code: number): number {
  const name = NAME_BY_CODE.get(code);
  return name === undefined ? 500 : HTTP_STATUS[name];
}

/**
 * A proto3 JSON object: each field may come under its lowerCamelCase JSON name or its
 * snake_case proto name (protojson accepts both; giving both is an error), and unknown
 * fields are dropped, since the server adds fields over time.
 */
export function protoJsonObject<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.preprocess((value, ctx) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    // Servers send the JSON names: an object without a snake_case key is taken as it is.
    if (!Object.keys(value).some((key) => key.includes('_'))) return value;
    const seen = new Set<string>();
    const entries: [string, unknown][] = [];
    for (const [key, field] of Object.entries(value)) {
      const camel = key.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
      if (seen.has(camel)) {
        ctx.addIssue({ code: 'custom', message: `field "${camel}" given twice`, path: [camel] });
      }
      seen.add(camel);
      entries.push([camel, field]);
    }
    // fromEntries defines own properties, so a "__proto__" key stays data.
    return Object.fromEntries(entries);
  }, z.object(shape));
}

/** Proto3 JSON: an omitted field and `null` both mean the default. */
export function withDefault<T extends z.ZodType, D>(schema: T, fallback: D) {
  return schema.nullish().transform((value): z.output<T> | D => value ?? fallback);
}

const timestamp = z.string().transform((text, ctx) => {
  const ms = parseTimestamp(text);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `not an RFC 3339 timestamp: ${JSON.stringify(text.slice(0, 40))}` });
    return z.NEVER;
  }
  return ms;
});

const botInfo = protoJsonObject({
  // A bot without an id cannot be joined to a lease; accepting it would hide a broken page.
  botId: z.string().min(1, 'bot id is empty'),
  taskId: withDefault(z.string(), ''),
  isDead: withDefault(z.boolean(), false),
  quarantined: withDefault(z.boolean(), false),
  maintenanceMsg: withDefault(z.string(), ''),
  firstSeenTs: withDefault(timestamp, null),
  lastSeenTs: withDefault(timestamp, null),
});

export type BotInfo = z.output<typeof botInfo>;

export const botInfoListResponse = protoJsonObject({
  /** '' means the last page. */
  cursor: withDefault(z.string(), ''),
  items: withDefault(z.array(botInfo), []),
  now: withDefault(timestamp, null),
  deathTimeout: withDefault(z.number().int(), 0),
});

export type BotInfoListResponse = z.output<typeof botInfoListResponse>;

export function toBot(info: BotInfo): Bot {
  return {
    botId: info.botId,
    isDead: info.isDead,
    quarantined: info.quarantined,
    inMaintenance: info.maintenanceMsg !== '',
    taskId: info.taskId === '' ? null : info.taskId,
    lastSeenAt: info.lastSeenTs,
    firstSeenAt: info.firstSeenTs,
  };
}
