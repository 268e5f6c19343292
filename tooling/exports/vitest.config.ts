import { preset } from "@ssra/tooling-vitest"
import { defineConfig } from "vitest/config"

export default defineConfig(preset("exports"))
