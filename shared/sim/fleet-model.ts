// The simulated fleet's dynamics on a virtual clock: what the VMs and their bots do between
// passes. Leases created through the fake MacService boot (or never do), their bots connect to
// the Swarming host named in their metadata, run tasks, reboot, die, get quarantined; leases that
// are not renewed expire; a vacated or expired lease's bot goes silent, is marked dead, then
// disappears. Every random number comes from a seeded PRNG, so a seed replays the same world.
import { taggedHost, METADATA } from '../fleet';
import type { MacServiceFake } from './macservice-fake';
import { DEATH_TIMEOUT_SECONDS } from './swarming-fake';
import { macBotDimensions, type World, type WorldBot, type WorldLease } from './world';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;

/** Swarming marks a bot dead after this long without contact: the death timeout its fake reports. */
const SWARMING_DEATH_TIMEOUT_MS = DEATH_TIMEOUT_SECONDS * 1000;
/** A dead bot whose VM is gone is dropped from the bot list after this long. */
const GONE_BOT_RETENTION_MS = 2 * HOUR_MS;
/** The model moves in steps of this size. */
const STEP_MS = MINUTE_MS;

/** A virtual clock: the world, the fakes and the passes all read it. */
export class VirtualClock {
  constructor(public now: number) {}

  /** A pass's retry backoff: the clock jumps ahead at once instead of waiting. */
  readonly sleep = async (ms: number): Promise<void> => {
    this.now += ms;
  };
}

/** mulberry32: a tiny, fast, seedable PRNG with a 2^32 period; plenty for a simulation. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Independent streams from one seed, so adding draws to one part does not shift another. */
export function rngStream(seed: number, stream: string): () => number {
  let hash = 2_166_136_261;
  for (const char of `${seed}:${stream}`) hash = Math.imul(hash ^ char.charCodeAt(0), 16_777_619);
  return mulberry32(hash);
}

export interface FleetDynamics {
  /** Boot time is log-normal: this median, this log-space spread, clamped to [min, max]. */
  bootMedianMs: number;
  bootSigma: number;
  bootMinMs: number;
  bootMaxMs: number;
  /** Share of new leases whose VM never connects a bot. */
  bootFailureRate: number;
  /** Images whose VMs never boot. */
  badImages: ReadonlySet<string>;
  /** Per live bot per hour: the VM hangs for good (its bot goes silent, then dead). */
  deathPerHour: number;
  /** Per idle bot per hour: the VM reboots; Swarming shows the bot dead for a while, then it is back. */
  rebootPerHour: number;
  rebootMinMs: number;
  rebootMaxMs: number;
  /** Per live bot per hour: the bot quarantines itself and stays so. */
  quarantinePerHour: number;
  /** Long-run share of live bots running a task. */
  busyFraction: number;
  taskMinMs: number;
  taskMaxMs: number;
}

/** Rates of a real fleet, roughly: a few failed boots in a hundred, a death every couple of weeks per VM. */
export const REALISTIC_DYNAMICS: FleetDynamics = {
  bootMedianMs: 12 * MINUTE_MS,
  bootSigma: 0.4,
  bootMinMs: 5 * MINUTE_MS,
  bootMaxMs: 45 * MINUTE_MS,
  bootFailureRate: 0.03,
  badImages: new Set(),
  deathPerHour: 0.003,
  rebootPerHour: 0.004,
  rebootMinMs: 12 * MINUTE_MS,
  rebootMaxMs: 25 * MINUTE_MS,
  quarantinePerHour: 0.0008,
  busyFraction: 0.5,
  taskMinMs: 10 * MINUTE_MS,
  taskMaxMs: 70 * MINUTE_MS,
};

/** Nothing random happens: every boot succeeds after the median, no bot ever fails. */
export const QUIET_DYNAMICS: FleetDynamics = {
  ...REALISTIC_DYNAMICS,
  bootSigma: 0,
  bootFailureRate: 0,
  deathPerHour: 0,
  rebootPerHour: 0,
  quarantinePerHour: 0,
  busyFraction: 0,
};

/** What the model knows about one lease's VM. */
interface VmState {
  lease: WorldLease;
  host: string;
  hostname: string;
  botId: string;
  /** When the bot first connects; null: never. */
  bootAt: number | null;
  bot: WorldBot | null;
  /** The bot stopped talking at this time (hung, rebooting, or its VM is gone). */
  silentSince: number | null;
  /** A reboot ends then; null while silent means for good. */
  silentUntil: number | null;
  /** The model's own task ends then; null for a task the model did not start (it never ends). */
  taskEndsAt: number | null;
  /** The lease left the world (vacated or expired) at this time. */
  goneAt: number | null;
}

export interface FleetModelOptions {
  world: World;
  clock: VirtualClock;
  seed: number;
  dynamics: FleetDynamics;
  /** Swarming pool of each host, for the bots' dimensions. */
  pools: Readonly<Record<string, string>>;
}

export interface ExpiredLease {
  leaseId: string;
  projectName: string;
  at: number;
  /** Its VM's bot had connected: a lease that served, not one that never booted. */
  booted: boolean;
}

export class FleetModel {
  readonly world: World;
  readonly clock: VirtualClock;
  readonly dynamics: FleetDynamics;
  /** Managed and unmanaged leases the world dropped because nobody renewed them. */
  readonly expired: ExpiredLease[] = [];
  /** Tasks cut short because their lease was vacated or expired under them. */
  interruptedTasks = 0;
  private readonly vms = new Map<string, VmState>();
  private readonly pools: Readonly<Record<string, string>>;
  private readonly bootRng: () => number;
  private readonly lifeRng: () => number;
  private readonly idRng: () => number;
  private lastStep: number;
  private taskCounter = 0;

  constructor(options: FleetModelOptions) {
    this.world = options.world;
    this.clock = options.clock;
    this.dynamics = options.dynamics;
    this.pools = options.pools;
    this.bootRng = rngStream(options.seed, 'boot');
    this.lifeRng = rngStream(options.seed, 'life');
    this.idRng = rngStream(options.seed, 'lease-id');
    this.lastStep = options.clock.now;
  }

  /** Schedules the boot of every lease the fake creates. */
  attach(fake: Pick<MacServiceFake, 'onCreate'>): void {
    fake.onCreate = (lease) => this.track(lease, this.drawBootAt(lease));
  }

  /**
   * A UUID-shaped id (lowercase hex, as bot ids need) from the seeded stream, for seeded leases
   * and, as the fake's `newLeaseId`, created ones: the same seed gives the same ids and so the
   * same sort order.
   */
  newLeaseId(): string {
    const hex = Array.from({ length: 32 }, () => Math.floor(this.idRng() * 16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }

  /**
   * Follows a lease's VM from now on. `bootAt`: when its bot connects (null: never); `bot`
   * overrides the connected bot's fields; `taskEndsAt` ends a task set there (else it runs on).
   * Leases without `golang.swarming`/`golang.hostname` metadata get no bot.
   */
  track(
    lease: WorldLease,
    bootAt: number | null,
    options: { bot?: Partial<WorldBot>; taskEndsAt?: number } = {},
  ): void {
    const host = this.world.metadataValue(lease, METADATA.swarming);
    const hostname = this.world.metadataValue(lease, METADATA.hostname);
    if (host === undefined || hostname === undefined) return;
    const state: VmState = {
      lease,
      host,
      hostname,
      botId: `${hostname}--${lease.leaseId}.${lease.customerName}.c3.macservice.goog`,
      bootAt,
      bot: null,
      silentSince: null,
      silentUntil: null,
      taskEndsAt: null,
      goneAt: null,
    };
    this.vms.set(lease.leaseId, state);
    if (bootAt !== null && bootAt <= this.clock.now) this.connect(state, bootAt, options.bot);
    if (options.taskEndsAt !== undefined) state.taskEndsAt = options.taskEndsAt;
  }

  /** Its bot is connected, talking and not quarantined: it can take tasks right now. */
  isServing(leaseId: string): boolean {
    const vm = this.vms.get(leaseId);
    return vm?.bot != null && vm.goneAt === null && vm.silentSince === null && !vm.bot.quarantined;
  }

  /** Makes a bot silent from `since` (for good, or until `until`), as a hung or rebooting VM. */
  silence(leaseId: string, since: number, until: number | null = null): void {
    const vm = this.vms.get(leaseId);
    if (!vm?.bot) return;
    vm.silentSince = since;
    vm.silentUntil = until;
    vm.bot.lastSeenAt = since;
    vm.bot.taskId = '';
    vm.bot.taskName = '';
    vm.taskEndsAt = null;
    if (this.clock.now - since >= SWARMING_DEATH_TIMEOUT_MS) vm.bot.isDead = true;
  }

  /** Moves the world forward to `to` in STEP_MS steps. */
  advanceTo(to: number): void {
    for (let t = this.lastStep + STEP_MS; t <= to; t += STEP_MS) {
      this.clock.now = t;
      this.step(t);
      this.lastStep = t;
    }
    this.clock.now = Math.max(this.clock.now, to);
  }

  private step(t: number): void {
    for (const id of this.world.expireLeases()) {
      const vm = this.vms.get(id);
      this.expired.push({ leaseId: id, projectName: vm?.lease.projectName ?? '', at: t, booted: vm?.bot != null });
    }
    const d = this.dynamics;
    const perStep = (perHour: number) => perHour * (STEP_MS / HOUR_MS);
    // An idle bot starts a task at this rate, so that busy ÷ (busy + idle) tends to busyFraction.
    const meanTaskMs = (d.taskMinMs + d.taskMaxMs) / 2;
    const taskStart = d.busyFraction >= 1 ? 1 : (d.busyFraction / (1 - d.busyFraction)) * (STEP_MS / meanTaskMs);

    for (const [id, vm] of this.vms) {
      if (vm.goneAt === null && this.world.leases.get(id) !== vm.lease) {
        // Vacated or expired: the VM is gone, and with it any task it ran.
        vm.goneAt = t;
        if (vm.bot && vm.bot.taskId !== '' && vm.silentSince === null) this.interruptedTasks += 1;
        if (vm.bot && vm.silentSince === null) this.silence(id, t - STEP_MS);
        vm.silentUntil = null;
      }
      if (vm.bot === null) {
        if (vm.goneAt === null && vm.bootAt !== null && vm.bootAt <= t) this.connect(vm, vm.bootAt);
        if (vm.goneAt !== null) this.vms.delete(id);
        continue;
      }
      const bot = vm.bot;
      if (vm.silentSince !== null) {
        if (vm.silentUntil !== null && t >= vm.silentUntil) {
          vm.silentSince = null;
          vm.silentUntil = null;
          bot.isDead = false;
          bot.lastSeenAt = t;
        } else {
          if (t - vm.silentSince >= SWARMING_DEATH_TIMEOUT_MS) bot.isDead = true;
          if (vm.goneAt !== null && t - vm.goneAt >= GONE_BOT_RETENTION_MS) {
            this.world.removeBot(vm.host, vm.botId);
            this.vms.delete(id);
          }
          continue;
        }
      }
      bot.lastSeenAt = t;
      if (vm.taskEndsAt !== null && t >= vm.taskEndsAt) {
        bot.taskId = '';
        bot.taskName = '';
        vm.taskEndsAt = null;
      }
      const busy = bot.taskId !== '';
      // Draw every event every step, whether it can happen or not, so one bot's state does
      // not shift the numbers every later bot gets.
      const [die, reboot, quarantine, start, length] = [this.lifeRng(), this.lifeRng(), this.lifeRng(), this.lifeRng(), this.lifeRng()];
      if (die < perStep(d.deathPerHour)) {
        this.silence(id, t);
      } else if (!busy && reboot < perStep(d.rebootPerHour)) {
        this.silence(id, t, t + d.rebootMinMs + length * (d.rebootMaxMs - d.rebootMinMs));
      } else {
        if (!bot.quarantined && quarantine < perStep(d.quarantinePerHour)) bot.quarantined = true;
        if (!busy && !bot.quarantined && start < taskStart) {
          this.taskCounter += 1;
          bot.taskId = `${(0x6a000000 + this.taskCounter).toString(16)}10`;
          bot.taskName = `golang-ci-${this.taskCounter}`;
          vm.taskEndsAt = t + d.taskMinMs + length * (d.taskMaxMs - d.taskMinMs);
        }
      }
    }
  }

  /** When a new lease's bot will connect, or null when its VM never boots. */
  private drawBootAt(lease: WorldLease): number | null {
    const d = this.dynamics;
    // Both draws always happen, so a bad image does not shift later leases' numbers.
    const [fail, u1, u2] = [this.bootRng(), this.bootRng(), this.bootRng()];
    if (d.badImages.has(lease.image) || fail < d.bootFailureRate) return null;
    const normal = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    const ms = d.bootMedianMs * Math.exp(d.bootSigma * normal);
    return lease.createdAt + Math.round(Math.min(d.bootMaxMs, Math.max(d.bootMinMs, ms)));
  }

  private connect(vm: VmState, at: number, overrides: Partial<WorldBot> = {}): void {
    const pool = this.pools[vm.host] ?? 'unknown-pool';
    vm.bot = this.world.addBot(vm.host, {
      botId: vm.botId,
      firstSeenAt: at,
      lastSeenAt: Math.max(at, this.clock.now),
      dimensions: botDimensions(pool, vm.hostname),
      ...overrides,
    });
  }
}

/** The dimensions a bot reports in `pool` when its VM's hostname prefix is `hostname`. */
export function botDimensions(pool: string, hostname: string): { key: string; value: string[] }[] {
  return macBotDimensions(pool, macOsVersion(hostname), hostname.includes('arm64') ? 'arm64' : 'x86-64');
}

/** The macOS version a hostname prefix such as `darwin-arm64-15-security` runs. */
function macOsVersion(hostname: string): string {
  const major = /^darwin-[a-z0-9]+-(\d+)/.exec(hostname)?.[1] ?? '14';
  const minor: Record<string, string> = { '11': '7', '12': '7', '13': '6', '14': '7', '15': '5', '26': '0' };
  return `${major}.${minor[major] ?? '0'}`;
}

/** Ground truth of one group, read from the world rather than through Swarming's API. */
export interface GroupTruth {
  host: string;
  hostname: string;
  image: string;
  desired: number;
  /** Managed leases that claim the group (by `golang.hostname`), any image. */
  leases: number;
  /** Of those, VMs whose bot is connected, talking and not quarantined: real capacity. */
  healthy: number;
  /** Healthy and on the group's image. */
  healthyCurrent: number;
  outdated: number;
}

/** Reads the world for each configured group. */
export function groupTruth(
  model: FleetModel,
  groups: readonly { host: string; hostname: string; image: string; count: number }[],
): GroupTruth[] {
  const byKey = new Map<string, GroupTruth>();
  const truths = groups.map((g) => {
    const truth: GroupTruth = { host: g.host, hostname: g.hostname, image: g.image, desired: g.count, leases: 0, healthy: 0, healthyCurrent: 0, outdated: 0 };
    byKey.set(`${g.host} ${g.hostname}`, truth);
    return truth;
  });
  for (const lease of model.world.leases.values()) {
    const host = taggedHost(lease.projectName);
    if (host === null) continue;
    const truth = byKey.get(`${host} ${model.world.metadataValue(lease, METADATA.hostname) ?? ''}`);
    if (!truth) continue;
    truth.leases += 1;
    const current = lease.image === truth.image;
    if (!current) truth.outdated += 1;
    if (model.isServing(lease.leaseId)) {
      truth.healthy += 1;
      if (current) truth.healthyCurrent += 1;
    }
  }
  return truths;
}
