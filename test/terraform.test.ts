// Invariants of terraform/, read with @cdktn/hcl2json (the google provider cannot be downloaded
// here, so `terraform validate` cannot run). Blocks come back as arrays and expressions as
// "${...}" strings. Where the terraform binary is installed, its console (which needs no
// provider) also evaluates the config locals and the variable validations for real.
import { convertFiles, parse } from '@cdktn/hcl2json';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../shared/config/load';
import { policySchema } from '../shared/config/schema';
import { EVENT_NAMES, fieldsOf } from '../shared/log-contract';

const TERRAFORM_DIR = path.join(__dirname, '..', 'terraform');
const EXAMPLE_TFVARS = path.join(TERRAFORM_DIR, 'terraform.tfvars.example');

/** The log contract: fields the code writes on its JSON log lines, and Cloud Logging's severity. */
const LOG_FIELDS: ReadonlySet<string> = new Set(['severity', ...EVENT_NAMES.flatMap(fieldsOf)]);
const LOG_EVENTS: ReadonlySet<string> = new Set(EVENT_NAMES);

type Json = any;
let tf: Json;
let locals: Record<string, Json>;

beforeAll(async () => {
  tf = await convertFiles(TERRAFORM_DIR);
  locals = Object.assign({}, ...(tf.locals ?? []));
});

/** Every `resource "<type>" "<name>"` block of one type, as [name, body]. */
function resources(type: string): [string, Json][] {
  return Object.entries(tf.resource?.[type] ?? {}).map(([name, blocks]) => [name, (blocks as Json[])[0]]);
}
function resource(type: string, name: string): Json {
  const block = tf.resource?.[type]?.[name]?.[0];
  if (!block) throw new Error(`no resource ${type}.${name}`);
  return block;
}
function allResourceTypes(): string[] {
  return Object.keys(tf.resource ?? {});
}
/** Replaces `${local.NAME}` with the local's value where it is a literal. */
function expandLocals(value: Json): Json {
  if (typeof value !== 'string') return value;
  const whole = /^\$\{local\.(\w+)\}$/.exec(value);
  if (whole) return expandLocals(locals[whole[1]!]);
  return value.replace(/\$\{local\.(\w+)\}/g, (_, name: string) => String(expandLocals(locals[name])));
}
function seconds(duration: string): number {
  const match = /^(\d+)s$/.exec(duration);
  if (!match) throw new Error(`not a duration in seconds: ${duration}`);
  return Number(match[1]);
}
/** Every string anywhere inside a value. */
function strings(value: Json): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

/** The jsonPayload fields named in terraform/ (metric filters, extractors, alert and dashboard text). */
function jsonPayloadFieldsInTerraform(): Set<string> {
  const fields = new Set<string>();
  for (const text of strings(tf)) for (const m of text.matchAll(/jsonPayload\.([A-Za-z_][A-Za-z0-9_]*)/g)) fields.add(m[1]!);
  return fields;
}

/**
 * The fleet variable → product config mapping of terraform/function.tf (local.product_config),
 * reimplemented: secrets become secret:PROJECT/NAME, policy knobs camelCase, nulls are omitted.
 */
function productConfigFromFleet(projectId: string, fleet: Json, dryRun: boolean): Json {
  const ref = (name: string) => `secret:${projectId}/${name}`;
  const compact = (object: Record<string, Json>) =>
    Object.fromEntries(Object.entries(object).filter(([, v]) => v !== null && v !== undefined));
  const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return {
    macService: compact({
      url: fleet.macservice.url,
      apiKey: ref(fleet.macservice.api_key_secret),
      customer: fleet.macservice.customer,
      profile: fleet.macservice.profile,
      accessLevel: fleet.macservice.access_level,
    }),
    swarming: fleet.swarming.map((s: Json) =>
      compact({
        host: s.host,
        url: s.url,
        pool: s.pool,
        groups: s.groups.map((g: Json) => ({
          hostname: g.hostname,
          image: g.image,
          count: g.count,
          cert: ref(g.cert_secret),
          key: ref(g.key_secret),
        })),
      }),
    ),
    policy: compact(Object.fromEntries(Object.entries(fleet.policy ?? {}).map(([k, v]) => [camel(k), v]))),
    dryRun,
  };
}

async function exampleTfvars(): Promise<Json> {
  return parse('terraform.tfvars', readFileSync(EXAMPLE_TFVARS, 'utf8'));
}

describe('terraform: trigger', () => {
  it('the scheduler POSTs to the function URI with an OIDC token whose audience is that URI', () => {
    const job = resource('google_cloud_scheduler_job', 'reconcile');
    const target = job.http_target[0];
    const functionUri = /^\$\{google_cloudfunctions2_function\.reconcile\.(service_config\[0\]\.uri|url)\}$/;
    expect(target.http_method).toBe('POST');
    expect(target.uri).toMatch(functionUri);
    expect(target.oidc_token[0].audience).toBe(target.uri);
    expect(target.oidc_token[0].service_account_email).toBe('${google_service_account.scheduler.email}');
    expect(target.oauth_token).toBeUndefined();
    expect(job.paused).toBe('${var.paused}');
    expect(job.schedule).toBe('${var.schedule}');
  });

  it('the scheduler waits longer than the function may run, the function longer than a pass, and never retries', () => {
    const job = resource('google_cloud_scheduler_job', 'reconcile');
    const fn = resource('google_cloudfunctions2_function', 'reconcile');
    const attempt = seconds(expandLocals(job.attempt_deadline));
    const timeout = Number(expandLocals(fn.service_config[0].timeout_seconds));
    expect(attempt).toBeGreaterThanOrEqual(timeout);
    expect(attempt).toBeGreaterThanOrEqual(15);
    expect(attempt).toBeLessThanOrEqual(1800);
    // The product's default pass deadline, a request in flight at it, and time to log the
    // summary fit in the timeout; the precondition holds any other policy to the same.
    const { passDeadline, requestTimeout } = policySchema.parse({});
    expect(timeout * 1000).toBeGreaterThanOrEqual(passDeadline + requestTimeout + 10_000);
    const precondition = fn.lifecycle[0].precondition[0].condition as string;
    expect(precondition).toContain('local.pass_deadline_seconds + local.request_timeout_seconds');
    expect(job.retry_config[0].retry_count).toBe(0);
  });

  it('run.invoker is granted only to the scheduler account, only on the function service', () => {
    const invokers = resources('google_cloud_run_service_iam_member');
    expect(invokers).toHaveLength(1);
    const [, binding] = invokers[0]!;
    expect(binding.role).toBe('roles/run.invoker');
    expect(binding.member).toBe('serviceAccount:${google_service_account.scheduler.email}');
    expect(binding.service).toBe('${google_cloudfunctions2_function.reconcile.name}');
    expect(binding.location).toMatch(/^\$\{(var\.region|google_cloudfunctions2_function\.reconcile\.location)\}$/);
    // No other way in: no service-wide policy or binding, no function IAM, no public member.
    for (const type of allResourceTypes()) {
      if (type === 'google_cloud_run_service_iam_member') continue;
      expect(type).not.toMatch(/^google_(cloud_run(_v2)?_service|cloudfunctions2?_function)_iam_/);
    }
    expect(strings(tf.resource).filter((s) => /allUsers|allAuthenticatedUsers/.test(s))).toEqual([]);
  });
});

describe('terraform: function', () => {
  it('runs reconcile on nodejs22, one instance, one request at a time, as the runtime account', () => {
    const fn = resource('google_cloudfunctions2_function', 'reconcile');
    const build = fn.build_config[0];
    const service = fn.service_config[0];
    expect(build.runtime).toBe('nodejs22');
    expect(build.entry_point).toBe('reconcile');
    expect(service.max_instance_count).toBe(1);
    expect(service.max_instance_request_concurrency).toBe(1);
    expect(service.min_instance_count ?? 0).toBe(0);
    expect(service.service_account_email).toBe('${google_service_account.runtime.email}');
    expect(service.ingress_settings).toBe('ALLOW_ALL');
    expect(Object.keys(service.environment_variables).sort()).toEqual(['GOOGLE_CLOUD_PROJECT', 'MAKEMAC_CONFIG']);
    expect(service.environment_variables.MAKEMAC_CONFIG).toBe('${jsonencode(local.product_config)}');
    // Secrets reach the function as references in the config, never as values.
    expect(service.secret_environment_variables).toBeUndefined();
  });

  it('deploys the packaged zip under a content-hashed object name', () => {
    const fn = resource('google_cloudfunctions2_function', 'reconcile');
    const source = fn.build_config[0].source[0].storage_source[0];
    expect(source.bucket).toBe('${google_storage_bucket.source.name}');
    expect(source.object).toBe('${google_storage_bucket_object.source.name}');
    const object = resource('google_storage_bucket_object', 'source');
    expect(object.source).toBe('${var.source_zip}');
    expect(expandLocals(object.name)).toMatch(/\$\{file(md5|sha256|sha512)\(var\.source_zip\)\}/);
    const bucket = resource('google_storage_bucket', 'source');
    expect(bucket.uniform_bucket_level_access).toBe(true);
    expect(bucket.versioning[0].enabled).toBe(false);
    expect(bucket.lifecycle_rule[0].action[0].type).toBe('Delete');
    expect(tf.variable.source_zip[0].default).toBe('../build/makemac.zip');
  });

  it('uses the google provider only: no archive provider or data source', () => {
    const required = Object.assign({}, ...tf.terraform.flatMap((t: Json) => t.required_providers ?? []));
    expect(Object.keys(required)).toEqual(['google']);
    expect(required.google).toMatchObject({ source: 'hashicorp/google', version: '~> 6.0' });
    expect(Object.keys(tf.provider)).toEqual(['google']);
    expect(Object.keys(tf.data ?? {})).toEqual([]);
    expect(allResourceTypes().every((type) => type.startsWith('google_'))).toBe(true);
  });

  it('enables the APIs it uses and never disables them on destroy', () => {
    const apis = resource('google_project_service', 'apis');
    expect(apis.disable_on_destroy).toBe(false);
    for (const api of ['cloudfunctions', 'run', 'cloudbuild', 'artifactregistry', 'cloudscheduler', 'secretmanager', 'logging', 'monitoring', 'storage']) {
      expect(locals.services).toContain(`${api}.googleapis.com`);
    }
  });
});

describe('terraform: secrets and IAM', () => {
  it('creates secret containers only, never versions (values stay out of state)', () => {
    expect(resources('google_secret_manager_secret').map(([name]) => name)).toEqual(['fleet']);
    expect(resource('google_secret_manager_secret', 'fleet').for_each).toBe('${local.secret_names}');
    expect(allResourceTypes()).not.toContain('google_secret_manager_secret_version');
  });

  it('grants secretAccessor per secret, to the runtime account only', () => {
    const bindings = resources('google_secret_manager_secret_iam_member');
    expect(bindings.length).toBeGreaterThan(0);
    for (const [, binding] of bindings) {
      expect(binding.role).toBe('roles/secretmanager.secretAccessor');
      expect(binding.member).toBe('serviceAccount:${google_service_account.runtime.email}');
      // One binding per secret: for_each over the secrets, each naming exactly one of them.
      expect(binding.for_each).toBe('${google_secret_manager_secret.fleet}');
      expect(binding.secret_id).toMatch(/^\$\{each\.value\.(secret_id|id)\}$/);
    }
    for (const type of allResourceTypes()) expect(type).not.toMatch(/^google_secret_manager_secret_iam_(binding|policy)$/);
  });

  it('grants no secretmanager role at project level, and the runtime account only logWriter', () => {
    const projectIam = allResourceTypes().filter((type) => /^google_project_iam_/.test(type));
    expect(projectIam).toEqual(['google_project_iam_member']);
    const members = resources('google_project_iam_member').map(([, b]) => b);
    for (const binding of members) expect(binding.role).not.toMatch(/secretmanager/);
    const runtimeRoles = members.filter((b) => b.member.includes('google_service_account.runtime')).map((b) => b.role);
    expect(runtimeRoles).toEqual(['roles/logging.logWriter']);
    expect(members.filter((b) => b.member.includes('google_service_account.scheduler'))).toEqual([]);
  });
});

describe('terraform: the fleet variable becomes a valid product config', () => {
  it('the example tfvars, mapped as local.product_config does, parses under the product schema', async () => {
    const vars = await exampleTfvars();
    const config = productConfigFromFleet(vars.project_id, vars.fleet, vars.dry_run ?? false);
    const parsed = parseConfig(config, 'terraform.tfvars.example');
    expect(parsed.swarming.length).toBeGreaterThan(0);
    expect(parsed.macService.apiKey).toBe(`secret:${vars.project_id}/macservice-api-key`);
    // Every secret the fleet names gets a container (and so an accessor binding).
    const named = [vars.fleet.macservice.api_key_secret, ...vars.fleet.swarming.flatMap((s: Json) => s.groups.flatMap((g: Json) => [g.cert_secret, g.key_secret]))];
    expect(new Set(named).size).toBeGreaterThan(1);
  });

  it('local.product_config uses exactly the schema keys', () => {
    const config = locals.product_config;
    expect(Object.keys(config).sort()).toEqual(['dryRun', 'macService', 'policy', 'swarming']);
    const keysIn = (expression: string) => [...expression.matchAll(/^\s*([A-Za-z]\w*)\s*=/gm)].map((m) => m[1]);
    expect(keysIn(config.macService).sort()).toEqual(['accessLevel', 'apiKey', 'customer', 'profile', 'url']);
    expect(keysIn(config.swarming).sort()).toEqual(['cert', 'count', 'groups', 'host', 'hostname', 'image', 'key', 'pool', 'url']);
  });

  it('every policy knob the variable accepts is a product policy key, and every product key is accepted', () => {
    const validation = tf.variable.fleet[0].validation.map((v: Json) => v.condition).find((c: string) => c.includes('keys(var.fleet.policy)'));
    const knobs = [...validation.matchAll(/"([a-z_]+)"/g)].map((m: RegExpMatchArray) => m[1]!);
    const camel = knobs.map((k: string) => k.replace(/_([a-z])/g, (_: string, c: string) => c.toUpperCase()));
    expect(camel.sort()).toEqual(Object.keys(policySchema.shape).sort());
  });

  it('the example sets dry_run and paused explicitly, and defaults are off', async () => {
    const vars = await exampleTfvars();
    expect(vars.dry_run).toBe(false);
    expect(tf.variable.dry_run[0].default).toBe(false);
    expect(tf.variable.paused[0].default).toBe(false);
    expect(tf.variable.schedule[0].default).toBe('*/10 * * * *');
    expect(tf.variable.capacity_alert_ratio[0].default).toBe(0.8);
  });
});

// `terraform console` evaluates variables and locals without any provider. Locals blocks that
// refer to resources are left out; the rest is copied to a scratch module.
const terraformBinary = spawnSync('terraform', ['version'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!terraformBinary)('terraform console (real evaluation, no provider)', () => {
  let scratch: string;
  const TF_ENV = { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_CLI_CONFIG_FILE: '/dev/null', NO_COLOR: '1' };

  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'makemac-tf-'));
    writeFileSync(path.join(scratch, 'variables.tf'), readFileSync(path.join(TERRAFORM_DIR, 'variables.tf')));
    const blocks: string[] = [];
    for (const file of readdirSync(TERRAFORM_DIR).filter((f) => f.endsWith('.tf'))) {
      const text = readFileSync(path.join(TERRAFORM_DIR, file), 'utf8');
      for (const m of text.matchAll(/^locals \{\n[\s\S]*?^\}\n/gm)) {
        if (!/\bgoogle_\w+\.\w+/.test(m[0])) blocks.push(m[0]);
      }
    }
    writeFileSync(path.join(scratch, 'locals.tf'), blocks.join('\n'));
    writeFileSync(path.join(scratch, 'source.zip'), '');
    return () => rmSync(scratch, { recursive: true, force: true });
  });

  /** Evaluates one expression with the given tfvars; throws with terraform's errors, if any. */
  function evaluate(expression: string, tfvars: string): Json {
    writeFileSync(path.join(scratch, 'case.tfvars'), tfvars);
    const run = spawnSync('terraform', ['console', '-var-file=case.tfvars', '-var', 'source_zip=source.zip'], {
      cwd: scratch, env: TF_ENV, input: `jsonencode(${expression})\n`, encoding: 'utf8',
    });
    // The console reports invalid variables on stderr, yet may still print a value and exit 0.
    const errors = run.stderr.replace(/\x1b\[[0-9;]*m/g, '').replace(/[│╷╵]/g, '').replace(/\s+/g, ' ').trim();
    if (run.status !== 0 || /Error:/.test(errors)) throw new Error(errors || `terraform console exited ${run.status}`);
    return JSON.parse(JSON.parse(run.stdout.trim()));
  }
  function rejection(tfvars: string): string {
    try {
      evaluate('local.schedule_period_seconds', tfvars);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('terraform accepted the variables');
  }
  const example = () => readFileSync(EXAMPLE_TFVARS, 'utf8');

  it('local.product_config of the example equals the reimplemented mapping and parses', async () => {
    const vars = await exampleTfvars();
    const config = evaluate('local.product_config', example());
    expect(config).toEqual(productConfigFromFleet(vars.project_id, vars.fleet, false));
    expect(() => parseConfig(config)).not.toThrow();
    expect(evaluate('local.product_config', example().replace(/^dry_run\s*=\s*false/m, 'dry_run = true')).dryRun).toBe(true);
  });

  it('derives the alert windows from the schedule: three 10-minute periods are 30 minutes', () => {
    expect(evaluate('[local.schedule_period_seconds, local.window_3_periods, local.pass_deadline_seconds]', example())).toEqual([600, '1800s', 240]);
    expect(evaluate('local.window_3_periods', `${example()}\nschedule = "*/5 * * * *"\n`)).toBe('900s');
  });

  it('rejects fleets the product would reject, before anything is deployed', () => {
    const text = example();
    const host = /host = "([^"]+)"/.exec(text)![1]!;
    const image = /image\s+= "([0-9a-f]{64})"/.exec(text)![1]!;
    expect(rejection(text.replace(image, image.toUpperCase()))).toMatch(/64 lowercase hex/);
    expect(rejection(text.replace(/host = "[^"]+"/g, `host = "${host}"`))).toMatch(/swarming host may appear only once/);
    expect(rejection(text.replace('boot_grace ', 'boot_grac '))).toMatch(/unknown knob/);
    expect(rejection(`${text}\nschedule = "0 * * * *"\n`)).toMatch(/schedule_period_minutes/);
  });
});

describe('terraform: log-based metrics and alerts', () => {
  it('names only jsonPayload fields and events the code emits', () => {
    const fields = jsonPayloadFieldsInTerraform();
    expect(fields.size).toBeGreaterThan(5);
    expect([...fields].filter((f) => !LOG_FIELDS.has(f))).toEqual([]);
    const events = new Set(strings(tf).flatMap((s) => [...s.matchAll(/jsonPayload\.event="([^"]+)"/g)].map((m) => m[1]!)));
    expect([...events].filter((e) => !LOG_EVENTS.has(e))).toEqual([]);
  });

  it('every metric filters the function service logs by event, and its labels match its extractors', () => {
    const metrics = resources('google_logging_metric');
    expect(metrics.length).toBeGreaterThanOrEqual(7);
    for (const [name, metric] of metrics) {
      const filter = expandLocals(metric.filter);
      expect(filter, name).toContain('resource.type="cloud_run_revision"');
      expect(filter, name).toContain('resource.labels.service_name="${var.function_name}"');
      expect(filter, name).toMatch(/jsonPayload\.event="/);
      const descriptor = metric.metric_descriptor[0];
      const labels = (descriptor.labels ?? []).map((l: Json) => l.key).sort();
      expect(Object.keys(metric.label_extractors ?? {}).sort(), name).toEqual(labels);
      if (descriptor.value_type === 'DISTRIBUTION') {
        expect(metric.value_extractor, name).toMatch(/^EXTRACT\(jsonPayload\.\w+\)$/);
        expect(metric.bucket_options, name).toBeDefined();
      } else {
        expect(metric.value_extractor, name).toBeUndefined();
      }
    }
  });

  it('every alert is documented in markdown, notifies the configured channels and reads a metric defined here', () => {
    const metricNames = resources('google_logging_metric').map(([name]) => name);
    const alerts = resources('google_monitoring_alert_policy');
    expect(alerts.map(([name]) => name).sort()).toEqual(['action_errors', 'boot_failures', 'brake', 'capacity', 'expiry', 'no_pass', 'pass_failed']);
    for (const [name, alert] of alerts) {
      expect(alert.notification_channels, name).toBe('${var.alert_notification_channels}');
      expect(alert.documentation[0].mime_type, name).toBe('text/markdown');
      expect(alert.documentation[0].content.length, name).toBeGreaterThan(200);
      expect(alert.documentation[0].content, name).toMatch(/What to do/);
      for (const condition of alert.conditions) {
        const body = condition.condition_threshold?.[0] ?? condition.condition_absent?.[0];
        const metric = /^\$\{local\.metric_type\.(\w+)\}/.exec(body.filter)?.[1];
        expect(metricNames, name).toContain(metric);
        for (const aggregation of body.aggregations) expect(aggregation.cross_series_reducer, name).toBeDefined();
      }
    }
  });

  it('the no-pass alert is an absence over three schedule periods, off while paused', () => {
    const alert = resource('google_monitoring_alert_policy', 'no_pass');
    const absent = alert.conditions[0].condition_absent[0];
    expect(absent.filter).toBe('${local.metric_type.passes}');
    expect(absent.duration).toBe('${local.window_3_periods}');
    expect(locals.window_3_periods).toBe('${3 * local.schedule_period_seconds}s');
    expect(alert.enabled).toBe('${!var.paused}');
  });

  it('the capacity alert compares each group healthy ratio with var.capacity_alert_ratio for an hour', () => {
    const threshold = resource('google_monitoring_alert_policy', 'capacity').conditions[0].condition_threshold[0];
    expect(threshold.threshold_value).toBe('${var.capacity_alert_ratio}');
    expect(threshold.comparison).toBe('COMPARISON_LT');
    expect(threshold.duration).toBe('3600s');
    expect(threshold.aggregations[0].group_by_fields).toContain('metric.label.group');
    expect(resource('google_logging_metric', 'group_healthy_ratio').value_extractor).toBe('EXTRACT(jsonPayload.healthyRatio)');
  });
});
