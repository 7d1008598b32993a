// What the drills request, and how they tell a right answer from a wrong one. The drill origins
// (origin-process.mjs) name the path in every body, so a body from the wrong object is caught too.

/** A cacheable page: one of `keys` pages, so the cache holds a small working set. */
export const page = (n, keys = 20, prefix = "") => ({ path: `${prefix}/page/${n % keys}`, kind: "cacheable" });
/** An uncacheable answer (no-store): every request reaches an origin, so Outpost-Upstream says which. */
export const api = (n, keys = 50, prefix = "") => ({ path: `${prefix}/api/${n % keys}`, kind: "uncacheable" });

/** Half cacheable pages, half uncacheable API calls, interleaved. */
export function mixedTargets(n) {
  return n % 2 === 0 ? page(n >> 1) : api(n >> 1);
}

/** A 200 whose body is the object that was asked for. */
export function isCorrectAnswer(sample) {
  if (sample.status !== 200) return false;
  if (sample.kind === "cacheable") return sample.body.startsWith(`path=${sample.path}\n`);
  try {
    return JSON.parse(sample.body).path === sample.path;
  } catch {
    return false;
  }
}

/** Outpost's error shape: a JSON content type and {"error":{"code":...}}; returns the code or undefined. */
export function jsonErrorCode(sample) {
  if (!/^application\/json\b/.test(sample.contentType ?? "")) return undefined;
  try {
    const code = JSON.parse(sample.body)?.error?.code;
    return typeof code === "string" ? code : undefined;
  } catch {
    return undefined;
  }
}
