/** Kubernetes resource quantities ("250m", "1.5", "512Mi", "1G") as plain numbers. */

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const QUANTITY = /^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;

/** The quantity in base units; throws on text that is not a quantity. */
export function parseQuantity(text: string): number {
  const match = QUANTITY.exec(text);
  if (!match) throw new Error(`not a Kubernetes quantity: "${text}"`);
  const suffix = match[2] ?? "";
  return Number(match[1]) * (BINARY[suffix] ?? DECIMAL[suffix]);
}

/** CPU in millicores, rounded up as the scheduler does. */
export function cpuMillis(text: string | undefined): number {
  return text === undefined ? 0 : Math.ceil(parseQuantity(text) * 1000 - 1e-9);
}

/** Memory in bytes. */
export function memoryBytes(text: string | undefined): number {
  return text === undefined ? 0 : Math.ceil(parseQuantity(text));
}
