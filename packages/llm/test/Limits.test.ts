import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, PubSub } from "effect"
import { TestClock } from "effect/testing"
import { ChatClient, CircuitBreaker, ClientStack, Estimate, Progress, RateLimiter, Retry } from "../src/index.js"

/** A backend we script directly: the wrappers under test own the behaviour, not the transport. */
const scripted = (
  answer: (request: ChatClient.ChatRequest, call: number) => Effect.Effect<ChatClient.ChatResponse, ChatClient.LlmError>
) => {
  let calls = 0
  let inFlight = 0
  let maxInFlight = 0
  const client = ChatClient.make({
    id: "scripted",
    model: "m",
    complete: (request) =>
      Effect.suspend(() => {
        calls++
        inFlight++
        maxInFlight = Math.max(maxInFlight, inFlight)
        return answer(request, calls).pipe(Effect.ensuring(Effect.sync(() => void inFlight--)))
      })
  })
  return { client, calls: () => calls, maxInFlight: () => maxInFlight }
}

const ok = (tokens = 10): ChatClient.ChatResponse => ({
  id: "r",
  model: "m",
  choices: [{ text: "{}", finishReason: "stop" }],
  usage: { promptTokens: tokens, completionTokens: 0 },
  cached: false
})

const err = (reason: ChatClient.LlmError["reason"], retryable: boolean, retryAfterMs?: number) =>
  new ChatClient.LlmError({
    reason,
    endpoint: "scripted",
    message: reason,
    retryable,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {})
  })

const request = (content = "hello"): ChatClient.ChatRequest => ({
  messages: [{ role: "user", content }],
  maxTokens: 10
})

describe("RateLimiter", () => {
  it.effect("caps requests in flight", () =>
    Effect.gen(function* () {
      const backend = scripted(() => Effect.as(Effect.sleep(10), ok()))
      const client = RateLimiter.wrap(backend.client, RateLimiter.make({ maxInFlight: 3 }))
      const fiber = yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: 10 }), () => client.complete(request()), { concurrency: 10 })
      )
      yield* TestClock.adjust(1000)
      yield* Fiber.join(fiber)
      assert.strictEqual(backend.calls(), 10)
      assert.strictEqual(backend.maxInFlight(), 3)
    })
  )

  it.effect("requests per minute: a burst, then one request per 1/rate", () =>
    Effect.gen(function* () {
      const backend = scripted(() => Effect.succeed(ok()))
      // 60 rpm with a 5 s burst → 5 at once, then 1 per second
      const client = RateLimiter.wrap(backend.client, RateLimiter.make({ requestsPerMinute: 60, burstSeconds: 5 }))
      const fiber = yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: 8 }), () => client.complete(request()), { concurrency: 8 })
      )
      yield* TestClock.adjust(1)
      assert.strictEqual(backend.calls(), 5)
      yield* TestClock.adjust(1000)
      assert.strictEqual(backend.calls(), 6)
      yield* TestClock.adjust(2000)
      yield* Fiber.join(fiber)
      assert.strictEqual(backend.calls(), 8)
    })
  )

  it.effect("tokens per minute waits for the bucket", () =>
    Effect.gen(function* () {
      // each request reserves 2 prompt + 10 completion tokens and reports using 12; 600 tpm with a 2 s burst = 20 tokens
      const backend = scripted(() => Effect.succeed(ok(12)))
      const client = RateLimiter.wrap(backend.client, RateLimiter.make({ tokensPerMinute: 600, burstSeconds: 2 }))
      const fiber = yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: 3 }), () => client.complete(request()), { concurrency: 3 })
      )
      yield* TestClock.adjust(1)
      assert.strictEqual(backend.calls(), 1)
      yield* TestClock.adjust(400) // 4 more tokens at 10/s
      assert.strictEqual(backend.calls(), 2)
      yield* TestClock.adjust(5_000)
      yield* Fiber.join(fiber)
      assert.strictEqual(backend.calls(), 3)
    })
  )
})

describe("Retry", () => {
  it.effect("backs off exponentially with jitter, honours Retry-After, gives up after maxAttempts", () =>
    Effect.gen(function* () {
      const delays: Array<number> = []
      const backend = scripted((_, call) =>
        call === 2 ? Effect.fail(err("rate-limited", true, 7_000)) : Effect.fail(err("server-error", true))
      )
      const client = Retry.wrap(backend.client, {
        maxAttempts: 4,
        baseDelayMs: 1000,
        onRetry: (e) => delays.push(e.delayMs)
      })
      const fiber = yield* Effect.forkChild(Effect.exit(client.complete(request())))
      yield* TestClock.adjust(60_000)
      const exit = yield* Fiber.join(fiber)
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(backend.calls(), 4)
      assert.isAtLeast(delays[0]!, 500)
      assert.isBelow(delays[0]!, 1000)
      assert.strictEqual(delays[1], 7000)
      assert.isAtLeast(delays[2]!, 2000)
      assert.isBelow(delays[2]!, 4000)
    })
  )

  it.effect("does not retry hopeless errors", () =>
    Effect.gen(function* () {
      for (const reason of ["bad-request", "auth", "not-found", "budget-exceeded", "invalid-output"] as const) {
        const backend = scripted(() => Effect.fail(err(reason, false)))
        const exit = yield* Effect.exit(Retry.wrap(backend.client).complete(request()))
        assert.isTrue(Exit.isFailure(exit))
        assert.strictEqual(backend.calls(), 1)
      }
    })
  )
})

describe("CircuitBreaker", () => {
  it.effect("opens after consecutive failures, fails fast while open, probes, closes", () =>
    Effect.gen(function* () {
      let healthy = false
      const backend = scripted(() => (healthy ? Effect.succeed(ok()) : Effect.fail(err("server-error", true))))
      const breaker = CircuitBreaker.make({ failureThreshold: 3, cooldownMs: 1000 })
      const client = CircuitBreaker.wrap(backend.client, breaker)
      for (let i = 0; i < 3; i++) yield* Effect.exit(client.complete(request()))
      assert.strictEqual(breaker.state(), "open")
      const fast = yield* Effect.exit(client.complete(request()))
      assert.strictEqual(backend.calls(), 3) // not sent
      const error = (fast as any).cause.reasons[0].error as ChatClient.LlmError
      assert.strictEqual(error.reason, "circuit-open")
      assert.isTrue(error.retryable)
      assert.strictEqual(error.retryAfterMs, 1000)
      yield* TestClock.adjust(1000)
      const probeFails = yield* Effect.exit(client.complete(request()))
      assert.isTrue(Exit.isFailure(probeFails))
      assert.strictEqual(breaker.state(), "open")
      healthy = true
      yield* TestClock.adjust(1000)
      const probe = yield* client.complete(request())
      assert.strictEqual(probe.id, "r")
      assert.strictEqual(breaker.state(), "closed")
      assert.strictEqual(breaker.openings(), 2)
    })
  )

  it.effect("with Retry, callers wait out the open circuit and succeed", () =>
    Effect.gen(function* () {
      const backend = scripted((_, call) => (call <= 3 ? Effect.fail(err("connection", true)) : Effect.succeed(ok())))
      const client = ClientStack.wrap(backend.client, {
        breaker: { failureThreshold: 3, cooldownMs: 500 },
        retry: { maxAttempts: 10, baseDelayMs: 10 }
      })
      const fiber = yield* Effect.forkChild(client.complete(request()))
      yield* TestClock.adjust(10_000)
      const response = yield* Fiber.join(fiber)
      assert.strictEqual(response.id, "r")
      assert.strictEqual(backend.calls(), 4)
    })
  )
})

describe("Progress and Estimate", () => {
  it.effect("progress counts and publishes events", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const seen: Array<string> = []
        const progress = yield* Progress.make({ onEvent: (e) => seen.push(e._tag) })
        const subscription = yield* PubSub.subscribe(progress.events)
        const backend = scripted((r) =>
          r.messages[0]!.content === "bad" ? Effect.fail(err("bad-request", false)) : Effect.succeed(ok(4))
        )
        const client = progress.wrap(backend.client)
        yield* client.complete(request())
        yield* Effect.exit(client.complete(request("bad")))
        assert.deepStrictEqual(progress.counts(), {
          started: 2,
          succeeded: 1,
          failed: 1,
          cached: 0,
          inFlight: 0,
          tokens: 4
        })
        assert.deepStrictEqual(seen, ["Started", "Succeeded", "Started", "Failed"])
        const first = yield* PubSub.take(subscription)
        assert.strictEqual(first._tag, "Started")
      })
    )
  )

  it("estimates from a sample without sending anything", () => {
    const sample = Array.from({ length: 10 }, (_, i) => ({
      messages: [{ role: "user" as const, content: "x".repeat(400) + i }],
      maxTokens: 50
    }))
    const estimate = Estimate.fromSample(sample, {
      totalCalls: 1_000_000,
      model: "gpt-4o-mini",
      prices: { "gpt-4o-mini": { inputPer1M: 0.15, outputPer1M: 0.6 } },
      throughput: { inFlight: 256, latencyMs: 1000 }
    })
    assert.strictEqual(estimate.calls, 1_000_000)
    assert.strictEqual(estimate.perCall.completionTokens, 50)
    assert.strictEqual(estimate.perCall.promptTokens, 105) // 401 chars / 4 → 101 (+4 per message)
    assert.closeTo(estimate.cost, (1e6 * (105 * 0.15 + 50 * 0.6)) / 1e6, 1e-6)
    assert.closeTo(estimate.seconds, 1e6 / 256, 1e-6)
  })

  it.effect("measures a sample run and extrapolates its usage", () =>
    Effect.gen(function* () {
      const backend = scripted(() => Effect.succeed({ ...ok(), usage: { promptTokens: 200, completionTokens: 30 } }))
      const estimate = yield* Estimate.measure(backend.client, [request(), request()], {
        totalCalls: 5000,
        model: "m",
        prices: { "*": { inputPer1M: 1, outputPer1M: 2 } },
        throughput: { requestsPerSecond: 50 }
      })
      assert.strictEqual(estimate.basis, "measured")
      assert.strictEqual(estimate.promptTokens, 1_000_000)
      assert.strictEqual(estimate.completionTokens, 150_000)
      assert.closeTo(estimate.cost, 1 + 0.3, 1e-9)
      assert.strictEqual(estimate.seconds, 100)
    })
  )
})
