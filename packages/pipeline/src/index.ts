/**
 * @ssra/pipeline — the SSRA loop as resumable stages over content-addressed artifacts: inputs, score model,
 * Stage 1 re-annotation, Stage 2 filtered self-training, grade-planned synthesis, embedding training and
 * evaluation, plus the paper's baseline comparison, run manifests, checkpointed work units and sharding.
 *
 * @since 0.1.0
 */
export * as Artifact from "./Artifact.js"
export * as Backends from "./Backends.js"
export * as DocumentRewrite from "./DocumentRewrite.js"
export * as Evaluate from "./Evaluate.js"
export * as External from "./External.js"
export * as Generation from "./Generation.js"
export * as Inputs from "./Inputs.js"
export * as Pipeline from "./Pipeline.js"
export * as PipelineConfig from "./PipelineConfig.js"
export * as PipelineError from "./PipelineError.js"
export * as Plan from "./Plan.js"
export * as Prepare from "./Prepare.js"
export * as Progress from "./Progress.js"
export * as QueryModelStage from "./QueryModelStage.js"
export * as Report from "./Report.js"
export * as RunManifest from "./RunManifest.js"
export * as ScoreStage from "./ScoreStage.js"
export * as Stage1 from "./Stage1.js"
export * as Stage2 from "./Stage2.js"
export * as Synthesis from "./Synthesis.js"
export * as Systems from "./Systems.js"
export * as Training from "./Training.js"
export * as WorkUnits from "./WorkUnits.js"
