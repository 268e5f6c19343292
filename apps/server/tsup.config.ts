import { preset } from "@ssra/tooling-tsup"
import { defineConfig } from "tsup"

// src/bin.ts starts with `#!/usr/bin/env node`, which esbuild keeps at the top of dist/bin.js.
export default defineConfig(preset({ entry: ["src/index.ts", "src/bin.ts", "src/main.ts"] }))
