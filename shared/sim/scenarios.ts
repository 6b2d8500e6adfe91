// The simulator's built-in scenarios: a fleet shaped like production (two Swarming hosts, a
// few groups per host), the world's dynamics, and a timeline of config changes and faults.
// Times are hours from the start of the run; events past the end of a short run do not happen.
import { createHash } from 'node:crypto';
import { REALISTIC_DYNAMICS, type FleetDynamics } from './fleet-model';

export const PUBLIC_HOST = 'chromium-swarm.appspot.com';
export const SECURITY_HOST = 'chrome-swarming.appspot.com';
export const POOLS: Readonly<Record<string, string>> = {
  [PUBLIC_HOST]: 'luci.golang.shared-workers',
  [SECURITY_HOST]: 'luci.golang.security-try-workers',
};

/** Production's images (terraform/terraform.tfvars.example) and made-up successors. */
export const IMAGES = {
  amd64_14: 'b16a8a5f2d1e383667c3764d915551f4af56d63edd0679539703688a6b9f6754',
  arm64_15: '203520220bdfe6b42592d2ae731c9cb985768c701c569ff1bc572d1573e63ad6',
  arm64_26: 'b39d12df6bb6702c4ea1ae1d061b9964eb5912b514f073ece0fc5fd0bedec0cb',
  amd64_14_next: sha256('darwin-amd64-14 image, next release'),
  arm64_15_broken: sha256('darwin-arm64-15 image that never boots'),
  arm64_15_fixed: sha256('darwin-arm64-15 image, fixed'),
  arm64_26_broken: sha256('darwin-arm64-26-security image that never boots'),
  arm64_26_fixed: sha256('darwin-arm64-26-security image, fixed'),
} as const;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface ScenarioGroup {
  host: string;
  hostname: string;
  image: string;
  count: number;
}

export type ScenarioEvent =
  /** The group's configured image changes: a rollout. */
  | { kind: 'image'; at: number; host: string; hostname: string; image: string }
  /** The group's configured count changes. */
  | { kind: 'count'; at: number; host: string; hostname: string; count: number }
  /** The host's ListBots answers 503 UNAVAILABLE from `at` until `until`. */
  | { kind: 'swarming-unavailable'; at: number; until: number; host: string }
  /** The host's ListBots answers successfully, with no bots, from `at` until `until`. */
  | { kind: 'swarming-empty'; at: number; until: number; host: string }
  /** This share of MacService calls fail (503, 500 or 429) from `at` until `until`. */
  | { kind: 'macservice-flaky'; at: number; until: number; errorRate: number };

export interface Scenario {
  name: string;
  description: string;
  groups: ScenarioGroup[];
  dynamics: FleetDynamics;
  events: ScenarioEvent[];
}

/** 25 leases, in proportion to production's 80. */
export const BASE_GROUPS: readonly ScenarioGroup[] = [
  { host: PUBLIC_HOST, hostname: 'darwin-amd64-14', image: IMAGES.amd64_14, count: 8 },
  { host: PUBLIC_HOST, hostname: 'darwin-arm64-15', image: IMAGES.arm64_15, count: 6 },
  { host: PUBLIC_HOST, hostname: 'darwin-arm64-26', image: IMAGES.arm64_26, count: 4 },
  { host: SECURITY_HOST, hostname: 'darwin-amd64-14-security', image: IMAGES.amd64_14, count: 4 },
  { host: SECURITY_HOST, hostname: 'darwin-arm64-15-security', image: IMAGES.arm64_15, count: 3 },
];

/** The count changes an operator makes now and then. */
const COUNT_CHANGES: ScenarioEvent[] = [
  { kind: 'count', at: 30, host: PUBLIC_HOST, hostname: 'darwin-arm64-26', count: 6 },
  { kind: 'count', at: 36, host: SECURITY_HOST, hostname: 'darwin-amd64-14-security', count: 3 },
];

const base = (
  name: string,
  description: string,
  events: ScenarioEvent[],
  dynamics: FleetDynamics = REALISTIC_DYNAMICS,
  extraGroups: ScenarioGroup[] = [],
): Scenario => ({
  name,
  description,
  groups: [...BASE_GROUPS, ...extraGroups].map((g) => ({ ...g })),
  dynamics,
  events,
});

const BAD_IMAGES = new Set<string>([IMAGES.arm64_15_broken, IMAGES.arm64_26_broken]);

export const SCENARIOS: Readonly<Record<string, Scenario>> = {
  steady: base('steady', 'Faults at realistic rates (failed boots, hung VMs, reboots, quarantines), busy bots; counts change at 30h and 36h.', [
    ...COUNT_CHANGES,
  ]),
  rollout: base('rollout', 'At 12h the amd64-14 groups on both hosts move to a new image that boots fine; counts change at 30h and 36h.', [
    { kind: 'image', at: 12, host: PUBLIC_HOST, hostname: 'darwin-amd64-14', image: IMAGES.amd64_14_next },
    { kind: 'image', at: 12, host: SECURITY_HOST, hostname: 'darwin-amd64-14-security', image: IMAGES.amd64_14_next },
    ...COUNT_CHANGES,
  ]),
  'bad-image': base(
    'bad-image',
    'At 12h darwin-arm64-15 moves to an image whose VMs never boot; at 36h it moves to a fixed image.',
    [
      { kind: 'image', at: 12, host: PUBLIC_HOST, hostname: 'darwin-arm64-15', image: IMAGES.arm64_15_broken },
      { kind: 'image', at: 36, host: PUBLIC_HOST, hostname: 'darwin-arm64-15', image: IMAGES.arm64_15_fixed },
    ],
    { ...REALISTIC_DYNAMICS, badImages: BAD_IMAGES },
  ),
  'bad-image-fresh': base(
    'bad-image-fresh',
    'At 6h a new group darwin-arm64-26-security (count 0 until then) starts on an image whose VMs never boot; at 30h it moves to a fixed image.',
    [
      { kind: 'count', at: 6, host: SECURITY_HOST, hostname: 'darwin-arm64-26-security', count: 3 },
      { kind: 'image', at: 30, host: SECURITY_HOST, hostname: 'darwin-arm64-26-security', image: IMAGES.arm64_26_fixed },
    ],
    { ...REALISTIC_DYNAMICS, badImages: BAD_IMAGES },
    [{ host: SECURITY_HOST, hostname: 'darwin-arm64-26-security', image: IMAGES.arm64_26_broken, count: 0 }],
  ),
  reboots: base(
    'reboots',
    'Bots reboot ten times as often as usual, each back within 12–25 min (inside deadAfter): replacements must not churn.',
    [],
    { ...REALISTIC_DYNAMICS, rebootPerHour: 0.04 },
  ),
  'swarming-outage': base('swarming-outage', `${PUBLIC_HOST} ListBots fails with 503 for 48h, from 2h to 50h; the bots themselves keep working.`, [
    { kind: 'swarming-unavailable', at: 2, until: 50, host: PUBLIC_HOST },
  ]),
  'empty-bot-list': base('empty-bot-list', `${PUBLIC_HOST} ListBots answers successfully with no bots from 6h to 10h.`, [
    { kind: 'swarming-empty', at: 6, until: 10, host: PUBLIC_HOST },
  ]),
  'api-flaky': base('api-flaky', '20% of MacService calls fail (503, 500, 429) from 4h to 28h; a count rises at 16h.', [
    { kind: 'macservice-flaky', at: 4, until: 28, errorRate: 0.2 },
    { kind: 'count', at: 16, host: PUBLIC_HOST, hostname: 'darwin-arm64-26', count: 6 },
  ]),
};

export const SCENARIO_NAMES = Object.keys(SCENARIOS);
