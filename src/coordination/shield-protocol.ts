// What a location and an origin shield (origin-shield.ts) say to each other, on top of the request
// and response themselves. Only Outpost reaches a Durable Object (through its binding), so these
// fields are trusted at the shield; the origin never sees them (origin/build-upstream-request.ts).

/** The binding and the class wrangler.toml names. */
export const SHIELD_BINDING = "OUTPOST_SHIELD";
export const SHIELD_CLASS = "OriginShield";

/** Location -> shield: the pools the location steered to, in failover order (the shield has no visitor to steer by). */
export const SHIELD_POOLS_HEADER = "outpost-shield-pools";
/** Location -> shield: when the newest purge the location knows was recorded (PurgeLedger.newestAt). */
export const SHIELD_PURGES_HEADER = "outpost-shield-purges";
/**
 * Location -> shield: the visitor's country, which a route's key may include (cache.key.country);
 * the shield keys the request as the location did (a Durable Object request has no visitor's cf).
 */
export const SHIELD_COUNTRY_HEADER = "outpost-shield-country";
/** The colo a shield reports as, e.g. in a purge receipt's list of locations. */
export const SHIELD_COLO = "shield";
/** Shield -> location: the answer's purge tags as a JSON array (the fields themselves are never passed on). */
export const SHIELD_TAGS_HEADER = "outpost-shield-tags";
/** Shield -> location: what the shield did (ShieldOutcome), on every answer it gives. */
export const SHIELD_OUTCOME_HEADER = "outpost-shield";

/**
 * hit / stale: from the shield's cache; miss: the shield fetched the origin; collapsed: it waited
 * for another location's fill; origin-failed: every origin failed at the shield (the body lists the
 * attempts); overloaded / error: the shield could not serve (the location fetches the origin itself).
 */
export type ShieldOutcome = "hit" | "stale" | "miss" | "collapsed" | "origin-failed" | "overloaded" | "error";

export const SHIELD_REQUEST_HEADERS = [SHIELD_POOLS_HEADER, SHIELD_PURGES_HEADER, SHIELD_COUNTRY_HEADER] as const;
