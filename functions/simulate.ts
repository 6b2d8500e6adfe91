// `makemac simulate`: runs a built-in scenario for days of virtual time under makemac's policy
// and an emulation of Go makemac's, on the same seeded world, and reports how each fared.
import { writeFileSync } from 'node:fs';
import { formatText, groupByScenario, toHtml, toJson } from '../shared/sim/report';
import { SCENARIO_NAMES } from '../shared/sim/scenarios';
import { POLICY_NAMES, simulatePolicies, type PolicyName, type SimulationResult } from '../shared/sim/simulator';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './cli-io';
import { parseCommandArgs, usageError } from './command-args';
import { unwritable } from './files';
import { progressLine } from './progress';
import { useOfflineGoogleDefaults } from '../shared/sim/offline';

const MAX_DAYS = 30;

/** The Go makemac's policy was called `makemac` until this release; the old name still works. */
const POLICY_ALIASES: Record<string, PolicyName> = { makemac: 'go-makemac' };

const USAGE = `usage: makemac simulate --scenario NAME [--days N] [--seed S] [--policy default|go-makemac|both] [--json] [--report FILE.html]
  --scenario  one of ${SCENARIO_NAMES.join(', ')}, or all
  --days      virtual days to run, more than 0 and at most ${MAX_DAYS} (default 2)
  --seed      whole number seeding every random draw (default 1); the same seed gives the same numbers
  --policy    default (this makemac's planner), go-makemac (Go's cmd/makemac, emulated) or both (default);
              \`makemac\` is accepted for go-makemac, its former name
  --json      print JSON instead of the table
  --report    also write a self-contained HTML report with charts to FILE.html`;

interface SimulateArgs {
  scenarios: string[];
  days: number;
  seed: number;
  policies: PolicyName[];
  json: boolean;
  report: string | null;
}

const OPTIONS = {
  scenario: { type: 'string' },
  days: { type: 'string', default: '2' },
  seed: { type: 'string', default: '1' },
  policy: { type: 'string', default: 'both' },
  json: { type: 'boolean', default: false },
  report: { type: 'string' },
} as const;

/** Checks the parsed flags; a string is the usage error to print. */
function checkSimulateArgs(values: { scenario?: string; days: string; seed: string; policy: string; json: boolean; report?: string }): SimulateArgs | string {
  if (values.scenario === undefined) return '--scenario is required';
  const scenarios = values.scenario === 'all' ? SCENARIO_NAMES : [values.scenario];
  if (!scenarios.every((name) => SCENARIO_NAMES.includes(name))) {
    return `unknown scenario ${JSON.stringify(values.scenario)}: use one of ${SCENARIO_NAMES.join(', ')}, or all`;
  }
  const days = Number(values.days);
  if (!/^\d+(?:\.\d+)?$/.test(values.days) || !(days > 0) || days > MAX_DAYS) {
    return `--days must be a number of days above 0 and at most ${MAX_DAYS}, not ${JSON.stringify(values.days)}`;
  }
  const seed = Number(values.seed);
  if (!/^\d+$/.test(values.seed) || seed > 0xffffffff) {
    return `--seed must be a whole number from 0 to ${0xffffffff}, not ${JSON.stringify(values.seed)}`;
  }
  const policy = POLICY_ALIASES[values.policy] ?? values.policy;
  if (policy !== 'both' && !POLICY_NAMES.includes(policy as PolicyName)) {
    return `--policy must be default, go-makemac or both, not ${JSON.stringify(values.policy)}`;
  }
  if (values.report !== undefined && values.report.trim() === '') return '--report needs a file name';
  const reportProblem = values.report === undefined ? null : unwritable(values.report);
  if (reportProblem !== null) return `--report: ${reportProblem}`;
  return {
    scenarios,
    days,
    seed,
    policies: policy === 'both' ? [...POLICY_NAMES] : [policy as PolicyName],
    json: values.json,
    report: values.report ?? null,
  };
}

export async function simulateCommand(args: string[], io: CliIo): Promise<number> {
  const flags = parseCommandArgs('simulate', USAGE, args, OPTIONS, io);
  if ('exitCode' in flags) return flags.exitCode;
  const parsed = checkSimulateArgs(flags.values);
  if (typeof parsed === 'string') return usageError('simulate', parsed, USAGE, io).exitCode;
  useOfflineGoogleDefaults();
  const progress = progressLine(io, { command: 'makemac simulate', enabled: !parsed.json });
  const cells = parsed.scenarios.length * parsed.policies.length;
  const results: SimulationResult[] = [];
  for (const scenario of parsed.scenarios) {
    results.push(
      ...(await simulatePolicies(scenario, parsed.days, parsed.seed, parsed.policies, (policy, done) => {
        const cell = results.length + parsed.policies.indexOf(policy);
        progress.update(
          (cell + done) / cells,
          `${scenario} · ${policy} · day ${(Math.min(1, done) * parsed.days).toFixed(1)} of ${parsed.days} · cell ${cell + 1} of ${cells}`,
        );
      })),
    );
  }
  progress.finish();
  const reports = groupByScenario(results);
  io.stdout.write(parsed.json ? toJson(reports) : formatText(reports));
  if (parsed.report !== null) {
    try {
      writeFileSync(parsed.report, toHtml(reports));
    } catch (err) {
      io.stderr.write(`makemac simulate: cannot write ${parsed.report}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
      return EXIT_FAILED;
    }
    if (!parsed.json) io.stdout.write(`HTML report written to ${parsed.report}\n`);
  }
  return EXIT_OK;
}
