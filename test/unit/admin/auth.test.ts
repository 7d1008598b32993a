// The admin check accepts the whole token and nothing else: not a prefix of it, not the token with
// more after it, not one that differs in its last character or in case.
import { describe, expect, it } from "vitest";
import { createTestWorker, siteConfig, testEnv } from "../../helpers/worker.ts";

const TOKEN = "admin-token-for-unit-tests-0123456789";
const worker = createTestWorker(
  testEnv({ OUTPOST: siteConfig([{ name: "main", origins: [{ name: "a", address: "http://127.0.0.1:9" }] }]), OUTPOST_ADMIN_TOKEN: TOKEN }),
);
const status = (token: string) => worker.fetch(new Request("https://www.example.com/__outpost/status", { headers: { authorization: `Bearer ${token}` } }));

describe("adminGate", () => {
  it("lets the exact token through", async () => {
    expect((await status(TOKEN)).status).toBe(200);
  });

  it.each([
    ["a prefix of the token", TOKEN.slice(0, 16)],
    ["all but the last character", TOKEN.slice(0, -1)],
    ["the token with more after it", `${TOKEN}0`],
    ["the token with its last character changed", `${TOKEN.slice(0, -1)}8`],
    ["the token in upper case", TOKEN.toUpperCase()],
  ])("refuses %s with 401", async (_name, token) => {
    const response = await status(token);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
  });
});
