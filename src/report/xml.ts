/**
 * Text hygiene and a tiny XML writer for the reporters (no dependencies).
 *
 * Everything that reaches a report or the console goes through `cleanText` first: guest consoles
 * and tools print ANSI colour codes, carriage returns and stray control bytes, and XML 1.0 cannot
 * carry most control characters at all (not even escaped).
 */

// CSI sequences (ESC [ ... final byte), including the 8-bit CSI introducer.
const ANSI_CSI = /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]/g;
// OSC sequences (ESC ] ... BEL or ESC \), e.g. terminal titles and hyperlinks.
const ANSI_OSC = /(?:\u001b\]|\u009d)[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)/g;
// DCS / SOS / PM / APC strings (ESC P|X|^|_ ... ESC \). Unterminated ones lose only their
// introducer (below), never the text after them.
const ANSI_STRING = /\u001b[PX^_][^\u001b]*\u001b\\/g;
// Any other two-byte escape (ESC followed by one byte in 0x20-0x7e), e.g. ESC c, ESC (B, ESC 7.
const ANSI_OTHER = /\u001b[ -/]*[0-~]/g;
// Characters XML 1.0 forbids (C0 controls except TAB LF CR, U+FFFE, U+FFFF), plus DEL and C1
// controls, which XML allows but which are never meaningful text here.
const INVALID_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffe\uffff]/g;
// UTF-16 halves without their partner (cannot be encoded as UTF-8).
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Removes terminal escape sequences. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_OSC, '').replace(ANSI_STRING, '').replace(ANSI_CSI, '').replace(ANSI_OTHER, '');
}

/**
 * Makes arbitrary text safe for XML and terminals: strips ANSI sequences, normalises line endings
 * to `\n`, removes XML-invalid and control characters and unpaired surrogates. Keeps TAB and LF.
 */
export function cleanText(text: string): string {
  return stripAnsi(String(text)).replace(/\r\n?/g, '\n').replace(INVALID_CHARS, '').replace(LONE_SURROGATE, '');
}

/** Shortens to at most `max` characters (code points, so emoji are not cut in half), ending in `…`. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return (
    chars
      .slice(0, Math.max(0, max - 1))
      .join('')
      .trimEnd() + '…'
  );
}

/** Cleans text and makes it one short line: all whitespace runs (newlines included) become one space. */
export function oneLine(text: string, max = 300): string {
  return truncate(cleanText(text).replace(/\s+/g, ' ').trim(), max);
}

/**
 * Caps a long block of text, keeping its head and tail (the interesting parts of a log) and saying
 * how much was left out in between.
 */
export function capBlock(text: string, max: number): string {
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  let head = text.slice(0, half);
  let tail = text.slice(text.length - half);
  // Do not split a surrogate pair at either cut.
  if (/[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1);
  if (/^[\udc00-\udfff]/.test(tail)) tail = tail.slice(1);
  const omitted = text.length - head.length - tail.length;
  return `${head}\n[... ${omitted} characters omitted; the full text is in results.json ...]\n${tail}`;
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\n': '&#10;',
  '\t': '&#9;',
};

/** Escapes cleaned text for element content (`]]>` cannot occur: `>` is always escaped). */
export function escapeText(text: string): string {
  return cleanText(text).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Escapes cleaned text for an attribute value (newlines and tabs as references so they survive). */
export function escapeAttr(text: string): string {
  return cleanText(text).replace(/[&<>"'\n\t]/g, (c) => ESCAPES[c] ?? c);
}

export type XmlAttrs = ReadonlyArray<readonly [name: string, value: string | number | undefined]>;

/**
 * Builds an indented XML document line by line. Element content written with `textElement` is
 * emitted verbatim (no indentation is added inside it), so multi-line text keeps its shape.
 */
export class XmlWriter {
  private readonly lines: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  private readonly stack: string[] = [];

  private indent(): string {
    return '  '.repeat(this.stack.length);
  }

  private static attrs(attrs: XmlAttrs): string {
    return attrs
      .filter((a): a is readonly [string, string | number] => a[1] !== undefined)
      .map(([name, value]) => ` ${name}="${escapeAttr(String(value))}"`)
      .join('');
  }

  open(name: string, attrs: XmlAttrs = []): this {
    this.lines.push(`${this.indent()}<${name}${XmlWriter.attrs(attrs)}>`);
    this.stack.push(name);
    return this;
  }

  close(): this {
    const name = this.stack.pop();
    if (name === undefined) throw new Error('XmlWriter: close() without open()');
    this.lines.push(`${this.indent()}</${name}>`);
    return this;
  }

  /** `<name attrs/>` */
  empty(name: string, attrs: XmlAttrs = []): this {
    this.lines.push(`${this.indent()}<${name}${XmlWriter.attrs(attrs)}/>`);
    return this;
  }

  /** `<name attrs>text</name>`, or `<name attrs/>` when the text is empty. */
  textElement(name: string, attrs: XmlAttrs, text: string): this {
    const content = escapeText(text);
    if (content === '') return this.empty(name, attrs);
    this.lines.push(`${this.indent()}<${name}${XmlWriter.attrs(attrs)}>${content}</${name}>`);
    return this;
  }

  toString(): string {
    if (this.stack.length > 0) throw new Error(`XmlWriter: unclosed <${this.stack.join('> <')}>`);
    return this.lines.join('\n') + '\n';
  }
}
