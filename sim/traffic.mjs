// The world's traffic: a catalogue of objects with realistic freshness lifetimes, requested with
// Zipf popularity, at per-location rates (Poisson arrivals), with a share of uncacheable (/api/*,
// no-store) and personalised (a session cookie, which the route bypasses) requests. Seeded, so two
// runs of one scenario send the same requests in the same order.

/** Object classes: share of the catalogue, TTL (production seconds; the origin divides by the scale), size. */
export const OBJECT_CLASSES = [
  { name: "page", share: 0.2, ttlSeconds: 60, bytes: 6_000, contentType: "text/html; charset=utf-8" },
  { name: "feed", share: 0.1, ttlSeconds: 300, bytes: 3_000, contentType: "application/json" },
  { name: "image", share: 0.3, ttlSeconds: 3_600, bytes: 12_000, contentType: "image/webp" },
  { name: "asset", share: 0.4, ttlSeconds: 86_400, bytes: 9_000, contentType: "text/javascript" },
];
const API_CLASS = { name: "api", ttlSeconds: 0, bytes: 400, contentType: "application/json" };

export const DEFAULT_MIX = { zipfExponent: 1.0, uncacheableShare: 0.05, personalisedShare: 0.05 };

/** Small, fast, seeded PRNG (mulberry32). */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** FNV-1a of `text`: a path's stable pseudo-random number. */
export function hashString(text) {
  let hash = 2_166_136_261;
  for (let index = 0; index < text.length; index += 1) hash = Math.imul(hash ^ text.charCodeAt(index), 16_777_619);
  return hash >>> 0;
}

/** The class of an object: /c/<class>/<n> names it, /api/* is uncacheable, other paths pick one by hash. */
export function classForPath(pathname) {
  if (pathname.startsWith("/api/")) return API_CLASS;
  const named = /^\/c\/([a-z]+)\//.exec(pathname);
  const found = named && OBJECT_CLASSES.find((objectClass) => objectClass.name === named[1]);
  if (found) return found;
  const roll = (hashString(pathname) % 1000) / 1000;
  let sum = 0;
  for (const objectClass of OBJECT_CLASSES) {
    sum += objectClass.share;
    if (roll < sum) return objectClass;
  }
  return OBJECT_CLASSES.at(-1);
}

/** The catalogue: object n (rank n in popularity) gets a class by its share, deterministically. */
export function buildCatalogue(size, random = seededRandom(7)) {
  return Array.from({ length: size }, (_, rank) => {
    let roll = random();
    const objectClass = OBJECT_CLASSES.find((candidate) => (roll -= candidate.share) < 0) ?? OBJECT_CLASSES.at(-1);
    return `/c/${objectClass.name}/${rank}`;
  });
}

/** Zipf sampler over ranks 0..size-1: P(rank k) proportional to 1 / (k + 1)^exponent. */
export function zipfSampler(size, exponent, random) {
  const cumulative = new Float64Array(size);
  let sum = 0;
  for (let rank = 0; rank < size; rank += 1) {
    sum += 1 / (rank + 1) ** exponent;
    cumulative[rank] = sum;
  }
  return () => {
    const target = random() * sum;
    let low = 0;
    let high = size - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (cumulative[middle] < target) low = middle + 1;
      else high = middle;
    }
    return low;
  };
}

/**
 * The world's requests for a run: [{ at (ms from start, real time), colo, method, url, headers }],
 * sorted by time. `rates` maps each colo to requests per real second.
 */
export function generateWorldRequests({ colos, rates, durationMs, catalogue, mix = DEFAULT_MIX, seed = 1 }) {
  const random = seededRandom(seed);
  const pick = zipfSampler(catalogue.length, mix.zipfExponent, random);
  const requests = [];
  for (const colo of colos) {
    const rate = rates[colo];
    if (!(rate > 0)) continue;
    let at = 0;
    for (;;) {
      at += (-Math.log(1 - random()) / rate) * 1000;
      if (at >= durationMs) break;
      const roll = random();
      if (roll < mix.uncacheableShare) {
        requests.push({ at, colo, method: "GET", url: `/api/cart/${Math.floor(random() * 1000)}`, headers: {} });
      } else if (roll < mix.uncacheableShare + mix.personalisedShare) {
        requests.push({ at, colo, method: "GET", url: catalogue[pick()], headers: { cookie: `session=${Math.floor(random() * 1e6)}` } });
      } else {
        requests.push({ at, colo, method: "GET", url: catalogue[pick()], headers: {} });
      }
    }
  }
  return requests.sort((a, b) => a.at - b.at);
}
