import { readFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { ZodError, ZodType } from 'zod';
import { ConfigError } from '../errors.js';
import { configSchema, type ImgtestConfig } from './schema.js';

/** The config used when no file is given: built-in defaults, hosts from the local lab. */
export function defaultConfig(): ImgtestConfig {
  return configSchema.parse({});
}

/** A config with where it came from: the file, and the line of any field (for later checks' errors). */
export interface LoadedConfig {
  config: ImgtestConfig;
  /** The file as the user named it; undefined for the built-in defaults. */
  file?: string;
  /** The line of a field (e.g. ['suites', 'ssh-hardening', 'maxAuthTries']), or of its nearest parent the file has. */
  lineOf(path: readonly PropertyKey[]): number | undefined;
}

/** Reads and validates a YAML config; errors name the file, line and field. */
export async function loadConfig(path: string): Promise<ImgtestConfig> {
  return (await loadConfigSource(path)).config;
}

/** Like `loadConfig`, keeping the file's line positions for the checks made later (suite options). */
export async function loadConfigSource(path: string): Promise<LoadedConfig> {
  return parseConfigSource(await readYamlText(path, 'config'), path);
}

/** The built-in defaults, as a source with no file. */
export function defaultConfigSource(): LoadedConfig {
  return { config: defaultConfig(), lineOf: () => undefined };
}

export function parseConfig(text: string, fileName: string): ImgtestConfig {
  return parseConfigSource(text, fileName).config;
}

export function parseConfigSource(text: string, fileName: string): LoadedConfig {
  const { data, lineOf } = parseYamlSource(text, fileName, configSchema);
  return { config: data, file: fileName, lineOf };
}

/** A YAML file's text; a file that cannot be read is a ConfigError naming it and what it is (`config`, `waiver file`). */
export async function readYamlText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${path}: cannot read ${what} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

/** A YAML document checked against a schema, with the line of any field (for later checks' errors). */
export interface YamlSource<T> {
  /** The schema's output. */
  data: T;
  /** The line of a field (e.g. ['waivers', 2, 'expires']), or of its nearest parent the file has. */
  lineOf(path: readonly PropertyKey[]): number | undefined;
}

/**
 * Parses YAML text (an empty document is `{}`) and validates it with a zod schema. Every error is a
 * ConfigError of one line naming the file, the line and the field, as the config's are:
 * `imgtest.yaml:3: guest.memoryMiB: Invalid input: expected number`, `x.yaml:2: invalid YAML: ...`
 * (an unclosed quote: the line it opens on); the first issue of the schema is the one told.
 */
export function parseYamlSource<T>(text: string, fileName: string, schema: ZodType<T>): YamlSource<T> {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const yamlError = document.errors[0];
  if (yamlError) {
    // `linePos` is only filled in with prettyErrors (which makes multi-line messages); the offset is always there.
    const line = yamlError.linePos?.[0]?.line ?? counter(lineCounter, openingQuote(text, yamlError) ?? yamlError.pos[0]);
    throw new ConfigError(`${fileName}${line ? `:${line}` : ''}: invalid YAML: ${yamlError.message.split('\n')[0]}`);
  }
  const data: unknown = document.toJS() ?? {};
  const result = schema.safeParse(data);
  const lineFor = (path: readonly PropertyKey[]) => lineOf(document, lineCounter, path);
  if (result.success) return { data: result.data, lineOf: lineFor };
  throw new ConfigError(describeIssue(result.error, fileName, lineFor));
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

function describeIssue(error: ZodError, fileName: string, lineFor: (path: readonly PropertyKey[]) => number | undefined): string {
  const issue = error.issues[0]!;
  const path = issue.path;
  const field = path.length
    ? path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('')
        .replace(/^\./, '')
    : '(top level)';
  // An unknown field is named at its own line, not its parent's.
  const line = lineFor(issue.code === 'unrecognized_keys' ? [...path, issue.keys[0]!] : path);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown field(s) ${issue.keys.join(', ')}`;
  return `${fileName}${line ? `:${line}` : ''}: ${field}: ${message}`;
}

/**
 * The line of the deepest node on `path` that exists in the document: for a member of a mapping, the
 * line of its key (a block value starts on the next line, but the user reads the field by its key).
 */
function lineOf(document: ReturnType<typeof parseDocument>, counter: LineCounter, path: readonly PropertyKey[]): number | undefined {
  const lineAt = (node: unknown) => {
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    return range ? counter.linePos(range[0]).line : undefined;
  };
  let node: unknown = document.contents;
  let line = lineAt(node);
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => String(isScalar(item.key) ? item.key.value : item.key) === String(segment));
      if (!pair) break;
      line = lineAt(pair.key) ?? lineAt(pair.value) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
      node = node.items[segment];
      line = lineAt(node) ?? line;
    } else {
      break;
    }
  }
  return line;
}
