import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import type { ZodError } from 'zod';
import { ConfigError } from '../errors.js';
import { configSchema, type ImgtestConfig } from './schema.js';

/** The config used when no file is given: built-in defaults, hosts from the local lab. */
export function defaultConfig(): ImgtestConfig {
  return configSchema.parse({});
}

/** Reads and validates a YAML config; errors name the file, line and field. */
export async function loadConfig(path: string): Promise<ImgtestConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${path}: cannot read config (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return parseConfig(text, path);
}

export function parseConfig(text: string, fileName: string): ImgtestConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const yamlError = document.errors[0];
  if (yamlError) {
    // `linePos` is only filled in with prettyErrors (which makes multi-line messages); the offset is always there.
    const line = yamlError.linePos?.[0]?.line ?? counter(lineCounter, openingQuote(text, yamlError) ?? yamlError.pos[0]);
    throw new ConfigError(`${fileName}${line ? `:${line}` : ''}: invalid YAML: ${yamlError.message.split('\n')[0]}`);
  }
  const data: unknown = document.toJS() ?? {};
  const result = configSchema.safeParse(data);
  if (result.success) return result.data;
  throw new ConfigError(describeIssue(result.error, fileName, (path) => lineOf(document, lineCounter, path)));
}

/**
 * An unclosed quote is reported where the file ends; the user needs the line where it opened: the
 * last quote of that kind before the end that is not escaped (\" in double, '' in single quotes).
 */
function openingQuote(text: string, error: { code: string; message: string; pos: [number, number] }): number | undefined {
  const quote = error.code === 'MISSING_CHAR' ? /closing (["'])quote/.exec(error.message)?.[1] : undefined;
  if (!quote) return undefined;
  for (let at = text.lastIndexOf(quote, error.pos[0] - 1); at >= 0; at = text.lastIndexOf(quote, at - 1)) {
    if (quote === '"' && /(^|[^\\])(\\\\)*$/.test(text.slice(Math.max(0, at - 16), at))) return at;
    if (quote === "'") {
      if (text[at - 1] === "'") {
        at--;
        continue;
      }
      return at;
    }
  }
  return undefined;
}

function counter(lines: LineCounter, offset: number | undefined): number | undefined {
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

function describeIssue(error: ZodError, fileName: string, lineFor: (path: PropertyKey[]) => number | undefined): string {
  const issue = error.issues[0]!;
  const path = issue.path;
  const field = path.length ? path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : '(top level)';
  const line = lineFor(path as PropertyKey[]);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown field(s) ${issue.keys.join(', ')}`;
  return `${fileName}${line ? `:${line}` : ''}: ${field}: ${message}`;
}

/** The line of the deepest node on `path` that exists in the document. */
function lineOf(document: ReturnType<typeof parseDocument>, counter: LineCounter, path: PropertyKey[]): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = document.getIn(path.slice(0, depth) as unknown[], true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return counter.linePos(node.range[0]).line;
    if (depth === 0) {
      const contents = document.contents as { range?: [number, number, number] } | null;
      if (contents?.range) return counter.linePos(contents.range[0]).line;
    }
  }
  return undefined;
}
