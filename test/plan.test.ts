import { describe, expect, it } from 'vitest';
import { attributeLease } from '../shared/plan/attribution';
import { plan } from '../shared/plan/plan';
import { classifyLease } from '../shared/plan/verdict';
import {
  config,
  describePlan,
  GROUP,
  HOST,
  HOST2,
  HOUR,
  IMAGE,
  lease,
  MINUTE,
  NOW,
  observation,
  OLD_IMAGE,
  OTHER_IMAGE,
  type ConfigSpec,
  type LeaseSpec,
  type ObservationSpec,
} from './builders';

const SECURITY = 'darwin-amd64-14-security';
const vacate = (reason: string, id: string) => `vacate ${reason} ${id}`;
const renew = (id: string) => `renew expiring ${id}`;
const create = (group = GROUP, host = HOST) => `create deficit ${host}/${group}`;
const backfill = (image: string, group = GROUP, host = HOST) => `create backfill ${host}/${group}@${image.slice(0, 4)}`;
const times = (n: number, line: string) => Array.from({ length: n }, () => line);
const dead = { isDead: true, lastSeenAgo: 45 * MINUTE };
const busy = { taskId: 'task-1' };
const outdated = (id: string, bot: LeaseSpec['bot'] = {}): LeaseSpec => ({ id, image: OLD_IMAGE, bot });
const blindHost = (id: string, reason: string) => `${vacate(reason, id)}: blind-host`;
/** What a halted group defers: its evidence, its creates on the image that failed, its outdated leases. */
const halted = (creates: number, evidence: string[], old: string[]) => [
  ...evidence.map((id) => `${vacate('missing', id)}: evidence`),
  ...times(creates, `${create()}: rollout-halted`),
  ...old.map((id) => `${vacate('outdated', id)}: rollout-halted`),
];
const BLIND = { blind: { [HOST]: 'bot list failed: HTTP 503' } };
const ALL_AT_ONCE = { maxVacatesPerPass: '100%' } as const;

interface Case {
  name: string;
  config?: ConfigSpec;
  leases: LeaseSpec[];
  observation?: ObservationSpec;
  actions: string[];
  deferred?: string[];
  refused?: string[];
  brakes?: string[];
}

const cases: Case[] = [
  // Go makemac's own scenarios.
  {
    name: 'a lease whose bot never came up two hours after creation is vacated as missing and replaced',
    config: { groups: [{ count: 2 }] },
    leases: [{ id: 'h' }, { id: 'm', bot: null, createdAgo: 2 * HOUR }],
    actions: [vacate('missing', 'm'), create()],
  },
  {
    name: 'the only lease of a group that never booted is bad luck, not a bad image: vacated as missing and replaced',
    leases: [{ id: 'm', bot: null, createdAgo: 2 * HOUR, expiresIn: HOUR }],
    actions: [vacate('missing', 'm'), create()],
  },
  {
    name: 'a lease with no bot within its boot grace is booting: kept, counted, not replaced',
    leases: [{ id: 'b', bot: null, createdAgo: 20 * MINUTE, expiresIn: 23 * HOUR + 40 * MINUTE }],
    actions: [],
  },
  {
    name: 'a dead bot silent for 45m is vacated as dead and replaced',
    leases: [{ id: 'd', bot: dead }],
    actions: [vacate('dead', 'd'), create()],
  },
  {
    name: 'a dead bot never seen at all is vacated as dead',
    leases: [{ id: 'd', bot: { isDead: true, lastSeenAgo: null } }],
    actions: [vacate('dead', 'd'), create()],
  },
  {
    name: 'a bot dead for only 10m is replaced now, its vacate left for a later pass, and it is still renewed when expiring',
    leases: [{ id: 'd', expiresIn: 5 * HOUR, bot: { isDead: true, lastSeenAgo: 10 * MINUTE } }],
    actions: [create(), renew('d')],
    deferred: [`${vacate('dead', 'd')}: dead-recently`],
  },
  {
    name: 'a bot silent for silentAfter is judged dead before Swarming says so: replaced at once, vacated only once Swarming agrees',
    leases: [{ id: 's', bot: { lastSeenAgo: 4 * MINUTE } }],
    actions: [create()],
    deferred: [`${vacate('dead', 's')}: dead-recently`],
  },
  {
    name: 'a bot silent for longer than deadAfter but not marked dead by Swarming, with a task, is replaced but never vacated',
    leases: [{ id: 's', bot: { lastSeenAgo: 2 * HOUR, taskId: 't' } }],
    actions: [create()],
    deferred: [`${vacate('dead', 's')}: dead-recently`],
  },
  {
    name: 'a dead bot within deadAfter still counts toward count + surge: a second replacement waits',
    config: { groups: [{ count: 2 }], policy: { maxSurge: 1 } },
    leases: [
      { id: 'd1', bot: { isDead: true, lastSeenAgo: 10 * MINUTE } },
      { id: 'd2', bot: { isDead: true, lastSeenAgo: 10 * MINUTE } },
      { id: 'n', bot: null, createdAgo: 5 * MINUTE },
    ],
    actions: [],
    deferred: [`${vacate('dead', 'd1')}: dead-recently`, `${vacate('dead', 'd2')}: dead-recently`, `${create()}: surge`],
  },
  {
    name: 'a dead bot that came back leaves its group one over: the booting replacement is trimmed as excess',
    config: { groups: [{ count: 2 }] },
    leases: [{ id: 'a' }, { id: 'back' }, { id: 'r', bot: null, createdAgo: 10 * MINUTE }],
    actions: [vacate('excess', 'r')],
  },
  {
    name: 'a lease expiring within renewBefore is renewed',
    leases: [{ id: 'r', expiresIn: 21 * HOUR }],
    actions: [renew('r')],
  },
  {
    name: 'a lease expiring exactly renewBefore from now is not renewed yet',
    leases: [{ id: 'r', expiresIn: 22 * HOUR }],
    actions: [],
  },
  {
    name: 'a lease MacService sent no expiry for is renewed, as Go treated its zero time',
    leases: [{ id: 'r', expiresIn: null, createdAgo: null }],
    actions: [renew('r')],
  },
  {
    name: 'a lease created within the hour is never renewed, even with its expiry near',
    leases: [{ id: 'y', createdAgo: 30 * MINUTE, expiresIn: HOUR }],
    actions: [],
  },
  {
    name: 'a lease whose creation stamp lies in the future is aged by its expiry instead, and renewed before it is lost',
    leases: [{ id: 'f', createdAgo: -48 * HOUR, expiresIn: 2 * HOUR }],
    actions: [renew('f')],
  },
  {
    name: 'a Go-made lease with expiry more than 23h away is young and not renewed, even under renewBefore',
    config: { policy: { renewBefore: '24h' } },
    leases: [{ id: 'y', createdAgo: null, expiresIn: 23 * HOUR + 30 * MINUTE }],
    actions: [],
  },
  {
    name: 'a Go-made lease with expiry 23h or less away is renewed under renewBefore',
    config: { policy: { renewBefore: '24h' } },
    leases: [{ id: 'g', createdAgo: null, expiresIn: 22 * HOUR + 50 * MINUTE }],
    actions: [renew('g')],
  },
  {
    name: 'an outdated lease is vacated once its group has its count of healthy current leases',
    leases: [{ id: 'cur' }, outdated('old')],
    actions: [vacate('outdated', 'old')],
  },
  {
    name: 'a lease whose image no group runs, with no hostname metadata and no bot, is orphaned',
    leases: [{ id: 'cur' }, { id: 'x', image: OTHER_IMAGE, hostname: null, bot: null }],
    actions: [vacate('orphaned', 'x')],
  },
  {
    name: 'count lowered: the idle excess lease is vacated and the busy one waits',
    leases: [{ id: 'a', bot: busy }, { id: 'b' }, { id: 'c', bot: busy }],
    actions: [vacate('excess', 'b')],
    deferred: [`${vacate('excess', 'a')}: busy`],
  },
  {
    name: 'count lowered by one: the youngest booting lease goes first',
    config: { groups: [{ count: 4 }] },
    leases: excessFleet(),
    actions: [vacate('excess', 'b-boot-young')],
  },
  {
    name: 'count lowered a lot: booting (youngest first), then serving-nothing, then idle leases go',
    config: { groups: [{ count: 1 }], policy: ALL_AT_ONCE },
    leases: excessFleet(),
    actions: ['a-boot-old', 'b-boot-young', 'c-idle', 'e-maint'].map((id) => vacate('excess', id)),
  },
  {
    name: 'leases are added to groups on two swarming hosts, hosts in plain string order',
    config: { groups: [{ count: 2 }, { host: HOST2, hostname: SECURITY, count: 1 }] },
    leases: [{ id: 'h1' }],
    actions: [create(SECURITY, HOST2), create()],
  },
  {
    name: 'unmanaged leases are never renewed, vacated or counted',
    leases: [
      { id: 'u1', host: null, expiresIn: HOUR, bot: dead },
      { id: 'u2', host: null, image: OLD_IMAGE },
      { id: 'u3', host: null, bot: null },
    ],
    actions: [create()],
  },

  // The brake.
  {
    name: 'the brake refuses every health vacate on a host that wants more than its limit, and still renews',
    config: { groups: [{ count: 10 }] },
    leases: [
      { id: 'd0', bot: dead, expiresIn: 10 * HOUR },
      ...['d1', 'd2', 'd3', 'd4', 'd5'].map((id) => ({ id, bot: dead })),
      ...['h6', 'h7', 'h8', 'h9'].map((id) => ({ id })),
    ],
    // The refused leases are not capacity, so they are replaced, but only up to count + surge (3).
    actions: [create(), create(), create(), renew('d0')],
    deferred: times(3, `${create()}: surge`),
    refused: ['d0', 'd1', 'd2', 'd3', 'd4', 'd5'].map((id) => `${vacate('dead', id)}: brake`),
    brakes: [`${HOST} wanted 6 limit 5 of 10`],
  },
  {
    name: 'a small fleet still heals: 2 dead of 2 is within the brake minimum and the budget, so both are replaced',
    config: { groups: [{ count: 2 }] },
    leases: [{ id: 'd1', bot: dead }, { id: 'd2', bot: dead }],
    actions: [vacate('dead', 'd1'), vacate('dead', 'd2'), create(), create()],
  },
  {
    name: 'with a budget below the brake minimum, 2 dead of 2 are vacated one per pass but both replaced at once',
    config: { groups: [{ count: 2 }], policy: { brakeMinimum: 1, brakeFraction: 1, maxVacatesPerPass: 1 } },
    leases: [{ id: 'd1', bot: dead }, { id: 'd2', bot: dead }],
    actions: [vacate('dead', 'd1'), create(), create()],
    deferred: [`${vacate('dead', 'd2')}: vacate-budget`],
  },
  {
    name: 'a small fleet with an ample budget replaces 2 dead of 2 in one pass',
    config: { groups: [{ count: 2 }], policy: ALL_AT_ONCE },
    leases: [{ id: 'd1', bot: dead }, { id: 'd2', bot: dead }],
    actions: [vacate('dead', 'd1'), vacate('dead', 'd2'), create(), create()],
  },
  {
    name: '2 dead of 5 are replaced by 2 creates: health vacates are never held back by the surge',
    config: { groups: [{ count: 5 }] },
    leases: [{ id: 'd1', bot: dead }, { id: 'd2', bot: dead }, { id: 'h3' }, { id: 'h4' }, { id: 'h5' }],
    actions: [vacate('dead', 'd1'), vacate('dead', 'd2'), create(), create()],
  },

  // Blind hosts.
  {
    name: 'a blind host is still renewed but nothing on it is vacated, whatever its leases look like',
    config: { groups: [{ count: 2 }] },
    observation: BLIND,
    leases: [
      { id: 'e', expiresIn: 5 * HOUR },
      { id: 'm', bot: null },
      { id: 'd', bot: dead },
      outdated('o'),
      { id: 'x', image: OTHER_IMAGE, hostname: null, bot: null },
    ],
    actions: [renew('e')],
    deferred: [blindHost('d', 'excess'), blindHost('o', 'outdated'), blindHost('x', 'orphaned')],
  },
  {
    name: 'a blind host defers its outdated lease, its orphan of a removed group and its excess, and still renews them',
    observation: BLIND,
    leases: [
      { id: 'c-old', createdAgo: 20 * HOUR, expiresIn: 3 * HOUR },
      { id: 'c-young', createdAgo: 2 * HOUR, expiresIn: 5 * HOUR },
      outdated('o'),
      { id: 'x', hostname: 'darwin-amd64-10', image: OTHER_IMAGE, bot: { hostname: 'darwin-amd64-10' }, expiresIn: 4 * HOUR },
    ],
    actions: [renew('c-old'), renew('c-young'), renew('x')],
    deferred: [blindHost('c-young', 'excess'), blindHost('o', 'outdated'), blindHost('x', 'orphaned')],
  },
  {
    name: 'a configured host missing from the observation is blind: its would-be vacates are deferred too',
    config: { groups: [{ count: 0 }] },
    observation: { hosts: [HOST2] },
    leases: [{ id: 'c1' }, outdated('o', null)],
    actions: [],
    deferred: [blindHost('c1', 'excess'), blindHost('o', 'outdated')],
  },
  {
    name: 'a blind host still gets creates for its deficit: creating never destroys',
    config: { groups: [{ count: 3 }] },
    observation: BLIND,
    leases: [{ id: 'm', bot: null }],
    actions: [create(), create()],
  },

  // Rollouts.
  {
    name: 'surge-first rollout, first pass: only the surge is created and no healthy outdated lease goes',
    config: { groups: [{ count: 4 }] },
    leases: ['o1', 'o2', 'o3', 'o4'].map((id) => outdated(id)),
    actions: [create()],
    deferred: [
      ...times(3, `${create()}: surge`),
      ...['o1', 'o2', 'o3', 'o4'].map((id) => `${vacate('outdated', id)}: capacity`),
    ],
  },
  {
    name: 'surge-first rollout, next pass: with the new lease healthy one idle outdated lease goes, busy ones wait',
    config: { groups: [{ count: 4 }] },
    leases: [{ id: 'n1' }, outdated('o1'), outdated('o2'), outdated('o3', busy), outdated('o4', busy)],
    actions: [create(), vacate('outdated', 'o1')],
    deferred: [
      ...times(2, `${create()}: surge`),
      `${vacate('outdated', 'o2')}: capacity`,
      `${vacate('outdated', 'o3')}: busy`,
      `${vacate('outdated', 'o4')}: busy`,
    ],
  },
  {
    name: 'idle outdated leases go before busy ones, even when the busy ones sort first',
    config: { groups: [{ count: 1 }], policy: ALL_AT_ONCE },
    leases: [{ id: 'n1' }, outdated('a-busy', busy), outdated('b-idle')],
    actions: [vacate('outdated', 'b-idle')],
    deferred: [`${vacate('outdated', 'a-busy')}: busy`],
  },
  {
    name: 'a new image whose first lease never booted stalls the rollout: the failure is replaced, old leases keep serving',
    config: { groups: [{ count: 2 }] },
    leases: [{ id: 'n1', bot: null, createdAgo: 2 * HOUR }, outdated('o1'), outdated('o2')],
    actions: [vacate('missing', 'n1'), create()],
    deferred: [`${create()}: surge`, `${vacate('outdated', 'o1')}: capacity`, `${vacate('outdated', 'o2')}: capacity`],
  },
  {
    name: 'two failed boots of the new image, evidence kept and never renewed, though near expiry',
    config: { groups: [{ count: 2 }] },
    leases: [
      { id: 'n1', bot: null, createdAgo: 2 * HOUR, expiresIn: HOUR },
      { id: 'n2', bot: null, createdAgo: 2 * HOUR, expiresIn: HOUR },
      outdated('o1'),
      outdated('o2'),
    ],
    actions: [backfill(OLD_IMAGE)],
    deferred: halted(2, ['n1', 'n2'], ['o1', 'o2']),
  },
  {
    name: 'two failed boots of the new image halt the rollout: outdated leases stay, a lost one and a spare are backfilled on the old image',
    config: { groups: [{ count: 3 }] },
    leases: [
      { id: 'n1', bot: null, createdAgo: 2 * HOUR, expiresIn: 3 * HOUR },
      { id: 'n2', bot: null, createdAgo: 90 * MINUTE },
      outdated('o1'),
      outdated('o2', busy),
    ],
    actions: [backfill(OLD_IMAGE), backfill(OLD_IMAGE)],
    deferred: halted(3, ['n1', 'n2'], ['o1', 'o2']),
  },
  {
    name: 'a halted group is backfilled to one spare above count on its known good image',
    config: { groups: [{ count: 3 }] },
    leases: [{ id: 'n1', bot: null, createdAgo: 2 * HOUR }, { id: 'n2', bot: null, createdAgo: 90 * MINUTE }, outdated('o1'), outdated('o2'), outdated('o3')],
    actions: [backfill(OLD_IMAGE)],
    deferred: halted(3, ['n1', 'n2'], ['o1', 'o2', 'o3']),
  },
  {
    name: 'a halted group keeps its spare, and trims a second one as excess',
    config: { groups: [{ count: 2 }] },
    leases: [
      { id: 'n1', bot: null, createdAgo: 2 * HOUR },
      { id: 'n2', bot: null, createdAgo: 2 * HOUR },
      outdated('o1'),
      outdated('o2'),
      outdated('o3'),
      { id: 'o4', image: OLD_IMAGE, bot: null, createdAgo: 10 * MINUTE },
    ],
    actions: [vacate('excess', 'o4')],
    deferred: halted(2, ['n1', 'n2'], ['o1', 'o2', 'o3']),
  },
  {
    name: 'a halted rollout keeps at most max(2, maxSurge) failed leases as evidence and vacates the rest as missing',
    config: { groups: [{ count: 3 }] },
    leases: [
      { id: 'n1', bot: null, createdAgo: 4 * HOUR },
      { id: 'n2', bot: null, createdAgo: 3 * HOUR },
      { id: 'n3', bot: null, createdAgo: 2 * HOUR },
      outdated('o1'),
      outdated('o2'),
      outdated('o3'),
    ],
    actions: [vacate('missing', 'n1'), backfill(OLD_IMAGE)],
    deferred: halted(3, ['n2', 'n3'], ['o1', 'o2', 'o3']),
  },
  {
    name: 'with a larger maxSurge a halted rollout keeps that many failed leases as evidence',
    config: { groups: [{ count: 3 }], policy: { maxSurge: 3 } },
    leases: [
      ...['n1', 'n2', 'n3', 'n4'].map((id, i) => ({ id, bot: null, createdAgo: (5 - i) * HOUR })),
      outdated('o1'),
      outdated('o2'),
      outdated('o3'),
    ],
    actions: [vacate('missing', 'n1'), backfill(OLD_IMAGE)],
    deferred: halted(3, ['n2', 'n3', 'n4'], ['o1', 'o2', 'o3']),
  },
  {
    name: 'a fresh group on an image that never boots has no known good image: nothing is created until the evidence expires',
    config: { groups: [{ count: 3 }] },
    leases: ['n1', 'n2', 'n3'].map((id, i) => ({ id, bot: null, createdAgo: (4 - i) * HOUR })),
    actions: [vacate('missing', 'n1')],
    deferred: halted(3, ['n2', 'n3'], []),
  },
  {
    name: 'the halt ends when a lease of the new image turns healthy: the failures go as missing, the rollout resumes',
    config: { groups: [{ count: 2 }] },
    leases: [{ id: 'n1', bot: null, createdAgo: 2 * HOUR }, { id: 'n2', bot: null, createdAgo: 2 * HOUR }, { id: 'n3' }, outdated('o1'), outdated('o2')],
    actions: [vacate('missing', 'n1'), vacate('missing', 'n2'), create(), vacate('outdated', 'o1')],
    deferred: [`${vacate('outdated', 'o2')}: capacity`],
  },
  {
    name: 'the halt ends when the operator changes the image: the evidence, no longer evidence of anything, goes as missing',
    config: { groups: [{ count: 2, image: OTHER_IMAGE }] },
    leases: [{ id: 'n1', bot: null, createdAgo: 2 * HOUR }, { id: 'n2', bot: null, createdAgo: 2 * HOUR }, outdated('o1'), outdated('o2')],
    actions: [vacate('missing', 'n1'), vacate('missing', 'n2'), create()],
    deferred: [`${create()}: surge`, `${vacate('outdated', 'o1')}: capacity`, `${vacate('outdated', 'o2')}: capacity`],
  },
  {
    name: 'the halt ends when the evidence expires: one failure left is bad luck, the spare goes, the new image is tried again',
    config: { groups: [{ count: 2 }] },
    leases: [{ id: 'n2', bot: null, createdAgo: 2 * HOUR }, outdated('o1'), outdated('o2'), outdated('o3')],
    actions: [vacate('missing', 'n2'), create(), vacate('outdated', 'o1')],
    deferred: [`${create()}: surge`, `${vacate('outdated', 'o2')}: capacity`, `${vacate('outdated', 'o3')}: capacity`],
  },
  {
    name: 'outdated leases that serve nothing go at once, whatever the capacity',
    config: { groups: [{ count: 1 }], policy: { ...ALL_AT_ONCE, vacateQuarantined: false } },
    leases: [
      { id: 'n1' },
      { id: 'o1', image: OLD_IMAGE, bot: null, createdAgo: 10 * MINUTE },
      outdated('o2', { quarantined: true }),
    ],
    actions: [vacate('outdated', 'o1'), vacate('outdated', 'o2')],
  },
  {
    name: 'maxUnavailable lets a rollout drop below count: one healthy outdated lease goes before any new one is up',
    config: { groups: [{ count: 2 }], policy: { ...ALL_AT_ONCE, maxUnavailable: 1 } },
    leases: [outdated('o1'), outdated('o2')],
    actions: [create(), create(), vacate('outdated', 'o1')],
    deferred: [`${vacate('outdated', 'o2')}: capacity`],
  },

  // Orphans, budgets, quarantine, age.
  {
    name: 'orphans are vacated, busy orphans wait',
    config: { policy: ALL_AT_ONCE },
    leases: [
      { id: 'c1' },
      { id: 'y', image: OTHER_IMAGE, hostname: null, bot: { hostname: 'darwin-amd64-10', taskId: 't1' } },
      { id: 'z', image: OTHER_IMAGE, hostname: null, bot: { hostname: 'darwin-amd64-10' } },
    ],
    actions: [vacate('orphaned', 'z')],
    deferred: [`${vacate('orphaned', 'y')}: busy`],
  },
  {
    name: 'a retired host is drained: idle and unseen leases go, a busy one waits for its task and is renewed',
    config: { policy: ALL_AT_ONCE, retiredHosts: ['old-swarm.example.com'] },
    leases: [
      { id: 'c1' },
      { id: 'r-busy', host: 'old-swarm.example.com', bot: { taskId: 't1' }, expiresIn: HOUR },
      { id: 'r-idle', host: 'old-swarm.example.com' },
      { id: 'r-unseen', host: 'old-swarm.example.com', bot: null },
    ],
    actions: ['renew expiring r-busy', vacate('retired', 'r-idle'), vacate('retired', 'r-unseen')],
    deferred: [`${vacate('retired', 'r-busy')}: busy`],
  },
  {
    name: 'a retired host that is blind has nothing vacated: its leases are deferred as blind-host',
    config: { policy: ALL_AT_ONCE, retiredHosts: [{ host: 'old-swarm.example.com', pool: 'old-pool' }] },
    observation: { hosts: [HOST, 'old-swarm.example.com'], blind: { 'old-swarm.example.com': 'bot list failed' } },
    leases: [{ id: 'c1' }, { id: 'r1', host: 'old-swarm.example.com', bot: null }],
    actions: [],
    deferred: [`${vacate('retired', 'r1')}: blind-host`],
  },
  {
    name: 'over the vacate budget, health vacates go first, then outdated, and orphans wait for a later pass',
    config: { groups: [{ count: 3 }], policy: { brakeMinimum: 2 } },
    leases: [
      { id: 'a-orphan', image: OTHER_IMAGE, hostname: null, bot: null },
      outdated('b-outdated'),
      { id: 'c1' },
      { id: 'c2' },
      { id: 'c3' },
      { id: 'z-dead', bot: dead },
    ],
    actions: [vacate('dead', 'z-dead'), vacate('outdated', 'b-outdated')],
    deferred: [`${vacate('orphaned', 'a-orphan')}: vacate-budget`],
  },
  {
    name: 'creates beyond maxCreatesPerPass wait for a later pass',
    config: { groups: [{ count: 5 }], policy: { maxCreatesPerPass: 2 } },
    leases: [],
    actions: [create(), create()],
    deferred: times(3, `${create()}: create-budget`),
  },
  {
    name: 'a group with count 0 creates nothing and its leases are excess',
    config: { groups: [{ count: 0 }] },
    leases: [{ id: 'c1' }],
    actions: [vacate('excess', 'c1')],
  },
  {
    name: 'an idle quarantined bot is vacated; a busy one finishes its task first, and both are replaced now',
    config: { groups: [{ count: 2 }] },
    leases: [{ id: 'q1', bot: { quarantined: true } }, { id: 'q2', bot: { quarantined: true, taskId: 't' } }],
    actions: [vacate('quarantined', 'q1'), create(), create()],
    deferred: [`${vacate('quarantined', 'q2')}: busy`],
  },
  {
    name: 'with vacateQuarantined off, quarantined bots are kept',
    config: { groups: [{ count: 2 }], policy: { vacateQuarantined: false } },
    leases: [{ id: 'q1', bot: { quarantined: true } }, { id: 'q2', bot: { quarantined: true, taskId: 't' } }],
    actions: [],
  },
  {
    name: 'a Go-made lease without a bot and with expiry more than 23h away is young, so booting',
    leases: [{ id: 'g', createdAgo: null, bot: null, expiresIn: 23 * HOUR + 30 * MINUTE }],
    actions: [],
  },
  {
    name: 'a Go-made lease without a bot and with expiry 23h or less away is old, so missing',
    leases: [{ id: 'g', createdAgo: null, bot: null, expiresIn: 22 * HOUR + 50 * MINUTE }],
    actions: [vacate('missing', 'g'), create()],
  },
  {
    name: 'a converged healthy fleet on two hosts plans nothing',
    config: { groups: [{ count: 2 }, { host: HOST2, hostname: SECURITY, count: 1 }] },
    leases: [{ id: 'a' }, { id: 'b', bot: busy }, { id: 'c', host: HOST2, hostname: SECURITY, createdAgo: null }],
    actions: [],
  },
];

/** Current leases of one group: two booting, two idle, one in maintenance (serving nothing). */
function excessFleet(): LeaseSpec[] {
  return [
    { id: 'a-boot-old', bot: null, createdAgo: 30 * MINUTE },
    { id: 'b-boot-young', bot: null, createdAgo: 10 * MINUTE },
    { id: 'c-idle' },
    { id: 'd-idle' },
    { id: 'e-maint', bot: { inMaintenance: true } },
  ];
}

describe('plan', () => {
  it.each(cases)('$name', (c) => {
    const result = plan(config(c.config), observation(c.leases.map(lease), c.observation), NOW);
    expect(describePlan(result)).toEqual({
      actions: c.actions,
      deferred: c.deferred ?? [],
      refused: c.refused ?? [],
      brakes: c.brakes ?? [],
    });
  });

  it('says which host is blind and why, beside the deferred action’s own clause', () => {
    const leases = [lease({ id: 'o', image: OLD_IMAGE }), lease({ id: 'x', image: OTHER_IMAGE, hostname: null, bot: null })];
    const result = plan(config(), observation(leases, BLIND), NOW);
    expect(result.deferred.map((d) => [d.action.detail, d.detail])).toEqual([
      [`runs image bbbbbbbbbbbb, not group ${GROUP}'s aaaaaaaaaaaa`, `host ${HOST} is blind this pass: bot list failed: HTTP 503`],
      [`no group of host ${HOST} claims it (image cccccccccccc)`, `host ${HOST} is blind this pass: bot list failed: HTTP 503`],
    ]);
  });

  it('counts malformed leases of a host against its groups’ surge, so an unreadable fleet is not recreated pass after pass', () => {
    const malformed = ['m1', 'm2', 'm3'].map((leaseId) => ({ leaseId, projectName: `makemac/${HOST}`, expiresAt: null, problem: 'expires' }));
    const leases = [lease({ id: 'a' })];
    const cfg = config({ groups: [{ count: 4 }] });
    const withMalformed = plan(cfg, { ...observation(leases), malformedLeases: malformed }, NOW);
    // count 4 + surge 1 − 1 kept − 3 malformed: one create, two deferred.
    expect(describePlan(withMalformed).actions).toEqual([create()]);
    expect(withMalformed.deferred.map((d) => d.reason)).toEqual(['surge', 'surge']);
    expect(withMalformed.deferred[0]!.detail).toBe('group darwin-amd64-14 has 1 leases (and its host 3 malformed), at most count 4 + surge 1');
    expect(describePlan(plan(cfg, observation(leases), NOW)).actions).toEqual(times(3, create()));
  });

  it('renews for 23h and says when the lease expires', () => {
    const result = plan(config(), observation([lease({ id: 'r', expiresIn: 3 * HOUR + 10 * MINUTE })]), NOW);
    expect(result.actions).toEqual([
      {
        kind: 'renew',
        swarmingHost: HOST,
        group: GROUP,
        image: IMAGE,
        leaseId: 'r',
        reason: 'expiring',
        durationSeconds: 82_800,
        detail: 'expires in 3h10m',
      },
    ]);
  });

  it('gives every action one readable clause', () => {
    const leases = [lease({ id: 'd', bot: dead }), lease({ id: 'h' }), lease({ id: 'm', bot: null, createdAgo: 2 * HOUR + 10 * MINUTE })];
    const result = plan(config({ groups: [{ count: 3 }], policy: ALL_AT_ONCE }), observation(leases), NOW);
    expect(result.actions.map((a) => a.detail)).toEqual([
      'bot dead, last seen 45m ago',
      'no bot 2h10m after creation',
      'group darwin-amd64-14 has 1 of 3 current leases',
      'group darwin-amd64-14 has 1 of 3 current leases',
    ]);
  });

  it('explains every managed lease in a verdict, sorted by lease id, and no unmanaged one', () => {
    const leases = [
      lease({ id: 'z' }),
      lease({ id: 'u', host: null }),
      lease({ id: 'b', bot: null, createdAgo: 5 * MINUTE }),
      lease({ id: 'a', image: OLD_IMAGE, bot: { taskId: 't9' } }),
    ];
    const result = plan(config(), observation(leases), NOW);
    expect(result.verdicts.map((v) => [v.leaseId, v.state, v.current, v.note])).toEqual([
      ['a', 'healthy-busy', false, 'running task t9'],
      ['b', 'booting', true, 'no bot yet, 5m after creation'],
      ['z', 'healthy-idle', true, 'idle'],
    ]);
  });

  it('reports every configured group as it was before the pass acted', () => {
    const leases = [
      lease({ id: 'a' }),
      lease({ id: 'b', bot: busy }),
      lease({ id: 'c', bot: null, createdAgo: 5 * MINUTE }),
      lease({ id: 'd', bot: dead }),
      lease({ id: 'e', image: OLD_IMAGE, bot: { inMaintenance: true } }),
      // Busy, but in maintenance: not capacity, so not counted busy either (as `makemac status` counts it).
      lease({ id: 'f', bot: { inMaintenance: true, taskId: 't7' } }),
    ];
    const cfg = config({ groups: [{ count: 4 }, { host: HOST2, hostname: SECURITY, count: 2 }] });
    expect(plan(cfg, observation(leases), NOW).groups).toEqual([
      { swarmingHost: HOST2, group: SECURITY, image: IMAGE, desired: 2, leases: 0, healthy: 0, busy: 0, booting: 0, unhealthy: 0, outdated: 0, unknown: 0, rolloutHalted: false, backfillImage: null },
      { swarmingHost: HOST, group: GROUP, image: IMAGE, desired: 4, leases: 6, healthy: 2, busy: 1, booting: 1, unhealthy: 1, outdated: 1, unknown: 0, rolloutHalted: false, backfillImage: null },
    ]);
  });

  it.each([
    ['with a known good image', [outdated('o1'), outdated('o2')], OLD_IMAGE],
    ['with no healthy lease, so nothing to backfill on', [], null],
  ])('reports a halted group %s', (_name, old, backfillImage) => {
    const failed: LeaseSpec[] = [{ id: 'n1', bot: null, createdAgo: 2 * HOUR }, { id: 'n2', bot: null, createdAgo: 2 * HOUR }];
    const result = plan(config({ groups: [{ count: 2 }] }), observation([...failed, ...old].map(lease)), NOW);
    expect(result.groups[0]).toMatchObject({ group: GROUP, rolloutHalted: true, backfillImage });
  });
});

describe('attributeLease', () => {
  const cfg = config({
    groups: [
      { hostname: 'darwin-amd64-14', image: IMAGE },
      { hostname: 'darwin-arm64-15', image: OLD_IMAGE },
    ],
  });
  const groupOf = (spec: LeaseSpec) => {
    const attribution = attributeLease(cfg, lease(spec));
    return [attribution.group?.hostname ?? null, attribution.current];
  };

  it.each([
    ['its golang.hostname metadata names the group, whatever its image', { hostname: 'darwin-arm64-15', image: IMAGE }, ['darwin-arm64-15', false]],
    ['without metadata, its bot id prefix names the group', { hostname: null, image: OTHER_IMAGE, bot: { hostname: 'darwin-arm64-15' } }, ['darwin-arm64-15', false]],
    ['metadata naming no group falls through to the bot id prefix', { hostname: 'darwin-amd64-10', bot: { hostname: 'darwin-arm64-15' } }, ['darwin-arm64-15', false]],
    ['without metadata or a bot, the group running its image', { hostname: null, image: OLD_IMAGE, bot: null }, ['darwin-arm64-15', true]],
    ['nothing matching makes it an orphan', { hostname: null, image: OTHER_IMAGE, bot: null }, [null, false]],
    ['a host removed from config makes it an orphan', { host: 'old-swarm.example.com' }, [null, false]],
  ] as [string, LeaseSpec, unknown][])('%s', (_name, spec, expected) => {
    expect(groupOf(spec)).toEqual(expected);
  });
});

describe('classifyLease', () => {
  const cfg = config();
  const judge = (spec: LeaseSpec, blind: string | null = null) => {
    const l = lease(spec);
    const host = { host: HOST, blind: blind !== null, blindReason: blind, botCount: 1, latestSeenAt: NOW };
    const verdict = classifyLease(l, attributeLease(cfg, l), l.managedHost === HOST ? host : null, cfg.policy, NOW);
    return `${verdict.state}: ${verdict.note}`;
  };

  it.each([
    ['a blind host judges nothing', { bot: dead }, 'bot list failed', 'unknown: host chromium-swarm.appspot.com is blind: bot list failed'],
    ['no bot within boot grace', { bot: null, createdAgo: 59 * MINUTE }, null, 'booting: no bot yet, 59m after creation'],
    ['no bot at boot grace', { bot: null, createdAgo: 60 * MINUTE }, null, 'missing: no bot 1h after creation'],
    ['no bot and unknown age', { bot: null, createdAgo: null }, null, 'missing: no bot, created over 1h ago'],
    ['no bot on a retired host without a pool', { bot: null, host: 'old.example.com' }, null, 'unknown: host old.example.com is retired without a pool, so its bots are not listed'],
    ['silent for silentAfter, not yet marked dead', { bot: { lastSeenAgo: 3 * MINUTE } }, null, "dead: silent for 3m while its host's other bots report; Swarming has not marked it dead yet"],
    ['seen within silentAfter', { bot: { lastSeenAgo: 2 * MINUTE } }, null, 'healthy-idle: idle'],
    ['dead wins over quarantined and busy', { bot: { isDead: true, quarantined: true, taskId: 't' } }, null, 'dead: dead, last seen 1m ago'],
    ['quarantined and busy', { bot: { quarantined: true, taskId: 't' } }, null, 'quarantined: quarantined, running task t'],
    ['busy', { bot: busy }, null, 'healthy-busy: running task task-1'],
    ['idle in maintenance', { bot: { inMaintenance: true } }, null, 'healthy-idle: idle, in maintenance'],
  ] as [string, LeaseSpec, string | null, string][])('%s', (_name, spec, blind, expected) => {
    expect(judge(spec, blind)).toBe(expected);
  });
});
