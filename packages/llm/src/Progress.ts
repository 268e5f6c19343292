/**
 * Progress events for any chat client, for a CLI to draw: counters (started, succeeded, failed, cached, in
 * flight, tokens) readable at any time, an optional callback per event, and a sliding `PubSub` to subscribe to.
 *
 * @since 0.1.0
 */
import { Effect, PubSub } from "effect"
import type { ChatClientShape, ChatResponse, LlmError } from "./ChatClient.js"
import * as ChatClient from "./ChatClient.js"

/**
 * @since 0.1.0
 * @category models
 */
export type ProgressEvent =
  | { readonly _tag: "Started"; readonly stage: string | undefined }
  | {
      readonly _tag: "Succeeded"
      readonly stage: string | undefined
      readonly cached: boolean
      readonly tokens: number
    }
  | { readonly _tag: "Failed"; readonly stage: string | undefined; readonly reason: LlmError["reason"] }

/**
 * @since 0.1.0
 * @category models
 */
export interface ProgressCounts {
  readonly started: number
  readonly succeeded: number
  readonly failed: number
  readonly cached: number
  readonly inFlight: number
  readonly tokens: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ProgressTracker {
  readonly counts: () => ProgressCounts
  readonly events: PubSub.PubSub<ProgressEvent>
  readonly wrap: (client: ChatClientShape) => ChatClientShape
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: { readonly onEvent?: ((event: ProgressEvent) => void) | undefined; readonly capacity?: number } = {}
) =>
  Effect.gen(function* () {
    const events = yield* PubSub.sliding<ProgressEvent>(options.capacity ?? 1024)
    const c = { started: 0, succeeded: 0, failed: 0, cached: 0, inFlight: 0, tokens: 0 }
    const emit = (event: ProgressEvent) => {
      options.onEvent?.(event)
      PubSub.publishUnsafe(events, event)
    }
    const wrap = (client: ChatClientShape): ChatClientShape =>
      ChatClient.mapComplete(
        client,
        (complete) => (request) =>
          Effect.suspend(() => {
            c.started++
            c.inFlight++
            emit({ _tag: "Started", stage: request.stage })
            return complete(request).pipe(
              Effect.tap((response: ChatResponse) =>
                Effect.sync(() => {
                  c.succeeded++
                  if (response.cached) c.cached++
                  const tokens = response.usage.promptTokens + response.usage.completionTokens
                  c.tokens += tokens
                  emit({ _tag: "Succeeded", stage: request.stage, cached: response.cached, tokens })
                })
              ),
              Effect.tapError((error) =>
                Effect.sync(() => {
                  c.failed++
                  emit({ _tag: "Failed", stage: request.stage, reason: error.reason })
                })
              ),
              Effect.ensuring(Effect.sync(() => void c.inFlight--))
            )
          })
      )
    const tracker: ProgressTracker = { counts: () => ({ ...c }), events, wrap }
    return tracker
  })
