/**
 * The systems of the paper's comparison as data. Each system trains the same embedding model on the labeled pairs
 * plus one synthetic set, and differs only in which query model wrote that set and which training variant it
 * uses: `specs` says so per system, `queryModels` says what each query model needs before it writes (the gates:
 * Stage 1's re-annotation, Stage 2's score and pairwise gates), and `plan` turns a choice of systems and the
 * config into what a run builds. `Pipeline.run` executes the plan; `Plan.make` estimates it.
 *
 * @since 0.1.0
 */
import type { SyntheticQuery } from "@ssra/core"

/**
 * The systems, in the order a run trains them and the report lists them.
 *
 * @since 0.1.0
 * @category constants
 */
export const names = [
  "base",
  "prompt-only",
  "vanilla-sft",
  "ssra",
  "ssra-no-stage2",
  "ssra-no-stage1-2",
  "ssra-binary"
] as const

/**
 * @since 0.1.0
 * @category models
 */
export type SystemName = (typeof names)[number]

/**
 * The query models a run can train: `vanilla` on the labeled pairs only, `v1` on Stage 1's re-annotated pool,
 * `v2` on that plus Stage 2's gated self-training set.
 *
 * @since 0.1.0
 * @category models
 */
export type QueryModel = "vanilla" | "v1" | "v2"

/**
 * What a query model needs before it can write.
 *
 * @since 0.1.0
 * @category models
 */
export interface QueryModelSpec {
  /** Its row in the alignment table (the paper's Table 6). */
  readonly label: string
  /** The stage its synthetic queries are tagged with. */
  readonly stage: SyntheticQuery.SyntheticQuery["stage"]
  /** The stages whose output it trains on: Stage 1 (score-model re-annotation) and Stage 2 (score and pairwise gates). */
  readonly gates: ReadonlyArray<"stage1" | "stage2">
  /** The query model that writes its training candidates (Stage 2 generates with v1). */
  readonly writtenBy?: QueryModel | undefined
}

/**
 * The query models in the order a run trains them.
 *
 * @since 0.1.0
 * @category constants
 */
export const queryModelOrder: ReadonlyArray<QueryModel> = ["vanilla", "v1", "v2"]

/**
 * @since 0.1.0
 * @category constants
 */
export const queryModels: Readonly<Record<QueryModel, QueryModelSpec>> = {
  vanilla: { label: "vanilla SFT (embedded, labeled-only D2Q)", stage: "vanilla-sft", gates: [] },
  v1: { label: "query model v1 (stage 1)", stage: "stage1", gates: ["stage1"] },
  v2: { label: "query model v2 (stages 1 + 2)", stage: "synthesis", gates: ["stage1", "stage2"], writtenBy: "v1" }
}

/**
 * What the notes of a system's row may depend on.
 *
 * @since 0.1.0
 * @category models
 */
export interface NoteContext {
  /** The query model SSRA uses under this config. */
  readonly ssraModel: QueryModel
  /** The top grade of the data's scale. */
  readonly scaleMax: number
}

/**
 * One system of the comparison.
 *
 * @since 0.1.0
 * @category models
 */
export interface SystemSpec {
  /** How it is labeled in the tables. */
  readonly label: string
  /**
   * The synthetic queries it trains on besides the labeled pairs: none, a query model's, SSRA's (`ssraModelOf`:
   * v2, or v1 / vanilla when the config disables stages), or an LLM prompt's (needs an LLM backend).
   */
  readonly queries: "none" | QueryModel | "ssra" | "prompt-only"
  /** Every grade, or only grade 0 and the scale's top (labeled and synthetic rows alike). */
  readonly training: "multi-grade" | "binary"
  /** Trained and evaluated as this system, sharing its artifacts (the row keeps its own name). */
  readonly sameAs?: SystemName | undefined
  /** Its model is the run's published checkpoint (`<run>/model`). */
  readonly published?: boolean | undefined
  /** The note of its row in the tables. */
  readonly note?: ((context: NoteContext) => string | undefined) | undefined
}

/**
 * The systems of the paper's comparison.
 *
 * @since 0.1.0
 * @category constants
 */
export const specs: Readonly<Record<SystemName, SystemSpec>> = {
  base: { label: "base (labeled only)", queries: "none", training: "multi-grade" },
  "prompt-only": { label: "prompt-only synthesis (LLM)", queries: "prompt-only", training: "multi-grade" },
  "vanilla-sft": {
    label: "vanilla SFT query model (embedded, labeled-only D2Q)",
    queries: "vanilla",
    training: "multi-grade",
    note: () => "the embedded analogue of vanilla SFT: the embedded query model trained on labeled pairs only"
  },
  ssra: {
    label: "SSRA",
    queries: "ssra",
    training: "multi-grade",
    published: true,
    note: ({ ssraModel }) =>
      ssraModel === "v2"
        ? undefined
        : `query model ${ssraModel}: ${ssraModel === "v1" ? "stage 2 disabled" : "stages disabled"} in the config`
  },
  "ssra-no-stage2": {
    label: "SSRA w/o stage 2",
    queries: "v1",
    training: "multi-grade",
    note: () => "query model v1 (Stage 1 only)"
  },
  "ssra-no-stage1-2": {
    label: "SSRA w/o stages 1 and 2",
    queries: "vanilla",
    training: "multi-grade",
    sameAs: "vanilla-sft",
    note: () => "same query model, data and model as vanilla SFT by construction (shared artifacts)"
  },
  "ssra-binary": {
    label: "SSRA, binary training data {0, max}",
    queries: "ssra",
    training: "binary",
    note: ({ scaleMax }) => `grades {0, ${scaleMax}} only, labeled and synthetic`
  }
}

/**
 * How each system is labeled in the tables.
 *
 * @since 0.1.0
 * @category constants
 */
export const labels: Readonly<Record<SystemName, string>> = Object.fromEntries(
  names.map((n) => [n, specs[n].label])
) as Record<SystemName, string>

/**
 * The stages a config enables (Stage 2 only runs after Stage 1).
 *
 * @since 0.1.0
 * @category models
 */
export interface StageSwitches {
  readonly stage1: { readonly enabled: boolean }
  readonly stage2: { readonly enabled: boolean }
}

/**
 * The query model SSRA uses: v2 after both stages, v1 when Stage 2 is disabled, vanilla when Stage 1 is.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ssraModelOf = (config: StageSwitches): QueryModel =>
  !config.stage1.enabled ? "vanilla" : config.stage2.enabled ? "v2" : "v1"

/**
 * One chosen system, resolved against the config.
 *
 * @since 0.1.0
 * @category models
 */
export interface PlannedSystem {
  readonly name: SystemName
  readonly spec: SystemSpec
  /** The synthetic set it trains on (`undefined`: the labeled pairs alone). */
  readonly synthetic: QueryModel | "prompt-only" | undefined
  readonly binary: boolean
  /** The system whose artifacts it trains and evaluates under (itself unless `sameAs`). */
  readonly trainAs: SystemName
}

/**
 * What a run builds for its systems.
 *
 * @since 0.1.0
 * @category models
 */
export interface SystemPlan {
  /** The chosen systems in `names` order. */
  readonly systems: ReadonlyArray<PlannedSystem>
  readonly ssraModel: QueryModel
  /** The query models to train, in `queryModelOrder`, with the ones they are written by. */
  readonly queryModels: ReadonlyArray<QueryModel>
  /** Whether Stage 1 and Stage 2 run (the gates of the query models trained). */
  readonly stage1: boolean
  readonly stage2: boolean
  /** Whether a chosen system needs an LLM backend (prompt-only synthesis). */
  readonly needsLlm: boolean
}

/**
 * The plan of a run: the chosen systems resolved against the config, and the query models and stages they need.
 *
 * @since 0.1.0
 * @category constructors
 */
export const plan = (config: StageSwitches, chosen: ReadonlyArray<SystemName>): SystemPlan => {
  const ssraModel = ssraModelOf(config)
  const systems = names
    .filter((name) => chosen.includes(name))
    .map((name): PlannedSystem => {
      const spec = specs[name]
      return {
        name,
        spec,
        synthetic: spec.queries === "none" ? undefined : spec.queries === "ssra" ? ssraModel : spec.queries,
        binary: spec.training === "binary",
        trainAs: spec.sameAs ?? name
      }
    })
  const needed = new Set<QueryModel>()
  const need = (model: QueryModel): void => {
    needed.add(model)
    const by = queryModels[model].writtenBy
    if (by !== undefined) need(by)
  }
  for (const s of systems) if (s.synthetic !== undefined && s.synthetic !== "prompt-only") need(s.synthetic)
  const built = queryModelOrder.filter((m) => needed.has(m))
  const gates = new Set(built.flatMap((m) => queryModels[m].gates))
  return {
    systems,
    ssraModel,
    queryModels: built,
    stage1: gates.has("stage1"),
    stage2: gates.has("stage2"),
    needsLlm: systems.some((s) => s.synthetic === "prompt-only")
  }
}
