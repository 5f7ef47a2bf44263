/**
 * Whether a pod lets its node be removed, by cluster-autoscaler's rules in their order
 * (cluster-autoscaler/simulator/drainability/rules/rules.go Default): the first rule with a verdict decides.
 */
import type { PodInfo } from "../../shared/cluster";
import { daemonSet, disruptionBudgets, DrainContext, DrainDecision, DrainRule, localStorage, longTerminating, mirror, notSafeToEvict, replicated, safeToEvict, system, terminal } from "./rules";

export type { DrainContext, DrainDecision, DrainOutcome } from "./rules";

/** Pods these settle need no room elsewhere and cannot hold the node. */
const SETTLING: DrainRule[] = [mirror, longTerminating, daemonSet, terminal];
/** The blocking checks, in rules.go's order. */
const BLOCKING: DrainRule[] = [replicated, system, notSafeToEvict, localStorage, disruptionBudgets];
/**
 * safe-to-evict "true" ends rules.go's chain before the blocking checks, but cluster-autoscaler still checks the
 * budgets of every pod it moves (simulator/drain.go GetPodsToMove, RemainingPdbTracker), as the eviction API will.
 */
const BLOCKING_DESPITE_CONSENT: DrainRule[] = [disruptionBudgets];

const firstVerdict = (rules: DrainRule[], pod: PodInfo, context: DrainContext) => rules.reduce<DrainDecision | undefined>((verdict, rule) => verdict ?? rule(pod, context), undefined);

export function drainDecision(pod: PodInfo, context: DrainContext): DrainDecision {
  const settled = firstVerdict(SETTLING, pod, context);
  if (settled) return settled;
  const consent = safeToEvict(pod, context);
  const blocked = firstVerdict(consent ? BLOCKING_DESPITE_CONSENT : BLOCKING, pod, context);
  return blocked ?? consent ?? { outcome: "move", reason: `${pod.namespace}/${pod.name} can be evicted and recreated elsewhere` };
}
