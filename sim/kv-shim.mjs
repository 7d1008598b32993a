// Workers KV as it behaves in production, for the simulator's locations (docs/simulator.md states
// each rule with its source). One shared store in Node; every location reads and writes it through
// its own view. Time comes from an injected clock (`now()`, ms) and every KV duration is divided by
// `scale`, so the unit tests step across each boundary without sleeping and a scaled run keeps the
// ratios between KV's delays, the TTLs and the scenario's times.
//
// Rules modelled (defaults are production's):
// - Central store, cached per location: a read at a location is answered from that location's cache
//   while the cached copy is younger than cacheTtl (default 60 s, minimum 30 s); a miss reads the
//   central store and caches what it found, absence included (negative lookups are cached).
// - Propagation: a write is visible at once at the location that made it, and at other locations
//   (central reads) only `propagationMs` after it (default 60 s).
// - One write per second per key (put and delete alike): beyond it, 429 Too Many Requests.
// - Limits: key <= 512 bytes, value <= 25 MiB, metadata <= 1024 bytes (serialised), expirationTtl >= 60 s.
// - Expired keys read as absent and are not listed.
// - Faults: `failLocation(location, untilMs)` makes every call at that location fail with a 500.

export const KV_LIMITS = Object.freeze({
  keyBytes: 512,
  valueBytes: 25 * 1024 * 1024,
  metadataBytes: 1024,
  minExpirationTtlSeconds: 60,
  minCacheTtlSeconds: 30,
  defaultCacheTtlSeconds: 60,
  writesPerSecondPerKey: 1,
  listLimit: 1000,
});

export const DEFAULT_PROPAGATION_MS = 60_000;

/** An error the shim answers with: the status is what the worker-side binding throws on. */
export class KvError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const OPS = ["get", "put", "delete", "list"];

export class SimKv {
  /**
   * @param {{ now?: () => number, propagationMs?: number, scale?: number }} options
   * propagationMs is in unscaled (production) milliseconds; scale divides it like every KV duration.
   */
  constructor({ now = () => Date.now(), propagationMs = DEFAULT_PROPAGATION_MS, scale = 1 } = {}) {
    this.now = now;
    this.scale = scale;
    this.propagationMs = propagationMs;
    /** key -> versions, oldest first: { value: Uint8Array | null, metadata, expiresAt, writtenAt, visibleAt, location } */
    this.central = new Map();
    /** location -> key -> { version (or null: absent), cachedAt, ttlMs } */
    this.locationCaches = new Map();
    /** key -> time of the last accepted write (any location) */
    this.lastWriteAt = new Map();
    /** location -> failing until (ms) */
    this.failures = new Map();
    /** location -> { get, put, delete, list, cachedReads, negativeReads, rateLimited, errors, rejected } */
    this.counters = new Map();
  }

  /** A production duration in ms on this run's clock. */
  scaled(ms) {
    return ms / this.scale;
  }

  countersFor(location) {
    let counters = this.counters.get(location);
    if (!counters) {
      counters = { get: 0, put: 0, delete: 0, list: 0, cachedReads: 0, negativeReads: 0, rateLimited: 0, errors: 0, rejected: 0 };
      this.counters.set(location, counters);
    }
    return counters;
  }

  failLocation(location, untilMs) {
    this.failures.set(location, untilMs);
  }

  /** Counts the call, then throws when the location is failing. */
  enter(location, op) {
    const counters = this.countersFor(location);
    if (OPS.includes(op)) counters[op] += 1;
    const until = this.failures.get(location);
    if (until !== undefined && this.now() < until) {
      counters.errors += 1;
      throw new KvError(500, `KV ${op.toUpperCase()} failed: 500 Internal Server Error (simulated outage at ${location})`);
    }
    return counters;
  }

  /** The newest version the location can see: its own writes at once, others' after propagation. */
  visibleVersion(location, key, now) {
    const versions = this.central.get(key);
    if (!versions) return null;
    for (let index = versions.length - 1; index >= 0; index -= 1) {
      const version = versions[index];
      const visibleAt = version.location === location ? version.writtenAt : version.visibleAt;
      if (visibleAt <= now) return version;
    }
    return null;
  }

  isLive(version, now) {
    return version !== null && version.value !== null && (version.expiresAt === undefined || now < version.expiresAt);
  }

  /** get and getWithMetadata: { value, metadata } or null. `cacheTtl` in seconds (>= 30). */
  get(location, key, { cacheTtl } = {}) {
    const counters = this.enter(location, "get");
    this.checkKey(key, counters);
    if (cacheTtl !== undefined && !(cacheTtl >= KV_LIMITS.minCacheTtlSeconds)) {
      counters.rejected += 1;
      throw new KvError(400, `KV GET failed: 400 Invalid cache_ttl of ${cacheTtl}. Cache TTL must be at least ${KV_LIMITS.minCacheTtlSeconds}.`);
    }
    const now = this.now();
    const ttlMs = this.scaled((cacheTtl ?? KV_LIMITS.defaultCacheTtlSeconds) * 1000);
    const cache = this.cacheOf(location);
    const cached = cache.get(key);
    let version;
    if (cached && now - cached.cachedAt < cached.ttlMs) {
      counters.cachedReads += 1;
      version = cached.version;
    } else {
      version = this.visibleVersion(location, key, now);
      cache.set(key, { version, cachedAt: now, ttlMs });
    }
    if (!this.isLive(version, now)) {
      counters.negativeReads += 1;
      return null;
    }
    return { value: version.value, metadata: version.metadata ?? null, expiration: version.expiresAt === undefined ? undefined : Math.floor(version.expiresAt / 1000) };
  }

  /** `value` a Uint8Array; options { expirationTtl (s), expiration (epoch s), metadata }. */
  put(location, key, value, { expirationTtl, expiration, metadata } = {}) {
    const counters = this.enter(location, "put");
    this.checkKey(key, counters);
    const now = this.now();
    if (value.byteLength > KV_LIMITS.valueBytes) {
      counters.rejected += 1;
      throw new KvError(413, `KV PUT failed: 413 Value length of ${value.byteLength} exceeds limit of ${KV_LIMITS.valueBytes}.`);
    }
    if (metadata !== undefined && new TextEncoder().encode(JSON.stringify(metadata)).byteLength > KV_LIMITS.metadataBytes) {
      counters.rejected += 1;
      throw new KvError(413, `KV PUT failed: 413 Metadata length exceeds limit of ${KV_LIMITS.metadataBytes}.`);
    }
    let expiresAt;
    if (expirationTtl !== undefined) {
      if (!(expirationTtl >= KV_LIMITS.minExpirationTtlSeconds)) {
        counters.rejected += 1;
        throw new KvError(400, `KV PUT failed: 400 Invalid expiration_ttl of ${expirationTtl}. Expiration TTL must be at least ${KV_LIMITS.minExpirationTtlSeconds}.`);
      }
      expiresAt = now + this.scaled(expirationTtl * 1000);
    } else if (expiration !== undefined) {
      if (!(expiration * 1000 >= now + this.scaled(KV_LIMITS.minExpirationTtlSeconds * 1000))) {
        counters.rejected += 1;
        throw new KvError(400, `KV PUT failed: 400 Invalid expiration of ${expiration}. Expiration times must be at least ${KV_LIMITS.minExpirationTtlSeconds} seconds in the future.`);
      }
      expiresAt = expiration * 1000;
    }
    this.write(location, key, { value, metadata, expiresAt }, counters);
  }

  delete(location, key) {
    const counters = this.enter(location, "delete");
    this.checkKey(key, counters);
    this.write(location, key, { value: null }, counters);
  }

  /** Keys the location can see (central view, not its read cache), sorted, `limit` per page. */
  list(location, { prefix = "", cursor, limit = KV_LIMITS.listLimit } = {}) {
    this.enter(location, "list");
    const now = this.now();
    const names = [...this.central.keys()].filter((name) => name.startsWith(prefix)).sort();
    const keys = [];
    for (const name of names) {
      const version = this.visibleVersion(location, name, now);
      if (!this.isLive(version, now)) continue;
      keys.push({ name, ...(version.expiresAt !== undefined && { expiration: Math.floor(version.expiresAt / 1000) }), ...(version.metadata !== undefined && { metadata: version.metadata }) });
    }
    const start = cursor ? Number(cursor) : 0;
    const page = keys.slice(start, start + limit);
    const complete = start + limit >= keys.length;
    return { keys: page, list_complete: complete, ...(complete ? {} : { cursor: String(start + limit) }), cacheStatus: null };
  }

  write(location, key, fields, counters) {
    const now = this.now();
    const last = this.lastWriteAt.get(key);
    if (last !== undefined && now - last < this.scaled(1000 / KV_LIMITS.writesPerSecondPerKey)) {
      counters.rateLimited += 1;
      throw new KvError(429, "KV PUT failed: 429 Too Many Requests");
    }
    this.lastWriteAt.set(key, now);
    const versions = this.central.get(key) ?? [];
    versions.push({ ...fields, writtenAt: now, visibleAt: now + this.scaled(this.propagationMs), location });
    // Versions every location can see supersede all older ones: keep the newest of them only.
    const settled = versions.findLastIndex((version) => version.visibleAt <= now);
    this.central.set(key, settled > 0 ? versions.slice(settled) : versions);
    // The writing location reads its own write at once (its cached copy is replaced).
    this.cacheOf(location).delete(key);
  }

  checkKey(key, counters) {
    if (typeof key !== "string" || key.length === 0 || new TextEncoder().encode(key).byteLength > KV_LIMITS.keyBytes) {
      counters.rejected += 1;
      throw new KvError(414, `KV failed: 414 Key length must be 1-${KV_LIMITS.keyBytes} bytes.`);
    }
  }

  cacheOf(location) {
    let cache = this.locationCaches.get(location);
    if (!cache) {
      cache = new Map();
      this.locationCaches.set(location, cache);
    }
    return cache;
  }

  /** Counters per location and summed. */
  snapshot() {
    const perLocation = Object.fromEntries([...this.counters].map(([location, counters]) => [location, { ...counters }]));
    const total = {};
    for (const counters of Object.values(perLocation)) for (const [name, value] of Object.entries(counters)) total[name] = (total[name] ?? 0) + value;
    return { perLocation, total };
  }
}
