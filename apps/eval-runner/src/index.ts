/**
 * @ssra/app-eval-runner — `ssra-eval`: evaluation suites, TREC tools, comparisons and HTML reports.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"
export * as Runner from "./Runner.js"
export * as Suite from "./Suite.js"
export * as Systems from "./Systems.js"
