import { preset } from "@ssra/tooling-tsup"
import { defineConfig } from "tsup"

export default defineConfig(preset({ entry: ["src/index.ts", "src/bin.ts", "src/main.ts"] }))
