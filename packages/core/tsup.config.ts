import { preset } from "@ssra/tooling-tsup"
import { defineConfig } from "tsup"

// NodeVersion is its own entry: the bins load it, and nothing else, before checking the Node version
export default defineConfig(preset({ entry: ["src/index.ts", "src/NodeVersion.ts"] }))
