// Runs in Node before any test file: starts the origin fleet's control server and hands its URL to
// the workers (as the TEST_ORIGIN_CONTROL binding, see vitest.config.ts).
import type { TestProject } from "vitest/node";
import { startOriginFleet } from "./helpers/origin-fleet.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    originControlUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const fleet = await startOriginFleet();
  project.provide("originControlUrl", fleet.url);
  return () => fleet.close();
}
