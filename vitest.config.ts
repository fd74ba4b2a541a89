import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Suites start real processes (kernels, servers, browsers, child steps): give them room,
    // and run files in separate forks so one suite's children never leak into another's.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: true,
    maxWorkers: 2,
    globalSetup: ["test/support/globalSetup.ts"],
  },
});
