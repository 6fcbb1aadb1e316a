/** imgtest as a library: the plugin contract, the built-in suites, and the result model. */
export * from './suite-api/index.js';
export type { RunResult, SuiteResult, CaseResult, Reporter } from './report/model.js';
export { builtInSuites } from './suites.js';
