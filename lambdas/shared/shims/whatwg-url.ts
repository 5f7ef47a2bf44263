// node-fetch 2 (under @kubernetes/client-node) falls back to whatwg-url only where Node has no URL class; Node 22
// always has one, so the bundle gets this stand-in instead of whatwg-url's 260 KB of Unicode tables.
export const URL = globalThis.URL;
export const URLSearchParams = globalThis.URLSearchParams;
export default { URL, URLSearchParams };
