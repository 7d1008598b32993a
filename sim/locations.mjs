// Simulated Cloudflare locations: the request.cf each location's requests carry (colo, country,
// continent, latitude/longitude, as Cloudflare sets them) and its share of the world's traffic.
export const LOCATIONS = {
  FRA: { country: "DE", continent: "EU", latitude: 50.03, longitude: 8.57, city: "Frankfurt", weight: 1.5 },
  LHR: { country: "GB", continent: "EU", latitude: 51.47, longitude: -0.45, city: "London", weight: 1.2 },
  IAD: { country: "US", continent: "NA", latitude: 38.94, longitude: -77.45, city: "Ashburn", weight: 1.5 },
  LAX: { country: "US", continent: "NA", latitude: 33.94, longitude: -118.41, city: "Los Angeles", weight: 1 },
  GRU: { country: "BR", continent: "SA", latitude: -23.43, longitude: -46.47, city: "Sao Paulo", weight: 0.7 },
  NRT: { country: "JP", continent: "AS", latitude: 35.77, longitude: 140.39, city: "Tokyo", weight: 1 },
  SIN: { country: "SG", continent: "AS", latitude: 1.36, longitude: 103.99, city: "Singapore", weight: 0.7 },
  SYD: { country: "AU", continent: "OC", latitude: -33.94, longitude: 151.17, city: "Sydney", weight: 0.5 },
  JNB: { country: "ZA", continent: "AF", latitude: -26.14, longitude: 28.24, city: "Johannesburg", weight: 0.3 },
  BOM: { country: "IN", continent: "AS", latitude: 19.09, longitude: 72.87, city: "Mumbai", weight: 0.6 },
  // Quieter European locations: the sparse-outage scenario's (sim/scenarios.mjs).
  CDG: { country: "FR", continent: "EU", latitude: 49.01, longitude: 2.55, city: "Paris", weight: 1 },
  AMS: { country: "NL", continent: "EU", latitude: 52.31, longitude: 4.76, city: "Amsterdam", weight: 1 },
  MAD: { country: "ES", continent: "EU", latitude: 40.47, longitude: -3.57, city: "Madrid", weight: 1 },
  WAW: { country: "PL", continent: "EU", latitude: 52.17, longitude: 20.97, city: "Warsaw", weight: 1 },
};

export const DEFAULT_LOCATIONS = ["FRA", "LHR", "IAD", "LAX", "GRU", "NRT", "SIN", "SYD"];
export const QUICK_LOCATIONS = ["FRA", "IAD", "SYD"];

/** The pool each continent is steered to first (the route's continent_pools), then the others in order. */
export const CONTINENT_POOLS = {
  EU: ["eu", "us", "apac"],
  AF: ["eu", "us", "apac"],
  NA: ["us", "eu", "apac"],
  SA: ["us", "eu", "apac"],
  AS: ["apac", "us", "eu"],
  OC: ["apac", "us", "eu"],
};

export function locationCf(colo) {
  const location = LOCATIONS[colo];
  if (!location) throw new Error(`unknown location ${colo}; known: ${Object.keys(LOCATIONS).join(", ")}`);
  return {
    colo,
    country: location.country,
    continent: location.continent,
    latitude: String(location.latitude),
    longitude: String(location.longitude),
    city: location.city,
    clientAcceptEncoding: "",
  };
}

/** The simulated location that serves a country: the first one in that country, else on its continent, else the first. */
export function locationForCountry(country, colos) {
  const exact = colos.find((colo) => LOCATIONS[colo]?.country === country);
  if (exact) return exact;
  const continent = COUNTRY_CONTINENTS[country];
  return colos.find((colo) => LOCATIONS[colo]?.continent === continent) ?? colos[0];
}

const COUNTRY_CONTINENTS = {
  DE: "EU", FR: "EU", GB: "EU", NL: "EU", ES: "EU", IT: "EU", PL: "EU", SE: "EU", IE: "EU", CH: "EU", AT: "EU", BE: "EU",
  US: "NA", CA: "NA", MX: "NA", BR: "SA", AR: "SA", CL: "SA", CO: "SA", PE: "SA",
  JP: "AS", KR: "AS", CN: "AS", SG: "AS", IN: "AS", HK: "AS", TW: "AS", ID: "AS", TH: "AS", VN: "AS",
  AU: "OC", NZ: "OC", ZA: "AF", NG: "AF", EG: "AF", KE: "AF", MA: "AF",
};
