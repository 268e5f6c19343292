#!/usr/bin/env node
/**
 * The `ssra-server` executable: checks the Node version against this package's `engines` before loading anything
 * that breaks on an older Node (the command tree is in `main.ts`), then runs it.
 *
 * @since 0.1.0
 */
import { check } from "@ssra/core/NodeVersion"

// a variable specifier: the bundler leaves main.js (its own entry) out of bin.js, so it loads only after the check
const main = "./main.js"
if (await check(new URL("../package.json", import.meta.url))) await import(main)
