import { Intrinsic } from "cdktf/lib/tokens/private/intrinsic";

// __tests__/support/plain-token-traces.ts (loaded by setup.ts): cdktf's token traces unmapped, errors' traces mapped.

interface Typed {
  readonly value: number;
}

test("an error's trace still names the TypeScript line it was thrown from", () => {
  const typed: Typed = { value: 1 };
  const error = new Error(`thrown with ${typed.value}`); // line 11 of this file in TypeScript
  expect(error.stack).toContain("plain-token-traces.test.ts:11:");
});

test("cdktf still records where a token was created, frame by frame", () => {
  const stack = new Intrinsic("value").creationStack;
  expect(stack.length).toBeGreaterThan(3);
  expect(stack.some((frame) => frame.includes("plain-token-traces.test.ts"))).toBe(true);
  expect(stack.every((frame) => !frame.startsWith("at "))).toBe(true);
});

test("a trace captured on an object without a prototype does not throw", () => {
  const target = Object.create(null) as { stack?: string };
  Error.captureStackTrace(target);
  expect(target.stack).toMatch(/^Trace\n {4}at /);
});
