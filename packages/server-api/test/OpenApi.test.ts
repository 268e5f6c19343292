import { Api } from "@ssra/server-api"
import { OpenApi } from "effect/http-api"
import { assert, describe, it } from "vitest"
import { validateOpenApi } from "./validateOpenApi.js"

const expected: ReadonlyArray<readonly [string, string]> = [
  ["/v1/embeddings", "post"],
  ["/v1/rerank", "post"],
  ["/v1/relevance", "post"],
  ["/v1/filter", "post"],
  ["/v1/queries", "post"],
  ["/healthz", "get"],
  ["/readyz", "get"],
  ["/metrics", "get"]
]

describe("the OpenAPI document", () => {
  const document = JSON.parse(JSON.stringify(OpenApi.fromApi(Api.Api)))

  it("is a valid OpenAPI 3.x document with every endpoint and resolvable refs", () => {
    const problems = validateOpenApi(document, expected)
    assert.deepStrictEqual(problems, [])
  })

  it("declares bearer auth on everything but /healthz and problem+json errors", () => {
    const bearer = document.components.securitySchemes.bearer
    assert.strictEqual(bearer.type, "http")
    assert.strictEqual(bearer.scheme.toLowerCase(), "bearer")
    assert.deepStrictEqual(document.paths["/healthz"].get.security ?? [], [])
    assert.deepStrictEqual(document.paths["/v1/embeddings"].post.security, [{ bearer: [] }])
    assert.deepStrictEqual(document.paths["/metrics"].get.security, [{ bearer: [] }])
    const responses = document.paths["/v1/rerank"].post.responses
    for (const status of ["400", "401", "413", "429", "501", "503"]) {
      assert.property(responses, status)
      assert.property(responses[status].content, "application/problem+json")
    }
  })

  it("the validator catches what it claims to", () => {
    const broken = JSON.parse(JSON.stringify(document))
    broken.openapi = "2.0"
    delete broken.paths["/v1/filter"]
    broken.paths["/v1/rerank"].post.responses["200"].content["application/json"].schema = {
      $ref: "#/components/schemas/Missing"
    }
    broken.paths["/healthz"].get.responses["99"] = { description: "bad" }
    const problems = validateOpenApi(broken, expected)
    assert.include(problems.join("\n"), "openapi")
    assert.include(problems.join("\n"), "POST /v1/filter")
    assert.include(problems.join("\n"), "#/components/schemas/Missing")
    assert.include(problems.join("\n"), "99")
  })
})
