// Each configured group's counts before the pass acts: the decision record, group.status
// entries and the capacity alert read them.
import type { Config, Group } from '../config/schema';
import type { RolloutHalt } from './rollout-halt';
import type { Subject } from './subject';
import { configuredGroups } from './subject';
import type { GroupStatus } from './types';
import { VERDICTS } from './vocabulary';

type GroupMember = Pick<Subject, 'attribution' | 'verdict' | 'capacity'>;

/** Counts by verdict bucket (see VERDICTS); also used by the simulator's Go makemac emulation. */
export function groupStatuses(
  config: Config,
  subjects: readonly GroupMember[],
  halts: ReadonlyMap<Group, RolloutHalt> = new Map(),
): GroupStatus[] {
  return configuredGroups(config).map(({ server, group }) => {
    const members = subjects.filter((s) => s.attribution.group === group);
    const count = (predicate: (s: GroupMember) => boolean) => members.filter(predicate).length;
    const inBucket = (bucket: (typeof VERDICTS)[keyof typeof VERDICTS]['bucket']) =>
      count((s) => VERDICTS[s.verdict.state].bucket === bucket);
    return {
      swarmingHost: server.host,
      group: group.hostname,
      image: group.image,
      desired: group.count,
      leases: members.length,
      healthy: count((s) => s.capacity),
      // Of the healthy capacity: a bot in maintenance is neither, whatever it runs.
      busy: count((s) => s.capacity && s.verdict.state === 'healthy-busy'),
      booting: inBucket('booting'),
      unhealthy: inBucket('unhealthy'),
      outdated: count((s) => !s.verdict.current),
      unknown: inBucket('unknown'),
      rolloutHalted: halts.has(group),
      backfillImage: halts.get(group)?.knownGoodImage ?? null,
    };
  });
}
