// Runs the real terraform binary on provider-free modules, offline. terraform/modules/fleet-config
// needs no provider, so `init` and `apply` work here with local state in a temporary directory.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

type Json = any;

export const TERRAFORM_DIR = path.join(__dirname, '..', '..', 'terraform');
export const FLEET_CONFIG_MODULE = path.join(TERRAFORM_DIR, 'modules', 'fleet-config');

export const terraformInstalled = spawnSync('terraform', ['version'], { encoding: 'utf8' }).status === 0;

/** As .ci/run: a CLI config file the environment names but that does not exist only adds a warning. */
export function terraformEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', NO_COLOR: '1' };
  if (env.TF_CLI_CONFIG_FILE && !existsSync(env.TF_CLI_CONFIG_FILE)) delete env.TF_CLI_CONFIG_FILE;
  return env;
}

export function terraform(args: string[], cwd: string, input?: string) {
  return spawnSync('terraform', args, { cwd, env: terraformEnv(), input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

/**
 * The fleet variable → product config mapping of modules/fleet-config (local.config),
 * reimplemented: secrets become secret:PROJECT/NAME, policy knobs camelCase, nulls are omitted.
 */
export function productConfigFromFleet(projectId: string, fleet: Json, dryRun: boolean): Json {
  const ref = (name: string) => `secret:${projectId}/${name}`;
  const compact = (object: Record<string, Json>) =>
    Object.fromEntries(Object.entries(object).filter(([, v]) => v !== null && v !== undefined));
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
    retiredHosts: Array.isArray(fleet.retired_hosts)
      ? fleet.retired_hosts.map((r: Json) => (r !== null && typeof r === 'object' && !Array.isArray(r) ? compact(r) : r))
      : (fleet.retired_hosts ?? []),
    policy: compact(Object.fromEntries(Object.entries(fleet.policy ?? {}).map(([k, v]) => [camelCase(k), v]))),
    dryRun,
  };
}

export const camelCase = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
export const snakeCase = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export interface ModuleCase {
  projectId: string;
  dryRun: boolean;
  fleet: Json;
}

export interface ModuleVerdict {
  /** Terraform's error messages for this case (without the line that cites the rule); empty when it accepted it. */
  errors: string[];
  /** The module's config_json output, parsed, when it accepted the case. */
  config?: Json;
}

/**
 * Instantiates the fleet-config module once per case in one scratch root: one `plan` reports every
 * case's validation errors (each diagnostic names its module call), then a saved plan of the
 * accepted cases holds their rendered configs (outputs are known at plan time: no resources).
 * Four terraform runs however many cases, but each module instance costs some 40 evaluations,
 * so callers batch what they can into few cases.
 */
export function runFleetConfigCases(cases: readonly ModuleCase[]): ModuleVerdict[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'makemac-fleet-config-'));
  try {
    const source = path.relative(dir, FLEET_CONFIG_MODULE);
    cases.forEach((c, i) => writeFileSync(path.join(dir, `case${i}.json`), JSON.stringify(c.fleet)));
    const root = (indexes: number[], outputs: boolean) =>
      indexes
        .map((i) =>
          [
            `module "case${i}" {`,
            `  source     = ${JSON.stringify(source.startsWith('.') ? source : `./${source}`)}`,
            `  project_id = ${JSON.stringify(cases[i]!.projectId)}`,
            `  dry_run    = ${cases[i]!.dryRun}`,
            `  fleet      = jsondecode(file("\${path.module}/case${i}.json"))`,
            `}`,
            outputs ? `output "case${i}" {\n  value = module.case${i}.config_json\n}` : '',
          ].join('\n'),
        )
        .join('\n');
    const all = cases.map((_, i) => i);
    writeFileSync(path.join(dir, 'main.tf'), root(all, false));
    const init = terraform(['init', '-input=false', '-no-color'], dir);
    if (init.status !== 0) throw new Error(`terraform init failed: ${init.stderr}`);

    const verdicts: ModuleVerdict[] = cases.map(() => ({ errors: [] }));
    const plan = terraform(['plan', '-json', '-input=false', '-lock=false'], dir);
    for (const line of plan.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      const message = JSON.parse(line);
      if (message.type !== 'diagnostic' || message.diagnostic.severity !== 'error') continue;
      const { summary, detail, snippet } = message.diagnostic;
      const index = /^module "case(\d+)"$/.exec(snippet?.context ?? '')?.[1];
      if (index === undefined) throw new Error(`terraform error outside any case: ${summary}: ${detail}`);
      verdicts[Number(index)]!.errors.push(summary === 'Invalid value for variable' ? detail.replace(/\n\nThis was checked by[\s\S]*$/, '') : `${summary}: ${detail}`);
    }
    const accepted = all.filter((i) => verdicts[i]!.errors.length === 0);
    if (plan.status !== 0 && accepted.length === cases.length) throw new Error(`terraform plan failed: ${plan.stderr}`);
    if (accepted.length === 0) return verdicts;

    writeFileSync(path.join(dir, 'main.tf'), root(accepted, true));
    const rendered = terraform(['plan', '-input=false', '-lock=false', '-out=accepted.tfplan'], dir);
    if (rendered.status !== 0) throw new Error(`terraform plan of the accepted cases failed: ${rendered.stdout}${rendered.stderr}`);
    const show = terraform(['show', '-json', 'accepted.tfplan'], dir);
    const outputs = JSON.parse(show.stdout).planned_values.outputs;
    for (const i of accepted) verdicts[i]!.config = JSON.parse(outputs[`case${i}`].value);
    return verdicts;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
