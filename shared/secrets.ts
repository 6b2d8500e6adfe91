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

  /**
   * `text` with every secret value this resolver has handed out replaced. The last line of
   * defence for server text that echoes a value back (an error body quoting the bot key, say);
   * values not resolved yet cannot be known, so the clients also drop key-shaped text.
   */
  redact(text: string): string {
    let result = text;
    for (const value of this.values) if (result.includes(value)) result = result.split(value).join('[secret]');
    return result;
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
