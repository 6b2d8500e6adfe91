// Secret references (product.md, shared/macservice/wire-notes.md §8): `secret:` from Secret Manager, `env:` from
// the environment, anything else literal. Errors name the reference, never the value.
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';

/** The part of SecretManagerServiceClient the resolver uses. */
export type SecretManagerClientLike = Pick<SecretManagerServiceClient, 'accessSecretVersion' | 'getProjectId' | 'close'>;

export interface SecretResolverOptions {
  env: Record<string, string | undefined>;
  /** Project of `secret:NAME`; else GOOGLE_CLOUD_PROJECT, else the client's own project lookup. */
  projectId?: string;
  /** Makes the Secret Manager client; called at most once, on the first `secret:` reference. */
  client?: () => SecretManagerClientLike | Promise<SecretManagerClientLike>;
}

export class SecretError extends Error {
  override name = 'SecretError';
}

/** Shorter values are not redacted: replacing every "abc" in the logs would hide more than secrets. */
const MIN_REDACTED_LENGTH = 8;

export class SecretResolver {
  private readonly cache = new Map<string, Promise<string>>();
  /** Every value handed out, so that output can be scrubbed of them (see redact). */
  private readonly values = new Set<string>();
  private client: Promise<SecretManagerClientLike> | null = null;

  constructor(private readonly options: SecretResolverOptions) {}

  /**
   * Forgets the values read so far (they stay redacted), so the next resolve reads afresh: a
   * rotated secret is picked up by the next pass of a long-lived function instance.
   */
  refresh(): void {
    this.cache.clear();
  }

  /** The value behind `ref`. Secret Manager is asked once per reference (until refresh), even by concurrent callers. */
  async resolve(ref: string): Promise<string> {
    const value = await this.lookUp(ref);
    if (value.length >= MIN_REDACTED_LENGTH) this.values.add(value);
    return value;
  }

  /** The pattern of every form of every value in `values`; rebuilt when a value is added. */
  private pattern: { size: number; regex: RegExp | null; shortest: number } = { size: 0, regex: null, shortest: 0 };

  /**
   * `text` with every secret value this resolver has handed out replaced, in any of the forms
   * server text may carry it (see secretForms). The last line of defence for server text that
   * echoes a value back (an error body quoting the bot key, say); values not resolved yet
   * cannot be known, so the clients also drop key-shaped text.
   */
  redact(text: string): string {
    if (this.pattern.size !== this.values.size) this.pattern = { size: this.values.size, ...formsPattern([...this.values]) };
    // Most of what is logged (reason words, ids) is shorter than any form: no need to search it.
    if (this.pattern.regex === null || text.length < this.pattern.shortest) return text;
    return text.replace(this.pattern.regex, '[secret]');
  }

  private async lookUp(ref: string): Promise<string> {
    if (ref.startsWith('env:')) return this.fromEnv(ref);
    if (!ref.startsWith('secret:')) return ref;
    let value = this.cache.get(ref);
    if (!value) {
      value = this.access(ref);
      this.cache.set(ref, value);
      // A failure is not remembered: the next pass, or a retry, asks again.
      value.catch(() => {
        if (this.cache.get(ref) === value) this.cache.delete(ref);
      });
    }
    return value;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client) await (await client).close();
  }

  private fromEnv(ref: string): string {
    const name = ref.slice('env:'.length);
    const value = this.options.env[name];
    if (value === undefined || value === '') throw new SecretError(`${ref}: environment variable ${name} is not set`);
    return value;
  }

  private async access(ref: string): Promise<string> {
    let client: SecretManagerClientLike;
    try {
      client = await this.secretManager();
    } catch (err) {
      throw new SecretError(`${ref}: ${(err as Error).message}`);
    }
    const name = await this.versionName(ref, client);
    let response;
    try {
      [response] = await client.accessSecretVersion({ name });
    } catch (err) {
      // gRPC errors carry the server's status text (e.g. "5 NOT_FOUND: Secret [...] not found"), never a payload.
      throw new SecretError(`${ref}: Secret Manager could not read ${name}: ${(err as Error).message}`);
    }
    // The library hands `bytes` fields over as Buffers.
    const payload = response.payload?.data;
    if (!(payload instanceof Uint8Array) || payload.length === 0) throw new SecretError(`${ref}: ${name} has an empty payload`);
    return Buffer.from(payload).toString('utf8');
  }

  private async versionName(ref: string, client: SecretManagerClientLike): Promise<string> {
    const path = ref.slice('secret:'.length);
    if (path.startsWith('projects/')) return path;
    const withProject = /^([^/]+)\/([^/]+)$/.exec(path);
    if (withProject) return `projects/${withProject[1]}/secrets/${withProject[2]}/versions/latest`;
    if (path === '' || path.includes('/')) throw new SecretError(`${ref}: malformed secret reference`);
    return `projects/${await this.defaultProject(ref, client)}/secrets/${path}/versions/latest`;
  }

  private async defaultProject(ref: string, client: SecretManagerClientLike): Promise<string> {
    const configured = this.options.projectId ?? this.options.env.GOOGLE_CLOUD_PROJECT;
    if (configured) return configured;
    try {
      return await client.getProjectId();
    } catch (err) {
      throw new SecretError(`${ref}: no project for the secret (set GOOGLE_CLOUD_PROJECT or use secret:PROJECT/NAME): ${(err as Error).message}`);
    }
  }

  private secretManager(): Promise<SecretManagerClientLike> {
    if (this.client) return this.client;
    const client = (async () => {
      if (this.options.client) return this.options.client();
      // Loaded on first use: google-gax is slow to load and most CLI runs never need it.
      const { SecretManagerServiceClient } = await import('@google-cloud/secret-manager');
      const created = new SecretManagerServiceClient();
      // Credentials first: without them the library's first call leaves a rejected promise
      // nobody handles, which kills the process before the pass can log anything.
      try {
        await created.auth.getClient();
      } catch (err) {
        await created.close().catch(() => undefined);
        throw new SecretError(`no Google credentials for Secret Manager (${(err as Error).message.split('.')[0]})`);
      }
      return created;
    })();
    this.client = client;
    client.catch(() => {
      if (this.client === client) this.client = null;
    });
    return client;
  }
}

/** `text` with every form of each of `values` (see secretForms) replaced by `[secret]`. */
export function redactValues(text: string, values: readonly string[]): string {
  const { regex } = formsPattern(values.filter((value) => value.length >= MIN_REDACTED_LENGTH));
  return regex === null ? text : text.replace(regex, '[secret]');
}

/** One pattern matching every form of every value, and the length of the shortest form. */
function formsPattern(values: readonly string[]): { regex: RegExp | null; shortest: number } {
  const forms = [...new Set(values.flatMap(secretForms))].sort((a, b) => b.length - a.length);
  if (forms.length === 0) return { regex: null, shortest: 0 };
  return { regex: new RegExp(forms.map(escapeRegExp).join('|'), 'g'), shortest: forms[forms.length - 1]!.length };
}

/**
 * The shapes a value takes in text a server or proxy may echo: plain; URL-encoded
 * (encodeURIComponent, form encoding with `+` for space, every byte escaped; hex digits of either
 * case); base64 and base64url, padded or not, also as it reads inside a longer encoded run (each
 * of the three byte alignments); hex of either case; HTML-escaped, by name or character number;
 * and each of these JSON-escaped.
 */
export function secretForms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const percentAll = [...bytes].map((byte) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`).join('');
  const urlForms = [encodeURIComponent(value), new URLSearchParams({ v: value }).toString().slice(2), encodeURIComponent(value).replace(/%20/g, '+'), percentAll];
  const hex = bytes.toString('hex');
  const codePoints = [...value].map((char) => char.codePointAt(0)!);
  const forms = [
    value,
    ...urlForms.flatMap((form) => [form, lowerPercentHex(form)]),
    ...base64Forms(bytes),
    hex,
    hex.toUpperCase(),
    // Escapers differ in which of these they escape and how they write the apostrophe.
    value.replace(/[&<>]/g, (char) => HTML_ENTITIES[char]!),
    value.replace(/[&<>"]/g, (char) => HTML_ENTITIES[char]!),
    ...["&#39;", '&#x27;', '&apos;'].map((apostrophe) => value.replace(/[&<>"']/g, (char) => (char === "'" ? apostrophe : HTML_ENTITIES[char]!))),
    value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`),
    codePoints.map((code) => `&#${code};`).join(''),
    codePoints.map((code) => `&#x${code.toString(16)};`).join(''),
    codePoints.map((code) => `&#x${code.toString(16).toUpperCase()};`).join(''),
  ];
  // Error bodies are mostly JSON, so each form may also come JSON-escaped (once or, quoted
  // inside a message, twice), with or without <, > and & as \u escapes as Go's encoder writes them.
  const escaped = forms.flatMap(jsonEscapes);
  return [...new Set([...forms, ...escaped, ...escaped.flatMap(jsonEscapes)])].filter((form) => form.length >= MIN_REDACTED_LENGTH);
}

function jsonEscapes(text: string): string[] {
  const escaped = JSON.stringify(text).slice(1, -1);
  return [escaped, escaped.replace(/[<>&]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)];
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

function lowerPercentHex(text: string): string {
  return text.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
}

/**
 * base64 of the value on its own (padded and not), and the run its bytes make inside a longer
 * base64 text at each of the three alignments: the characters that also depend on neighbouring
 * bytes are left out. Each in base64url too.
 */
function base64Forms(bytes: Buffer): string[] {
  const forms: string[] = [];
  const whole = bytes.toString('base64');
  forms.push(whole, whole.replace(/=+$/, ''));
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const start = offset === 0 ? 0 : 4;
    const end = Math.floor((offset + bytes.length) / 3) * 4;
    if (end > start) forms.push(encoded.slice(start, end));
  }
  return forms.flatMap((form) => [form, form.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')]);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
