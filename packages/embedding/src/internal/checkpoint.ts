/**
 * The trainer's checkpoints: `<dir>/last` (weights, optimizer state, trainer state: what a run resumes from) and
 * `<dir>/best` (the weights at the best evaluation). Each directory is written into a temporary sibling and swapped
 * in (core's `AtomicFile.writeDirectorySync`); a swap killed half-way is finished (`AtomicFile.recoverDirectorySync`)
 * before `last` is read.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { AtomicFile, Hash } from "@ssra/core"
import { Effect } from "effect"
import { CheckpointError } from "../CheckpointError.js"
import * as DualEncoder from "../DualEncoder.js"
import type { Evaluation, HistoryEntry } from "../EmbeddingTrainer.js"
import * as Safetensors from "../Safetensors.js"
import type { TrainingArgs } from "../TrainingArgs.js"
import { TrainingError } from "../TrainingError.js"
import type { Optimizer } from "./step.js"

const STATE_VERSION = 1
const OPTIMIZER_FILE = "optimizer.safetensors"
const STATE_FILE = "trainer-state.json"

/** Where a run stands: written to `trainer-state.json`, field for field. */
export interface TrainerState {
  formatVersion: number
  epoch: number
  stepInEpoch: number
  globalStep: number
  rowsSha256: string
  argsSha256: string
  best: { step: number; evaluation: Evaluation } | null
  sinceImprovement: number
  history: Array<HistoryEntry>
  mined: Array<Array<string>> | null
  minedEpoch: number
  stoppedEarly: boolean
  /** The temperature's Adagrad sum exactly (the optimizer file keeps it as F32, too coarse for a bitwise resume). */
  temperatureAccumulator?: number
}

/** The state of a run that has not taken a step. */
export const freshState = (rowsSha256: string, argsSha256: string): TrainerState => ({
  formatVersion: STATE_VERSION,
  epoch: 0,
  stepInEpoch: 0,
  globalStep: 0,
  rowsSha256,
  argsSha256,
  best: null,
  sinceImprovement: 0,
  history: [],
  mined: null,
  minedEpoch: -1,
  stoppedEarly: false
})

/** The hash of the args that change what a run computes (resuming with others would mix two runs). */
export const argsIdentity = (args: TrainingArgs): string => {
  const {
    epochs: _e,
    maxSteps: _m,
    resume: _r,
    progressEvery: _p,
    evaluateEvery: _v,
    checkpointEvery: _c,
    earlyStoppingPatience: _s,
    ...rest
  } = args
  return Hash.hashValue(rest)
}

const failedAt =
  (dir: string, reason: "io" | "corrupt") =>
  (cause: unknown): CheckpointError =>
    cause instanceof CheckpointError
      ? cause
      : new CheckpointError({ path: dir, reason, detail: String((cause as Error)?.message ?? cause) })

/** Writes `<dir>/last`: the model, its optimizer's accumulators and the trainer state. */
export const saveLast = (
  dir: string,
  model: DualEncoder.DualEncoderModel,
  optimizer: Optimizer,
  state: TrainerState
): Effect.Effect<void, CheckpointError> =>
  Effect.try({
    try: () =>
      AtomicFile.writeDirectorySync(path.join(dir, "last"), (temp) => {
        DualEncoder.writeFilesSync(model, temp)
        const tensors: Record<string, Safetensors.Tensor> = {
          "query.accumulator": { shape: [optimizer.query.length], data: optimizer.query },
          "temperature.accumulator": { shape: [1], data: Float32Array.of(optimizer.temperature) }
        }
        if (model.config.towers === "separate")
          tensors["document.accumulator"] = { shape: [optimizer.document.length], data: optimizer.document }
        Safetensors.writeSync(path.join(temp, OPTIMIZER_FILE), { tensors, metadata: { format: "ssra-row-adagrad" } })
        fs.writeFileSync(
          path.join(temp, STATE_FILE),
          JSON.stringify({ ...state, temperatureAccumulator: optimizer.temperature }) + "\n"
        )
      }),
    catch: failedAt(path.join(dir, "last"), "io")
  })

/** A run read back from `<dir>/last`. */
export interface Resumed {
  readonly model: DualEncoder.DualEncoderModel
  readonly optimizer: Optimizer
  readonly state: TrainerState
}

const loadLast = (dir: string): Effect.Effect<Resumed, CheckpointError> =>
  Effect.try({
    try: () => {
      const last = path.join(dir, "last")
      const model = DualEncoder.loadSync(last)
      const opt = Safetensors.readSync(path.join(last, OPTIMIZER_FILE))
      const state = JSON.parse(fs.readFileSync(path.join(last, STATE_FILE), "utf8")) as TrainerState
      if (state.formatVersion !== STATE_VERSION) {
        throw new CheckpointError({
          path: path.join(last, STATE_FILE),
          reason: "version",
          detail: `trainer state version ${state.formatVersion} is not ${STATE_VERSION}`
        })
      }
      const q = opt.tensors["query.accumulator"]?.data
      const d = model.config.towers === "separate" ? opt.tensors["document.accumulator"]?.data : q
      if (q === undefined || d === undefined || q.length !== model.config.featurizer.buckets) {
        throw new CheckpointError({
          path: path.join(last, OPTIMIZER_FILE),
          reason: "corrupt",
          detail: "optimizer accumulators missing or of the wrong size"
        })
      }
      const optimizer: Optimizer = {
        query: q,
        document: d,
        temperature:
          typeof state.temperatureAccumulator === "number" && Number.isFinite(state.temperatureAccumulator)
            ? state.temperatureAccumulator
            : (opt.tensors["temperature.accumulator"]?.data[0] ?? 0)
      }
      return { model, optimizer, state }
    },
    catch: failedAt(path.join(dir, "last"), "corrupt")
  })

/**
 * The run to continue from `<dir>/last`, or undefined when there is none (a swap killed half-way is finished
 * first). Fails with a `TrainingError` (reason `resume`) when it was trained on other rows or arguments.
 */
export const resume = (
  dir: string,
  rowsSha256: string,
  argsSha256: string
): Effect.Effect<Resumed | undefined, TrainingError | CheckpointError> =>
  Effect.gen(function* () {
    const last = path.join(dir, "last")
    // a kill in the middle of replacing last/ leaves the new copy beside it: put it in place before looking
    AtomicFile.recoverDirectorySync(last)
    if (!fs.existsSync(path.join(last, STATE_FILE))) return undefined
    const resumed = yield* loadLast(dir)
    if (resumed.state.rowsSha256 !== rowsSha256 || resumed.state.argsSha256 !== argsSha256) {
      return yield* new TrainingError({
        reason: "resume",
        detail: `${last} was trained on other ${resumed.state.rowsSha256 !== rowsSha256 ? "rows" : "arguments"}`,
        hint: "resume with the same rows and args, or use a fresh checkpoint directory"
      })
    }
    return resumed
  })

/** Writes `<dir>/best`. */
export const saveBest = (dir: string, model: DualEncoder.DualEncoderModel): Effect.Effect<void, CheckpointError> =>
  DualEncoder.save(model, path.join(dir, "best"))

/** Reads `<dir>/best`, or undefined when none was written. */
export const loadBest = (dir: string): Effect.Effect<DualEncoder.DualEncoderModel | undefined, CheckpointError> =>
  fs.existsSync(path.join(dir, "best")) ? DualEncoder.load(path.join(dir, "best")) : Effect.succeed(undefined)
