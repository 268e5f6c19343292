// @ssra/server-api: the serving API's specification, e.g. as an OpenAPI document for a client generator.
import { Api } from "@ssra/server-api"
import { OpenApi } from "effect/http-api"

const spec = OpenApi.fromApi(Api.Api)
const paths = Object.keys(spec.paths)
if (!paths.includes("/v1/embeddings")) throw new Error(`paths: ${paths.join(", ")}`)
console.log("server-api:", paths.join(" "))
