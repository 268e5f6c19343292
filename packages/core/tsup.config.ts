import { preset } from "@ssra/tooling-tsup"
import { defineConfig } from "tsup"

// one entry per src/*.ts (the preset's default): NodeVersion among them, which the bins load, and nothing else,
// before checking the Node version
export default defineConfig(preset())
