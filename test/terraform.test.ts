// Invariants of terraform/, read with @cdktn/hcl2json (the google provider cannot be downloaded
// here, so `terraform validate` cannot run). Blocks come back as arrays and expressions as
// "${...}" strings. Where the terraform binary is installed, its console (which needs no
// provider) also evaluates the config locals and the variable validations for real.
import { convertFiles, parse } from '@cdktn/hcl2json';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../shared/config/load';
import { policySchema } from '../shared/config/schema';
import { EVENT_NAMES, fieldsOf } from '../shared/log-contract';
import { FLEET_CONFIG_MODULE, productConfigFromFleet, terraform, terraformInstalled, TERRAFORM_DIR } from './support/terraform';

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
    expect(binding.service).toBe('${google_cloudfunctions2_function.reconcile.service_config[0].service}');
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
    expect(service.environment_variables.MAKEMAC_CONFIG).toBe('${module.fleet_config.config_json}');
    // Secrets reach the function as references in the config, never as values.
    expect(service.secret_environment_variables).toBeUndefined();
  });

  it('deploys the packaged zip under a content-hashed object name', () => {
    const fn = resource('google_cloudfunctions2_function', 'reconcile');
    const source = fn.build_config[0].source[0].storage_source[0];
    expect(source.bucket).toBe('${google_storage_bucket.source.name}');
    expect(source.object).toBe('${google_storage_bucket_object.source.name}');
    // The generation this apply uploaded, never one left in state by an earlier zip.
    expect(source.generation).toBe('${google_storage_bucket_object.source.generation}');
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

  it('builds as a service account the operator names: no default build account', () => {
    const variable = tf.variable.build_service_account[0];
    expect(variable).not.toHaveProperty('default');
    expect(resource('google_cloudfunctions2_function', 'reconcile').build_config[0].service_account).toBe('${var.build_service_account}');
    expect(variable.validation[0].error_message).toMatch(/roles\/cloudbuild\.builds\.builder/);
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

describe('terraform: the fleet variable goes through modules/fleet-config', () => {
  it('the root passes the fleet, project and dry run to the module, whose config the function runs with', () => {
    const call = tf.module.fleet_config[0];
    expect(call).toMatchObject({ source: './modules/fleet-config', fleet: '${var.fleet}', project_id: '${var.project_id}', dry_run: '${var.dry_run}' });
    // The module states the type and every check; the root only passes the value through.
    expect(tf.variable.fleet[0].type).toBe('${any}');
    expect(tf.variable.fleet[0].validation).toBeUndefined();
    expect(locals.secret_names).toBe('${module.fleet_config.secret_names}');
    expect(tf.output.makemac_config[0].value).toBe('${module.fleet_config.config_json}');
  });

  it('the module has no provider, resource or data source, so it runs offline', async () => {
    const module = await convertFiles(FLEET_CONFIG_MODULE);
    expect(Object.keys(module).sort()).toEqual(['locals', 'output', 'terraform', 'variable']);
    expect(module.terraform.flatMap((t: Json) => t.required_providers ?? [])).toEqual([]);
  });

  it('the example starts with dry_run = true and sets paused explicitly; defaults are off', async () => {
    const text = readFileSync(EXAMPLE_TFVARS, 'utf8');
    expect(text.split('\n')[0]).toBe('dry_run = true');
    const vars = await exampleTfvars();
    expect(vars.dry_run).toBe(true);
    expect(vars.paused).toBe(false);
    expect(tf.variable.dry_run[0].default).toBe(false);
    expect(tf.variable.paused[0].default).toBe(false);
    expect(tf.variable.schedule[0].default).toBe('*/10 * * * *');
    expect(tf.variable.capacity_alert_ratio[0].default).toBe(0.8);
  });
});

// `terraform console` evaluates the root's variables and locals without any provider: the
// variables, the fleet-config module call and the locals blocks that refer to no resource are
// copied to a scratch root.
describe.skipIf(!terraformInstalled)('terraform console (real evaluation, no provider)', () => {
  let scratch: string;

  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'makemac-tf-'));
    writeFileSync(path.join(scratch, 'variables.tf'), readFileSync(path.join(TERRAFORM_DIR, 'variables.tf')));
    const fleet = readFileSync(path.join(TERRAFORM_DIR, 'fleet.tf'), 'utf8');
    writeFileSync(path.join(scratch, 'fleet.tf'), fleet.replace('"./modules/fleet-config"', JSON.stringify(path.relative(scratch, FLEET_CONFIG_MODULE))));
    const blocks: string[] = [];
    for (const file of readdirSync(TERRAFORM_DIR).filter((f) => f.endsWith('.tf'))) {
      const text = readFileSync(path.join(TERRAFORM_DIR, file), 'utf8');
      for (const m of text.matchAll(/^locals \{\n[\s\S]*?^\}\n/gm)) {
        if (!/\bgoogle_\w+\.\w+/.test(m[0])) blocks.push(m[0]);
      }
    }
    writeFileSync(path.join(scratch, 'locals.tf'), blocks.join('\n'));
    writeFileSync(path.join(scratch, 'source.zip'), '');
    const init = terraform(['init', '-input=false', '-no-color'], scratch);
    if (init.status !== 0) throw new Error(init.stderr);
    return () => rmSync(scratch, { recursive: true, force: true });
  }, 60_000);

  /** Evaluates one expression with the given tfvars; throws with terraform's errors, if any. */
  function evaluate(expression: string, tfvars: string): Json {
    writeFileSync(path.join(scratch, 'case.tfvars'), tfvars);
    const run = terraform(['console', '-var-file=case.tfvars', '-var', 'source_zip=source.zip'], scratch, `jsonencode(${expression})\n`);
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

  it('the function config of the example is the module rendering of its fleet, and parses', async () => {
    const vars = await exampleTfvars();
    const [config, timing] = evaluate('[jsondecode(module.fleet_config.config_json), [local.pass_deadline_seconds, local.request_timeout_seconds]]', example());
    expect(config).toEqual(productConfigFromFleet(vars.project_id, vars.fleet, true));
    expect(parseConfig(config).dryRun).toBe(true);
    const { passDeadline, requestTimeout } = policySchema.parse({});
    expect(timing).toEqual([passDeadline / 1000, requestTimeout / 1000]);
  });

  it('derives the alert windows from the schedule: three 10-minute periods are 30 minutes', () => {
    expect(evaluate('[local.schedule_period_seconds, local.window_3_periods, local.pass_deadline_seconds]', example())).toEqual([600, '1800s', 240]);
    expect(evaluate('local.window_3_periods', `${example()}\nschedule = "*/5 * * * *"\n`)).toBe('900s');
  });

  it('refuses a bad fleet or schedule through the root, before anything is deployed', () => {
    const text = example();
    const image = /image\s+= "([0-9a-f]{64})"/.exec(text)![1]!;
    expect(rejection(text.replace(image, image.toUpperCase()))).toMatch(/fleet\.swarming\[\*\]\.groups\[\*\]\.image must be/);
    expect(rejection(text.replace('boot_grace ', 'boot_grac '))).toMatch(/unknown knob: boot_grac\b/);
    expect(rejection(text.replace('boot_grace           = "60m"', 'boot_grace           = "7 days"'))).toMatch(/fleet\.policy\.boot_grace must be a duration/);
    expect(rejection(`${text}\nschedule = "0 * * * *"\n`)).toMatch(/schedule_period_minutes/);
    // The change-safety issue's bad tfvars, which used to pass plan with 0 errors: every field named.
    const bad = text
      .replace(/count {7}= 20 /, 'count       = 5000 ')
      .replace('renew_before         = "22h"', 'renew_before         = "0s"')
      .replace('max_surge            = "25%"', 'max_surge            = "abc"')
      .replace('brake_fraction       = 0.5', 'brake_fraction       = 7\n    concurrency          = 0');
    const refused = rejection(bad);
    for (const field of ['groups[*].count', 'policy.renew_before', 'policy.max_surge', 'policy.brake_fraction', 'policy.concurrency']) {
      expect(refused).toContain(`fleet.${field.startsWith('groups') ? 'swarming[*].' : ''}${field} must be`);
    }
    expect(rejection(text.replace(/^build_service_account = .*$/m, 'build_service_account = "makemac-build@example.iam.gserviceaccount.com"'))).toMatch(/build_service_account must be/);
  });

  it('renders the dashboard without zero positions or empty lists, which the API leaves out', () => {
    const dashboard = JSON.parse(evaluate('local.dashboard_json', example()));
    const found: string[] = [];
    const walk = (value: Json, at: string) => {
      if (Array.isArray(value)) {
        if (value.length === 0) found.push(`${at} = []`);
        value.forEach((v, i) => walk(v, `${at}[${i}]`));
      } else if (value && typeof value === 'object') {
        if (Object.keys(value).length === 0) found.push(`${at} = {}`);
        for (const [k, v] of Object.entries(value)) {
          if (/^[xy]Pos$/.test(k) && v === 0) found.push(`${at}.${k} = 0`);
          walk(v, `${at}.${k}`);
        }
      }
    };
    walk(dashboard, 'dashboard');
    expect(found).toEqual([]);
    const tiles = dashboard.mosaicLayout.tiles;
    expect(tiles).toHaveLength(8);
    // Positions left out are zero: the grid is still two columns of tiles.
    expect(tiles.map((t: Json) => [t.xPos ?? 0, t.yPos ?? 0])).toEqual([[0, 0], [24, 0], [0, 16], [24, 16], [0, 32], [24, 32], [0, 48], [24, 48]]);
    expect(tiles.filter((t: Json) => t.widget.xyChart.thresholds).length).toBeGreaterThan(0);
    for (const tile of tiles) {
      for (const set of tile.widget.xyChart.dataSets) {
        expect(set.timeSeriesQuery.timeSeriesFilter.filter).toMatch(/^metric\.type="logging\.googleapis\.com\/user\/makemac\/\w+" resource\.type="cloud_run_revision"/);
      }
    }
    // The dashboard is created after every metric it charts: depends_on names each of them.
    const charted = new Set(
      tiles.flatMap((t: Json) => t.widget.xyChart.dataSets.map((set: Json) => /user\/makemac\/(\w+)"/.exec(set.timeSeriesQuery.timeSeriesFilter.filter)![1])),
    );
    const metricKeyOf = new Map(Object.entries(locals.metric_name as Record<string, string>).map(([key, name]) => [name.replace('${var.function_name}/', ''), key]));
    const dependsOn = (resource('google_monitoring_dashboard', 'makemac').depends_on as string[]).join(' ');
    for (const metric of charted) {
      expect(dependsOn, metric as string).toContain(`google_logging_metric.${metricKeyOf.get(metric as string)}`);
    }
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
    const ratio = resource('google_logging_metric', 'group_healthy_ratio');
    expect(ratio.value_extractor).toBe('EXTRACT(jsonPayload.healthyRatio)');
    // Left out while the host is blind: such entries are no point at all, not a ratio of 0.
    expect(ratio.filter).toMatch(/ AND jsonPayload\.healthyRatio:\*$/);
    expect(resource('google_logging_metric', 'soonest_expiry').filter).toMatch(/ AND jsonPayload\.soonestExpiryHours:\*$/);
  });
});
