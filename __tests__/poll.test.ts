import { nextPassAt } from "../lambdas/autoscaler/poll";

/**
 * An invocation's passes: every poll interval from its start for EventBridge's one-minute rate, the interval
 * cluster-autoscaler's --scan-interval (FAQ, "What are the parameters to CA?": 10 seconds) by default.
 */
const START = 1_700_000_000_000;
const DEADLINE = START + 240_000;

/** The passes of an invocation whose passes each take `passMs`. */
function passes(pollMs: number, passMs: (index: number) => number, deadline = DEADLINE): number[] {
  const offsets: number[] = [];
  for (let at: number | undefined = START; at !== undefined; at = nextPassAt(START, at + passMs(offsets.length - 1), pollMs, deadline)) offsets.push(at - START);
  return offsets;
}

test("quick passes run every poll interval for the minute, the last one before the next invocation's tick", () => {
  expect(passes(10_000, () => 300)).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000]);
  expect(passes(15_000, () => 0)).toEqual([0, 15_000, 30_000, 45_000]);
  expect(passes(30_000, () => 29_999)).toEqual([0, 30_000]);
});

test("a pass that outlasts the interval (a drain) is followed by the next grid point, not by the passes it missed", () => {
  // The second pass drains for 25 s: the passes at 20 s and 30 s are not run late, one after the other.
  expect(passes(10_000, (index) => (index === 1 ? 25_000 : 500))).toEqual([0, 10_000, 40_000, 50_000]);
  // A pass ending exactly on a grid point leaves that point to the next interval: no pass starts in the same instant.
  expect(nextPassAt(START, START + 10_000, 10_000, DEADLINE)).toBe(START + 20_000);
  // One that runs past the minute ends the invocation.
  expect(passes(10_000, (index) => (index === 0 ? 61_000 : 0))).toEqual([0]);
});

test("0 runs one pass; no pass starts inside the 20 s a drain keeps before the function's deadline (run.ts)", () => {
  expect(passes(0, () => 0)).toEqual([0]);
  // Nothing but a positive interval polls: a negative one would step back in time, a missing one (NaN) nowhere.
  for (const interval of [-10_000, Number.NaN]) expect(nextPassAt(START, START, interval, DEADLINE)).toBeUndefined();
  expect(passes(10_000, () => 0, START + 45_000)).toEqual([0, 10_000, 20_000]);
  expect(nextPassAt(START, START + 15_000, 10_000, START + 40_001)).toBe(START + 20_000);
  expect(nextPassAt(START, START + 15_000, 10_000, START + 40_000)).toBeUndefined();
});
