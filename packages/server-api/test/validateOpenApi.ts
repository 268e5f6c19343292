// A structural OpenAPI 3.x check: version, info, paths and operations, response codes and descriptions, unique
// operation ids, declared security schemes, path parameters, and that every $ref resolves in the document.

const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
const schemaTypes = new Set(["object", "array", "string", "number", "integer", "boolean", "null"])

const resolvePointer = (document: unknown, ref: string): unknown => {
  if (!ref.startsWith("#/")) return undefined
  let node: unknown = document
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~")
    if (node === null || typeof node !== "object" || !(key in node)) return undefined
    node = (node as Record<string, unknown>)[key]
  }
  return node
}

export const validateOpenApi = (
  document: any,
  expected: ReadonlyArray<readonly [path: string, method: string]>
): Array<string> => {
  const problems: Array<string> = []
  if (typeof document !== "object" || document === null) return ["document is not an object"]
  if (typeof document.openapi !== "string" || !/^3\.\d+\.\d+$/.test(document.openapi)) {
    problems.push(`openapi must be 3.x.y, got ${JSON.stringify(document.openapi)}`)
  }
  if (typeof document.info?.title !== "string" || typeof document.info?.version !== "string") {
    problems.push("info.title and info.version must be strings")
  }
  if (typeof document.paths !== "object" || document.paths === null) problems.push("paths must be an object")
  const schemes = document.components?.securitySchemes ?? {}
  const operationIds = new Set<string>()
  for (const [path, item] of Object.entries<any>(document.paths ?? {})) {
    if (!path.startsWith("/")) problems.push(`path ${path} must start with /`)
    for (const method of Object.keys(item)) {
      if (!methods.includes(method) && method !== "parameters" && method !== "summary" && method !== "description") {
        problems.push(`${path}: unknown key ${method}`)
        continue
      }
      if (!methods.includes(method)) continue
      const operation = item[method]
      const where = `${method.toUpperCase()} ${path}`
      if (typeof operation.operationId === "string") {
        if (operationIds.has(operation.operationId))
          problems.push(`${where}: duplicate operationId ${operation.operationId}`)
        operationIds.add(operation.operationId)
      }
      if (typeof operation.responses !== "object" || Object.keys(operation.responses).length === 0) {
        problems.push(`${where}: no responses`)
      }
      for (const [code, response] of Object.entries<any>(operation.responses ?? {})) {
        if (!/^[1-5](\d\d|XX)$/.test(code) && code !== "default")
          problems.push(`${where}: invalid response code ${code}`)
        if (response.$ref === undefined && typeof response.description !== "string") {
          problems.push(`${where} ${code}: response needs a description`)
        }
      }
      for (const requirement of operation.security ?? []) {
        for (const name of Object.keys(requirement)) {
          if (!(name in schemes)) problems.push(`${where}: security scheme ${name} is not declared`)
        }
      }
      const declared = new Set((operation.parameters ?? []).filter((p: any) => p.in === "path").map((p: any) => p.name))
      for (const match of path.matchAll(/\{([^}]+)\}/g)) {
        if (!declared.has(match[1])) problems.push(`${where}: path parameter ${match[1]} is not declared`)
      }
    }
  }
  for (const [path, method] of expected) {
    if (document.paths?.[path]?.[method] === undefined)
      problems.push(`missing operation ${method.toUpperCase()} ${path}`)
  }
  const visit = (node: unknown, at: string): void => {
    if (Array.isArray(node)) {
      node.forEach((child, i) => {
        visit(child, `${at}/${i}`)
      })
      return
    }
    if (node === null || typeof node !== "object") return
    const record = node as Record<string, unknown>
    if (typeof record.$ref === "string" && resolvePointer(document, record.$ref) === undefined) {
      problems.push(`${at}: unresolved $ref ${record.$ref}`)
    }
    if (typeof record.type === "string" && at.includes("schema") && !schemaTypes.has(record.type)) {
      problems.push(`${at}: unknown schema type ${record.type}`)
    }
    for (const [key, child] of Object.entries(record)) visit(child, `${at}/${key}`)
  }
  visit(document, "#")
  return problems
}
