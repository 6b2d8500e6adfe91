// The machine-readable decision record that `--plan-out` writes: what was seen, the verdict on
// every managed lease, and every action with its outcome, deferral or refusal. No lease
// metadata is copied into it, so it holds no secrets.
import type { PassResult } from './pass';

export function decisionRecord(result: PassResult) {
  const { summary, plan, outcomes } = result;
  return {
    passId: summary.passId,
    startedAt: summary.startedAt,
    dryRun: summary.dryRun,
    outcome: summary.outcome,
    failures: summary.failures,
    observed: summary.observed,
    blindHosts: summary.blindHosts,
    brakes: summary.brakes,
    verdicts: plan?.verdicts ?? [],
    actions: outcomes.map((o) => ({
      ...o.action,
      outcome: o.outcome,
      attempts: o.attempts,
      ...(o.createdLeaseId ? { createdLeaseId: o.createdLeaseId } : {}),
      ...(o.error !== undefined ? { error: o.error } : {}),
    })),
    deferred: plan?.deferred ?? [],
    refused: plan?.refused ?? [],
    groups: summary.groups,
    apiCalls: summary.apiCalls,
    soonestExpiryHours: summary.soonestExpiryHours,
  };
}
