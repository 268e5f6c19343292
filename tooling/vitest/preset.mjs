// Shared vitest preset: resolves workspace packages to their TypeScript sources (the "@ssra/source"
// export condition), so tests never need a build first.
/** @param {string} name @param {Record<string, unknown>} [test] */
export const preset = (name, test = {}) => ({
  resolve: { conditions: ["@ssra/source"] },
  ssr: { resolve: { conditions: ["@ssra/source"] } },
  test: {
    name,
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    ...test
  }
})
