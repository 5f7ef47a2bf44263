import type { Resources } from "../lambdas/shared/kube-model";
import { effectiveRequests } from "../lambdas/shared/pod-requests";

const MiB = 2 ** 20;
const r = (cpuMillis: number, memoryMiB = 0): Resources => ({ cpuMillis, memoryBytes: memoryMiB * MiB });

describe("effective pod requests (k8s.io/component-helpers resource/helpers.go PodRequests, KEP-753 sidecars)", () => {
  test.each<[string, Parameters<typeof effectiveRequests>, Resources]>([
    ["containers add up", [[{ requests: r(100, 64) }, { requests: r(200, 128) }], [], r(0)], r(300, 192)],
    ["an ordinary init container larger than the containers sets the request", [[{ requests: r(100, 64) }], [{ requests: r(500, 32) }], r(0)], r(500, 64)],
    ["init containers run one at a time: the largest counts, not the sum", [[{ requests: r(100) }], [{ requests: r(400) }, { requests: r(300) }], r(0)], r(400)],
    ["a native sidecar runs with the containers, so it adds", [[{ requests: r(100, 64) }], [{ requests: r(50, 32), sidecar: true }], r(0)], r(150, 96)],
    ["an init container after a sidecar runs beside it", [[{ requests: r(100) }], [{ requests: r(200), sidecar: true }, { requests: r(500) }], r(0)], r(700)],
    ["an init container before a sidecar runs alone", [[{ requests: r(100) }], [{ requests: r(500) }, { requests: r(200), sidecar: true }], r(0)], r(500)],
    ["pod overhead comes on top", [[{ requests: r(100, 64) }], [], r(250, 120)], r(350, 184)],
    ["a pod-level request replaces the containers' for its resource only, and overhead still comes on top", [[{ requests: r(100, 64) }, { requests: r(100, 64) }], [{ requests: r(900) }], r(10, 1), { cpuMillis: 500 }], r(510, 129)],
    ["pod-level requests of both resources replace both", [[{ requests: r(100, 64) }], [], r(0), { cpuMillis: 2000, memoryBytes: 4096 * MiB }], r(2000, 4096)],
  ])("%s", (_name, args, expected) => expect(effectiveRequests(...args)).toEqual(expected));
});
