// Runs in Node before any test file: starts the origin fleet's control server and hands its URL to
// the workers (as the TEST_ORIGIN_CONTROL binding, see vitest.config.ts).
import type { TestProject } from "vitest/node";
import { startOriginFleet } from "./helpers/origin-fleet.mjs";
import { silenceExpectedNetworkNoise } from "./helpers/runtime-noise.ts";

declare module "vitest" {
  export interface ProvidedContext {
    originControlUrl: string;
  }
}

export default async function setup(project: TestProject) {
  // The workerd log reaches this process's stderr: drop the refused-connection stacks tests cause on purpose.
  const restoreStderr = silenceExpectedNetworkNoise();
  const fleet = await startOriginFleet();
  project.provide("originControlUrl", fleet.url);
  return async () => {
    await fleet.close();
    restoreStderr();
  };
}
