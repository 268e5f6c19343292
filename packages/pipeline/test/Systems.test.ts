import { assert, describe, it } from "@effect/vitest"
import { Pipeline, Report, Systems } from "../src/index.js"

/** Every subset of the systems (128) under every stage switch: the plan must build what each system trains on. */
const subsets = <A>(xs: ReadonlyArray<A>): Array<Array<A>> =>
  xs.reduce<Array<Array<A>>>((acc, x) => [...acc, ...acc.map((s) => [...s, x])], [[]])
const switches = [
  { stage1: { enabled: true }, stage2: { enabled: true } },
  { stage1: { enabled: true }, stage2: { enabled: false } },
  { stage1: { enabled: false }, stage2: { enabled: true } },
  { stage1: { enabled: false }, stage2: { enabled: false } }
]

describe("Systems: the declarative plan of the comparison", () => {
  it("lists every system once, in the run's order, with the labels the tables use", () => {
    assert.deepStrictEqual(Object.keys(Systems.specs), [...Systems.names])
    assert.deepStrictEqual(Pipeline.systems, Systems.names)
    assert.strictEqual(Pipeline.labels["ssra-binary"], "SSRA, binary training data {0, max}")
    assert.strictEqual(Pipeline.labels.base, "base (labeled only)")
    // every system the paper's tables name is a system of the plan or a lexical reference
    for (const table of Report.paperTables(3))
      for (const s of table.systems)
        assert.isTrue((Systems.names as ReadonlyArray<string>).includes(s) || s.startsWith("reference:"), s)
    assert.include(Report.paperTables(2)[2]!.caption, "grades 0 and 2")
  })

  it("SSRA's query model follows the stages the config enables", () => {
    assert.deepStrictEqual(
      switches.map((c) => Systems.ssraModelOf(c)),
      ["v2", "v1", "vanilla", "vanilla"]
    )
  })

  it("builds exactly the query models and stages its systems need, for every choice of systems", () => {
    let checked = 0
    for (const config of switches) {
      for (const chosen of subsets(Systems.names)) {
        const plan = Systems.plan(config, chosen)
        const has = (...names: ReadonlyArray<Systems.SystemName>) => names.some((n) => chosen.includes(n))
        const stage1On = config.stage1.enabled
        const stage2On = stage1On && config.stage2.enabled
        const ssra = has("ssra", "ssra-binary")
        // what each system trains on, spelled out system by system
        const vanilla = has("vanilla-sft", "ssra-no-stage1-2") || (ssra && !stage1On)
        const v2 = ssra && stage2On
        const v1 = has("ssra-no-stage2") || (ssra && stage1On)
        assert.deepStrictEqual(
          plan.queryModels,
          (["vanilla", "v1", "v2"] as const).filter((m) => (m === "vanilla" ? vanilla : m === "v1" ? v1 || v2 : v2)),
          `${JSON.stringify(config)} ${chosen.join(",")}`
        )
        assert.strictEqual(plan.stage1, v1 || v2)
        assert.strictEqual(plan.stage2, v2)
        assert.strictEqual(plan.needsLlm, has("prompt-only"))
        assert.deepStrictEqual(
          plan.systems.map((s) => s.name),
          Systems.names.filter((n) => chosen.includes(n))
        )
        checked++
      }
    }
    assert.strictEqual(checked, 4 * 128)
  })

  it("resolves each system's synthetic set, training variant, shared artifacts and note", () => {
    const plan = Systems.plan(switches[1]!, Systems.names)
    const by = Object.fromEntries(plan.systems.map((s) => [s.name, s]))
    assert.strictEqual(plan.ssraModel, "v1")
    assert.isUndefined(by.base!.synthetic)
    assert.strictEqual(by["prompt-only"]!.synthetic, "prompt-only")
    assert.strictEqual(by.ssra!.synthetic, "v1")
    assert.strictEqual(by["ssra-binary"]!.synthetic, "v1")
    assert.isTrue(by["ssra-binary"]!.binary)
    assert.isFalse(by.ssra!.binary)
    assert.strictEqual(by["ssra-no-stage1-2"]!.trainAs, "vanilla-sft")
    assert.strictEqual(by["ssra-no-stage1-2"]!.synthetic, "vanilla")
    assert.strictEqual(by.ssra!.trainAs, "ssra")
    assert.deepStrictEqual(
      plan.systems.filter((s) => s.spec.published === true).map((s) => s.name),
      ["ssra"]
    )
    const note = (name: Systems.SystemName, ssraModel: Systems.QueryModel) =>
      Systems.specs[name].note?.({ ssraModel, scaleMax: 3 })
    assert.isUndefined(note("ssra", "v2"))
    assert.strictEqual(note("ssra", "v1"), "query model v1: stage 2 disabled in the config")
    assert.strictEqual(note("ssra", "vanilla"), "query model vanilla: stages disabled in the config")
    assert.strictEqual(note("ssra-binary", "v2"), "grades {0, 3} only, labeled and synthetic")
    assert.isUndefined(note("base", "v2"))
    assert.deepStrictEqual(Systems.queryModels.v2.gates, ["stage1", "stage2"])
  })
})
