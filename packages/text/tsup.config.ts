import { preset } from "@ssra/tooling-tsup"
import { defineConfig } from "tsup"

export default defineConfig(preset())
