/**
 * Seeded randomness for the simulator: every draw comes from a stream named by the seed and a purpose, so a run is
 * reproducible, and two policies on the same trace see the same sequence of boot times and spot interruptions.
 */

/** A uniform draw in [0, 1). */
export type Random = () => number;

/** FNV-1a over the text: a stable 32-bit seed from a seed and a stream name. */
function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    value ^= text.charCodeAt(i);
    value = Math.imul(value, 0x01000193) >>> 0;
  }
  return value;
}

/** mulberry32: small, fast and good enough for simulation draws (not for anything secret). */
export function seededRandom(seed: number, stream = ""): Random {
  let state = hash(`${seed}/${stream}`);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box-Muller). */
export function normal(random: Random): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** An exponential draw with the given mean. */
export function exponential(random: Random, mean: number): number {
  return -Math.log(1 - random()) * mean;
}

/** A duration distribution in seconds, as data files state it. */
export type DurationDistribution =
  | { readonly kind: "fixed"; readonly seconds: number }
  | { readonly kind: "lognormal"; readonly medianSeconds: number; readonly sigma: number; readonly minSeconds?: number; readonly maxSeconds?: number };

/** One draw in milliseconds. */
export function drawDurationMs(distribution: DurationDistribution, random: Random): number {
  if (distribution.kind === "fixed") return distribution.seconds * 1000;
  const seconds = distribution.medianSeconds * Math.exp(distribution.sigma * normal(random));
  return Math.round(Math.min(distribution.maxSeconds ?? Infinity, Math.max(distribution.minSeconds ?? 0, seconds)) * 1000);
}
