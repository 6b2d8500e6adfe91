// The rollout halt, with no state outside the fleet: the leases of a group's image that never
// booted are the evidence. One failure may be bad luck (a few percent of boots fail): it is
// vacated as `missing` and replaced, as ever. Two at once, with none of the image's leases
// healthy, halt the rollout: old capacity is no longer destroyed, the failures are kept as
// evidence, and the group is backfilled on its last known good image.
import type { Config, Group, Policy } from '../config/schema';
import { compareStrings } from '../fleet';
import { surgeOf } from './limits';
import { byAge, shortImage, type Subject } from './subject';
import { VERDICTS } from './vocabulary';

/** Failed boots of one image that make it bad rather than unlucky. */
const FAILURES_TO_HALT = 2;

export interface RolloutHalt {
  /** Leases of the group's image that never booted, kept unrenewed so the halt outlives this pass. */
  evidence: ReadonlySet<string>;
  /** The image most of the group's healthy leases run; null when none is healthy (nothing to backfill on). */
  knownGoodImage: string | null;
  detail: string;
}

/**
 * Groups two or more of whose image's leases failed to boot (`missing`) while none is healthy.
 * The halt ends by itself: when a lease of the image turns healthy, when the evidence expires
 * (at most 24h after its creation; it is never renewed), or when the operator changes the
 * image (the failed leases, no longer evidence of the group's image, are vacated as missing).
 */
export function rolloutHalts(config: Config, subjects: readonly Subject[]): Map<Group, RolloutHalt> {
  const halts = new Map<Group, RolloutHalt>();
  for (const server of config.swarming) {
    for (const group of server.groups) {
      const members = subjects.filter((s) => s.attribution.group === group && !s.blind);
      const halt = haltOf(group, members, config.policy);
      if (halt) halts.set(group, halt);
    }
  }
  return halts;
}

function haltOf(group: Group, members: readonly Subject[], policy: Policy): RolloutHalt | null {
  const ofImage = members.filter((s) => s.verdict.current);
  const failed = ofImage.filter((s) => s.verdict.state === 'missing');
  if (failed.length < FAILURES_TO_HALT || ofImage.some((s) => VERDICTS[s.verdict.state].bucket === 'healthy')) return null;
  // The youngest failures are kept: they expire last, so the halt holds longest before a retry.
  const evidence = [...failed].sort(byAge).slice(0, Math.max(FAILURES_TO_HALT, surgeOf(policy, group.count)));
  const knownGoodImage = mostCommonImage(members.filter((s) => s.capacity));
  const image = shortImage(group.image);
  return {
    evidence: new Set(evidence.map((s) => s.lease.leaseId)),
    knownGoodImage,
    detail:
      knownGoodImage === null
        ? `image ${image} of group ${group.hostname} has not booted (${failed.length} failed) and no lease of the group is healthy: no known good image to backfill on`
        : `image ${image} of group ${group.hostname} has not booted (${failed.length} failed): rollout halted, backfilling on ${shortImage(knownGoodImage)}`,
  };
}

function mostCommonImage(healthy: readonly Subject[]): string | null {
  const counts = new Map<string, number>();
  for (const subject of healthy) counts.set(subject.lease.image, (counts.get(subject.lease.image) ?? 0) + 1);
  let best: string | null = null;
  for (const [image, count] of counts) {
    const bestCount = best === null ? 0 : counts.get(best)!;
    if (count > bestCount || (count === bestCount && best !== null && compareStrings(image, best) < 0)) best = image;
  }
  return best;
}
