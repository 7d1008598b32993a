import { describe, expect, it } from "vitest";
import { classifyAdminPath } from "../../../src/admin/admin-app.ts";

describe("classifyAdminPath", () => {
  it.each(["/__outpost", "/__outpost/", "/__outpost/status", "/__outpost/anything/else"])("sends %s to the admin app", (path) => {
    expect(classifyAdminPath(path, "/__outpost")).toBe("admin");
  });

  it.each([
    "/__outpost%2fstatus",
    "/__outpost%2Fstatus",
    "/__OUTPOST/status",
    "/__Outpost",
    "/%5F_outpost/status",
    "/%5f%5foutpost/status",
    "/%255F_outpost/status", // decoded twice
    "//__outpost/status",
    "/x/%2e%2e/__outpost/status",
    "/x/..%2f__outpost/status",
    "/%5c__outpost/status",
    "/__outpost%3fx",
  ])("refuses %s, which a lenient server reads as the admin prefix", (path) => {
    expect(classifyAdminPath(path, "/__outpost")).toBe("disguised");
  });

  it.each(["/", "/page", "/__outposts", "/__outpost-x/status", "/a/__outpost", "/%E0%A4%A", "/%zz"])("proxies %s", (path) => {
    expect(classifyAdminPath(path, "/__outpost")).toBe("proxy");
  });

  it("folds a configured prefix with capitals the same way", () => {
    expect(classifyAdminPath("/Ops/Admin/status", "/Ops/Admin")).toBe("admin");
    expect(classifyAdminPath("/ops/admin/status", "/Ops/Admin")).toBe("disguised");
  });
});
