/**
 * The directory writer behind ssra's launch kits (`SftKit.write`, `@ssra/embedding`'s `Export.launchKit`): a kit
 * is built in a temporary sibling and published with core's `AtomicFile.writeDirectorySync`, replacing only an
 * earlier kit of its kind, never a directory that is something else or one holding a trained model. It also writes the kits' text files (scripts
 * executable) and turns the repo's `python/requirements.txt` into the GPU machine's requirements.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { AtomicFile, Failure } from "@ssra/core"
import { Effect, Schema } from "effect"

/**
 * Why a kit directory was not written: `exists` — the target is a file, a directory that is no kit of this kind,
 * or an earlier kit holding a subdirectory (a trained model) that replacing it would delete; `io` — a file system
 * failure. `file` is the target directory or the file that failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class KitDirectoryError extends Schema.TaggedError<KitDirectoryError>()("KitDirectoryError", {
  reason: Schema.Literals(["exists", "io"]),
  file: Schema.String,
  detail: Schema.String,
  hint: Schema.optionalKey(Schema.String),
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message(): string {
    return `${this.reason} [${this.file}]: ${this.detail}${this.hint !== undefined ? ` — ${this.hint}` : ""}`
  }
  /** `exists`: the caller chose a target it may not replace (usage); `io`: the file system failed. */
  get [Failure.TypeId](): Failure.Classified {
    return this.reason === "io"
      ? Failure.make("io", {
          hint: this.hint === undefined ? "check the disk has space and the folder is writable" : undefined
        })
      : Failure.make("usage")
  }
}

/**
 * One text file of a kit; an executable one (a shell script) is written with mode 0755, any other with 0644.
 *
 * @since 0.1.0
 * @category models
 */
export interface KitFile {
  readonly text: string
  readonly executable?: boolean | undefined
}

/**
 * Which kind of kit a directory holds: `marker` is the file that identifies an earlier kit of this kind (beside
 * its `launch.sh`), e.g. `sft_config.json`; `what` names the kind in messages, e.g. `"SFT kit"`.
 *
 * @since 0.1.0
 * @category models
 */
export interface KitKind {
  readonly marker: string
  readonly what: string
}

/** Packages the repo's Python side needs for tests and lint only, not for training on a GPU machine. */
const DEVELOPMENT_ONLY = new Set(["pytest", "ruff"])

/**
 * `python/requirements.txt` for a GPU machine: its pins minus the test and lint tools (pytest, ruff, and the
 * comment lines that introduced only those), under a header that says to install the CUDA build of torch first,
 * then the `extra` lines (comments or pins of the kit's own).
 *
 * @since 0.1.0
 * @category constructors
 */
export const gpuRequirements = (text: string, extra: ReadonlyArray<string> = []): string => {
  const lines = text.split(/\r?\n/)
  const firstPin = lines.findIndex((l) => l.trim() !== "" && !l.trim().startsWith("#"))
  const body = firstPin < 0 ? [] : lines.slice(firstPin)
  const kept: Array<string> = []
  let comments: Array<string> = []
  for (const line of body) {
    const trimmed = line.trim()
    if (trimmed === "") continue
    if (trimmed.startsWith("#")) {
      comments.push(line)
      continue
    }
    const name = trimmed.split(/[=<>!~;[\s]/)[0]!.toLowerCase()
    if (DEVELOPMENT_ONLY.has(name)) continue
    kept.push(...comments, line)
    comments = []
  }
  const torch = kept.find((l) => /^torch\s*==/.test(l.trim()))
  const version = torch?.trim().split("==")[1]?.trim()
  return [
    "# The GPU side of this kit: ssra's python/requirements.txt pins, minus its test and lint tools.",
    "# Install the CUDA build of torch FIRST (the wheel index for your CUDA version, from pytorch.org's selector),",
    `# then the rest; pip keeps that torch because the pin${version !== undefined ? ` (${version})` : ""} matches it:`,
    `#   pip install torch${version !== undefined ? `==${version}` : ""} --index-url https://download.pytorch.org/whl/<cuda-tag>`,
    "#   pip install -r requirements.txt",
    "# Without that first step pip installs whatever torch build your index serves (a CPU build on CPU-only indexes).",
    ...kept,
    ...extra,
    ""
  ].join("\n")
}

const ioError = (file: string, cause: unknown) =>
  new KitDirectoryError({
    reason: "io",
    file,
    detail: String((cause as Error)?.message ?? cause),
    hint: "check the directory is writable and the disk has space",
    cause
  })

/**
 * Writes a kit's text files into `dir` (file name → text); an executable one gets mode 0755, set explicitly
 * because the mode a new file is created with is cut by the umask.
 *
 * @since 0.1.0
 * @category constructors
 */
export const writeFiles = (
  dir: string,
  files: Readonly<Record<string, KitFile>>
): Effect.Effect<void, KitDirectoryError> =>
  Effect.forEach(
    Object.entries(files),
    ([name, { executable, text }]) =>
      Effect.try({
        try: () => {
          const file = path.join(dir, name)
          fs.writeFileSync(file, text, { mode: executable === true ? 0o755 : 0o644 })
          if (executable === true) fs.chmodSync(file, 0o755)
        },
        catch: (cause) => ioError(path.join(dir, name), cause)
      }),
    { discard: true }
  )

/** Why `dir` may not be replaced by a kit of `kind`, from what it holds (its entries, or a file there); none: it may. */
const refusal = (
  dir: string,
  kind: KitKind,
  existing: ReadonlyArray<fs.Dirent> | "file" | undefined
): KitDirectoryError | undefined => {
  if (existing === "file")
    return new KitDirectoryError({
      reason: "exists",
      file: dir,
      detail: `${dir} exists and is not a directory`,
      hint: "choose another output directory"
    })
  if (existing === undefined || existing.length === 0) return undefined
  const isKit = existing.some((e) => e.name === kind.marker) && existing.some((e) => e.name === "launch.sh")
  if (!isKit)
    return new KitDirectoryError({
      reason: "exists",
      file: dir,
      detail: `${dir} exists and is not an ssra kit (an earlier ${kind.what} holds ${kind.marker} and launch.sh)`,
      hint: "choose another output directory, or empty this one"
    })
  const sub = existing.find((e) => e.isDirectory())
  if (sub !== undefined)
    return new KitDirectoryError({
      reason: "exists",
      file: dir,
      detail: `${dir} is an earlier ${kind.what} holding ${sub.name}/ (a trained model?), which replacing the kit would delete`,
      hint: "move that directory out, or choose another output directory"
    })
  return undefined
}

/**
 * Builds a kit with `body` in a temporary sibling of `dir` and, only when `body` succeeds, publishes it with core's
 * `AtomicFile.writeDirectorySync` (mode 0755, its files flushed to disk before the swap), so `dir` is either
 * absent, the earlier kit, or the complete new one; when `body` or the publish fails the temporary directory is
 * removed. A swap an earlier write was killed in is finished first (`AtomicFile.recoverDirectorySync`) and the
 * temporary directories of writers no longer running are removed. An existing `dir` is replaced only when it is
 * empty or an earlier kit of this kind (it holds `kind.marker` and `launch.sh`) with no subdirectory (a trained
 * `output/` is never deleted); anything else there is refused with reason `exists`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const write = <A, E, R>(
  dir: string,
  kind: KitKind,
  body: (temp: string) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | KitDirectoryError, R> =>
  Effect.gen(function* () {
    const target = path.resolve(dir)
    // a kit whose swap was killed half-way is put back first, so the checks see what is really there
    const existing = yield* Effect.try({
      try: () => {
        AtomicFile.recoverDirectorySync(target)
        if (!fs.existsSync(target)) return undefined
        if (!fs.statSync(target).isDirectory()) return "file" as const
        return fs.readdirSync(target, { withFileTypes: true })
      },
      catch: (cause) => ioError(target, cause)
    })
    const refused = refusal(dir, kind, existing)
    if (refused !== undefined) return yield* refused
    // `body` is an effect, `writeDirectorySync` takes a synchronous writer: the kit is built in a sibling of its
    // own (named like `writeDirectorySync`'s temporaries, so a killed build's is swept), then moved into the publish
    const staging = yield* Effect.try({
      try: () => {
        fs.mkdirSync(path.dirname(target), { recursive: true })
        return fs.mkdtempSync(AtomicFile.tempDirPrefixFor(target))
      },
      catch: (cause) => ioError(target, cause)
    })
    const removeStaging = Effect.sync(() => fs.rmSync(staging, { recursive: true, force: true }))
    const result = yield* body(staging).pipe(Effect.onError(() => removeStaging))
    yield* Effect.try({
      try: () => {
        AtomicFile.writeDirectorySync(target, (temp) => {
          for (const name of fs.readdirSync(staging)) fs.renameSync(path.join(staging, name), path.join(temp, name))
          // a kit is shared like any output directory, whatever the umask
          fs.chmodSync(temp, 0o755)
        })
        fs.rmSync(staging, { recursive: true, force: true })
      },
      catch: (cause) => ioError(target, cause)
    }).pipe(Effect.onError(() => removeStaging))
    return result
  })
