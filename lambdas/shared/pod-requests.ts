/**
 * The requests the scheduler reserves for a pod, in one place for the Kubernetes adapter (every pod the Lambdas read)
 * and its tests. No client types here: this module is plain data in, plain data out.
 */
import type { Resources } from "./kube-model";

/** One container's requests as plain data; `sidecar` marks an init container with restartPolicy Always. */
export interface ContainerRequests {
  readonly requests: Resources;
  readonly sidecar?: boolean;
}

const ZERO: Resources = { cpuMillis: 0, memoryBytes: 0 };
const plus = (a: Resources, b: Resources): Resources => ({ cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes });
const larger = (a: Resources, b: Resources): Resources => ({ cpuMillis: Math.max(a.cpuMillis, b.cpuMillis), memoryBytes: Math.max(a.memoryBytes, b.memoryBytes) });

/**
 * A pod's effective requests, per resource (k8s.io/component-helpers resource/helpers.go PodRequests, KEP-753):
 * regular containers and native sidecars run together for the pod's life, so they add up; each ordinary init container
 * runs alone beside the sidecars started before it, so only the largest such moment counts; a pod-level request
 * (spec.resources, KEP-2837) replaces the containers' sum for its resource; pod overhead (RuntimeClass) comes on top.
 */
export function effectiveRequests(containers: ContainerRequests[], initContainers: ContainerRequests[], overhead: Resources = ZERO, podLevel: Partial<Resources> = {}): Resources {
  let running = containers.reduce((sum, container) => plus(sum, container.requests), ZERO);
  let sidecars = ZERO;
  let initPeak = ZERO;
  for (const init of initContainers) {
    if (init.sidecar) {
      running = plus(running, init.requests);
      sidecars = plus(sidecars, init.requests);
      initPeak = larger(initPeak, sidecars);
    } else {
      initPeak = larger(initPeak, plus(init.requests, sidecars));
    }
  }
  const containersNeed = larger(running, initPeak);
  return plus({ cpuMillis: podLevel.cpuMillis ?? containersNeed.cpuMillis, memoryBytes: podLevel.memoryBytes ?? containersNeed.memoryBytes }, overhead);
}
