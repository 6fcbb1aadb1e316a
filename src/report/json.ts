/**
 * `results.json`: the whole RunResult, unchanged, for scripts and later tooling. Unlike the JUnit
 * file nothing is shortened or cleaned here; JSON can carry any text.
 */
import type { Reporter, RunResult } from './model.js';
import { writeReportFile } from './files.js';

export const JSON_FILE_NAME = 'results.json';
/** Bumped whenever a field is renamed or removed (adding fields keeps the version). */
export const RESULTS_SCHEMA_VERSION = 1;

export type ResultsDocument = { schemaVersion: typeof RESULTS_SCHEMA_VERSION } & RunResult;

/** The run as pretty-printed JSON with `schemaVersion` first and a final newline. Pure. */
export function renderJson(result: RunResult): string {
  const document: ResultsDocument = { schemaVersion: RESULTS_SCHEMA_VERSION, ...result };
  return JSON.stringify(document, null, 2) + '\n';
}

/** Writes `<reportDir>/results.json` when the run ends. */
export class JsonReporter implements Reporter {
  /** Absolute path of the last file written. */
  written: string | undefined;

  constructor(private readonly options: { fileName?: string } = {}) {}

  async onRunEnd(result: RunResult): Promise<void> {
    this.written = await writeReportFile(result.reportDir, this.options.fileName ?? JSON_FILE_NAME, renderJson(result));
  }
}
