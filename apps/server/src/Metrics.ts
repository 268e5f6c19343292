/**
 * Prometheus metrics for the server: request counts by route and status, request latency histograms, requests
 * in flight and queued, and the sizes of the embedding micro-batches. Rendered as the Prometheus text
 * exposition format (version 0.0.4) by `/metrics`.
 *
 * @since 0.1.0
 */

/**
 * Latency bucket bounds in seconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const latencyBuckets: ReadonlyArray<number> = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
]

/**
 * Batch-size bucket bounds (texts per embedder call).
 *
 * @since 0.1.0
 * @category constants
 */
export const batchBuckets: ReadonlyArray<number> = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]

class Histogram {
  readonly counts: Float64Array
  sum = 0
  count = 0
  constructor(readonly bounds: ReadonlyArray<number>) {
    this.counts = new Float64Array(bounds.length)
  }
  observe(value: number): void {
    this.sum += value
    this.count++
    const bounds = this.bounds
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++
        return
      }
    }
  }
  render(name: string, labels: string, lines: Array<string>): void {
    let cumulative = 0
    const sep = labels.length > 0 ? "," : ""
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i]!
      lines.push(`${name}_bucket{${labels}${sep}le="${this.bounds[i]}"} ${cumulative}`)
    }
    lines.push(`${name}_bucket{${labels}${sep}le="+Inf"} ${this.count}`)
    const suffix = labels.length > 0 ? `{${labels}}` : ""
    lines.push(`${name}_sum${suffix} ${this.sum}`)
    lines.push(`${name}_count${suffix} ${this.count}`)
  }
}

const escapeLabel = (value: string): string => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")

/**
 * The server's metrics registry. Route labels come from a fixed set (unknown paths count as `unmatched`), so a
 * client cannot grow the label space.
 *
 * @since 0.1.0
 * @category models
 */
export class Registry {
  private readonly requests = new Map<string, number>()
  private readonly latency = new Map<string, Histogram>()
  private readonly batches = new Histogram(batchBuckets)
  private readonly batchTexts = { total: 0 }
  /** Reads the in-flight and queued gauges at render time. */
  gauges: () => { readonly inFlight: number; readonly queued: number } = () => ({ inFlight: 0, queued: 0 })

  /**
   * Records one finished request.
   */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `method="${escapeLabel(method)}",route="${escapeLabel(route)}",status="${status}"`
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1)
    let histogram = this.latency.get(route)
    if (histogram === undefined) {
      histogram = new Histogram(latencyBuckets)
      this.latency.set(route, histogram)
    }
    histogram.observe(seconds)
  }

  /**
   * Records one embedder call of `size` texts.
   */
  observeBatch(size: number): void {
    this.batches.observe(size)
    this.batchTexts.total += size
  }

  /**
   * The count of requests recorded with these labels (for tests and readiness checks).
   */
  requestCount(method: string, route: string, status: number): number {
    return this.requests.get(`method="${method}",route="${route}",status="${status}"`) ?? 0
  }

  /**
   * Prometheus text exposition format.
   */
  render(): string {
    const lines: Array<string> = []
    lines.push("# HELP ssra_http_requests_total HTTP requests by method, route and status.")
    lines.push("# TYPE ssra_http_requests_total counter")
    for (const [labels, value] of [...this.requests].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`ssra_http_requests_total{${labels}} ${value}`)
    }
    lines.push("# HELP ssra_http_request_duration_seconds HTTP request latency by route.")
    lines.push("# TYPE ssra_http_request_duration_seconds histogram")
    for (const [route, histogram] of [...this.latency].sort(([a], [b]) => a.localeCompare(b))) {
      histogram.render("ssra_http_request_duration_seconds", `route="${escapeLabel(route)}"`, lines)
    }
    lines.push("# HELP ssra_http_requests_in_flight Requests being processed.")
    lines.push("# TYPE ssra_http_requests_in_flight gauge")
    const gauges = this.gauges()
    lines.push(`ssra_http_requests_in_flight ${gauges.inFlight}`)
    lines.push("# HELP ssra_http_requests_queued Requests waiting for a processing slot.")
    lines.push("# TYPE ssra_http_requests_queued gauge")
    lines.push(`ssra_http_requests_queued ${gauges.queued}`)
    lines.push("# HELP ssra_embedding_batch_size Texts per embedder call (micro-batches of concurrent requests).")
    lines.push("# TYPE ssra_embedding_batch_size histogram")
    this.batches.render("ssra_embedding_batch_size", "", lines)
    lines.push("# HELP ssra_embedding_texts_total Texts embedded.")
    lines.push("# TYPE ssra_embedding_texts_total counter")
    lines.push(`ssra_embedding_texts_total ${this.batchTexts.total}`)
    return `${lines.join("\n")}\n`
  }
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (): Registry => new Registry()
