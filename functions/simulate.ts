// `makemac simulate`: runs a built-in scenario for days of virtual time under makemac's policy
// and an emulation of Go makemac's, on the same seeded world, and reports how each fared.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatText, groupByScenario, toHtml, toJson } from '../shared/sim/report';
import { SCENARIO_NAMES } from '../shared/sim/scenarios';
import { POLICY_NAMES, simulatePolicies, type PolicyName, type SimulationResult } from '../shared/sim/simulator';
import type { CliIo } from './cli';
import { unwritable } from './files';
import { useOfflineGoogleDefaults } from '../shared/sim/offline';

const MAX_DAYS = 30;

const USAGE = `usage: makemac simulate --scenario NAME [--days N] [--seed S] [--policy default|makemac|both] [--json] [--report FILE.html]
  --scenario  one of ${SCENARIO_NAMES.join(', ')}, or all
  --days      virtual days to run, more than 0 and at most ${MAX_DAYS} (default 2)
  --seed      whole number seeding every random draw (default 1); the same seed gives the same numbers
  --policy    default (makemac's planner), makemac (Go makemac emulated) or both (default)
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

/** Parses and checks the arguments; a string is the usage error to print. */
function parseSimulateArgs(args: string[]): SimulateArgs | string {
  let values;
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        scenario: { type: 'string' },
        days: { type: 'string', default: '2' },
        seed: { type: 'string', default: '1' },
        policy: { type: 'string', default: 'both' },
        json: { type: 'boolean', default: false },
        report: { type: 'string' },
      },
    }).values;
  } catch (err) {
    return (err as Error).message;
  }
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
  const policy = values.policy;
  if (policy !== 'both' && !POLICY_NAMES.includes(policy as PolicyName)) {
    return `--policy must be default, makemac or both, not ${JSON.stringify(policy)}`;
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
  useOfflineGoogleDefaults();
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const parsed = parseSimulateArgs(args);
  if (typeof parsed === 'string') {
    io.stderr.write(`makemac simulate: ${parsed}\n${USAGE}\n`);
    return 2;
  }
  const results: SimulationResult[] = [];
  for (const scenario of parsed.scenarios) {
    results.push(...(await simulatePolicies(scenario, parsed.days, parsed.seed, parsed.policies)));
  }
  const reports = groupByScenario(results);
  io.stdout.write(parsed.json ? toJson(reports) : formatText(reports));
  if (parsed.report !== null) {
    try {
      writeFileSync(parsed.report, toHtml(reports));
    } catch (err) {
      io.stderr.write(`makemac simulate: cannot write ${parsed.report}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
      return 1;
    }
    if (!parsed.json) io.stdout.write(`HTML report written to ${parsed.report}\n`);
  }
  return 0;
}
