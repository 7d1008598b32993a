// Cloudflare Load Balancing's region codes, and Outpost's mapping from a visitor's country (and, for
// the US and Canada, state or province) to them. request.cf carries no region code of this kind, so
// the mapping is ours: close to Cloudflare's, documented in the README; use country_pools where the
// exact border matters.
export const REGION_CODES = ["WNAM", "ENAM", "WEU", "EEU", "NSAM", "SSAM", "OC", "ME", "NAF", "SAF", "SAS", "SEAS", "NEAS"] as const;
export type RegionCode = (typeof REGION_CODES)[number];

export const CONTINENT_CODES = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"] as const;

const COUNTRIES_BY_REGION: Record<Exclude<RegionCode, "WNAM">, string> = {
  ENAM: "US CA BM GL PM",
  WEU: "AD AT AX BE CH DE DK ES FI FO FR GB GG GI IE IM IS IT JE LI LU MC MT NL NO PT SE SJ SM VA",
  EEU: "AL BA BG BY CY CZ EE GR HR HU LT LV MD ME MK PL RO RS RU SI SK TR UA XK",
  ME: "AE AM AZ BH GE IL IQ IR JO KW LB OM PS QA SA SY YE",
  NAF: "BF BJ CV DZ EG EH GH GM GN GW CI LR LY MA ML MR NE NG SD SL SN SS TD TG TN",
  SAF: "AO BI BW CD CF CG CM DJ ER ET GA GQ KE KM LS MG MU MW MZ NA RE RW SC SH SO ST SZ TZ UG YT ZA ZM ZW",
  SAS: "AF BD BT IN IO KG KZ LK MV NP PK TJ TM UZ",
  SEAS: "BN CC CX ID KH LA MM MY PH SG TH TL VN",
  NEAS: "CN HK JP KP KR MN MO TW",
  OC: "AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV UM VU WF WS",
  NSAM: "AG AI AW BB BL BO BQ BR BS BZ CO CR CU CW DM DO EC GD GF GP GT GY HN HT JM KN KY LC MF MQ MS NI PA PE PR SR SV SX TC TT VC VE VG VI",
  SSAM: "AR CL FK GS PY UY",
};

/** US states and Canadian provinces west of roughly the 100th meridian, plus Mexico. */
const WESTERN_SUBDIVISIONS: Record<string, Set<string>> = {
  US: new Set("AK AZ CA CO HI ID MT NM NV OR UT WA WY".split(" ")),
  CA: new Set("AB BC NT NU SK YT".split(" ")),
};

const REGION_BY_COUNTRY = new Map<string, RegionCode>(
  Object.entries(COUNTRIES_BY_REGION).flatMap(([region, countries]) =>
    countries.split(" ").map((country): [string, RegionCode] => [country, region as RegionCode]),
  ),
);
REGION_BY_COUNTRY.set("MX", "WNAM");

/** The region for a country (ISO 3166-1 alpha-2) and, optionally, its subdivision code (request.cf.regionCode). */
export function regionOf(country: string, subdivision?: string): RegionCode | undefined {
  const upper = country.toUpperCase();
  if (subdivision && WESTERN_SUBDIVISIONS[upper]?.has(subdivision.toUpperCase())) return "WNAM";
  return REGION_BY_COUNTRY.get(upper);
}
