/**
 * The RFC 9457 problems the serving API answers with besides request validation (`BadRequestProblem`, which
 * carries one `{ path, message }` entry per offending field). Every class renders as `application/problem+json`
 * with a `type` URI, so clients can branch on `type` without parsing `detail`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { HttpApiError } from "effect/http-api"

const base = "https://ssra.dev/problems/"

/**
 * One offending request field: its path (`["payload", "input", 3]`) and what is wrong with it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Issue = HttpApiError.ProblemIssue

/**
 * A request that failed validation, with the path of every offending field (schema failures and limits such as
 * batch size and text length alike). Re-exported from `effect/http-api` so the wire shape is the library's.
 *
 * @since 0.1.0
 * @category errors
 */
export const BadRequest = HttpApiError.BadRequestProblem

/**
 * @since 0.1.0
 * @category errors
 */
export type BadRequest = HttpApiError.BadRequestProblem

/**
 * Missing or unknown bearer token.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthorized extends HttpApiError.Problem<Unauthorized>()("Unauthorized", {
  type: `${base}unauthorized`,
  status: 401,
  title: "Unauthorized"
}) {}

/**
 * The request body is larger than the server accepts.
 *
 * @since 0.1.0
 * @category errors
 */
export class PayloadTooLarge extends HttpApiError.Problem<PayloadTooLarge>()(
  "PayloadTooLarge",
  {
    type: `${base}payload-too-large`,
    status: 413,
    title: "Payload Too Large"
  },
  { limitBytes: Schema.Number }
) {}

/**
 * The server is at its concurrency limit and its queue is full; retry after `retryAfterSeconds` (also sent as
 * the `Retry-After` header).
 *
 * @since 0.1.0
 * @category errors
 */
export class TooManyRequests extends HttpApiError.Problem<TooManyRequests>()(
  "TooManyRequests",
  {
    type: `${base}too-many-requests`,
    status: 429,
    title: "Too Many Requests"
  },
  { retryAfterSeconds: Schema.Number }
) {}

/**
 * The client did not send its request body in time.
 *
 * @since 0.1.0
 * @category errors
 */
export class RequestTimeout extends HttpApiError.Problem<RequestTimeout>()("RequestTimeout", {
  type: `${base}request-timeout`,
  status: 408,
  title: "Request Timeout"
}) {}

/**
 * The request did not finish within the server's per-request timeout.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProcessingTimeout extends HttpApiError.Problem<ProcessingTimeout>()(
  "ProcessingTimeout",
  {
    type: `${base}processing-timeout`,
    status: 503,
    title: "Processing Timeout"
  },
  { timeoutMs: Schema.Number }
) {}

/**
 * The endpoint needs a model the server was not started with (e.g. `/v1/queries` without a query model, or
 * `min_grade` without a score model).
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelNotConfigured extends HttpApiError.Problem<ModelNotConfigured>()(
  "ModelNotConfigured",
  {
    type: `${base}model-not-configured`,
    status: 501,
    title: "Model Not Configured"
  },
  { model: Schema.Literals(["embedder", "score-model", "query-model"]) }
) {}

/**
 * A model backend failed (e.g. a remote endpoint is down).
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelFailed extends HttpApiError.Problem<ModelFailed>()(
  "ModelFailed",
  {
    type: `${base}model-failed`,
    status: 502,
    title: "Model Failed"
  },
  { backend: Schema.String, reason: Schema.String }
) {}

/**
 * The server is not ready (models still loading or shutting down).
 *
 * @since 0.1.0
 * @category errors
 */
export class NotReady extends HttpApiError.Problem<NotReady>()("NotReady", {
  type: `${base}not-ready`,
  status: 503,
  title: "Not Ready"
}) {}

/**
 * No route matches the method and path.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends HttpApiError.Problem<NotFound>()("NotFound", {
  type: `${base}not-found`,
  status: 404,
  title: "Not Found"
}) {}

/**
 * The path exists but not for this method (the `allow` header lists the methods it takes).
 *
 * @since 0.1.0
 * @category errors
 */
export class MethodNotAllowed extends HttpApiError.Problem<MethodNotAllowed>()("MethodNotAllowed", {
  type: `${base}method-not-allowed`,
  status: 405,
  title: "Method Not Allowed"
}) {}

/**
 * The request body is not `application/json`.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsupportedMediaType extends HttpApiError.Problem<UnsupportedMediaType>()("UnsupportedMediaType", {
  type: `${base}unsupported-media-type`,
  status: 415,
  title: "Unsupported Media Type"
}) {}
