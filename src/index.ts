/** imgtest as a library: the plugin contract, the suite loader, and the result model. */
export * from './suite-api/index.js';
export type { RunResult, SuiteResult, CaseResult, Reporter } from './report/model.js';
export { builtInSuiteModules, loadSuite, loadSuites } from './plugins/load-suites.js';
