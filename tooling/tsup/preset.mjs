// Shared tsup preset: ESM for Node 22, sourcemaps, no declarations (TS 7's tsc emits those; see STACK).
/** @param {Partial<import("tsup").Options>} overrides */
export const preset = (overrides = {}) => ({
  entry: ["src/index.ts"],
  format: ["esm"],
  target: "node22",
  platform: "node",
  sourcemap: true,
  clean: true,
  dts: false,
  splitting: false,
  treeshake: true,
  ...overrides
})
