/**
 * The parse/serialize seam of the libvirt XML module: a real XML parser (@xmldom/xmldom, a W3C DOM that
 * keeps element order, attribute order, whitespace and comments) under a small serializer of our own, so
 * that a document read and written back without changes is the same text, in libvirt's own style
 * (single-quoted attributes, `<empty/>` elements). Values are escaped here and only here: callers set
 * attributes and text on elements, they never build markup from strings.
 */
import { DOMParser, type Document, type Element, type Node } from '@xmldom/xmldom';

export type { Element } from '@xmldom/xmldom';

/** XML that is not well-formed (or empty). */
export class LibvirtXmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LibvirtXmlError';
  }
}

const ELEMENT = 1;
const TEXT = 3;
const CDATA = 4;
const PROCESSING_INSTRUCTION = 7;
const COMMENT = 8;
const DOCUMENT = 9;

function parser(): DOMParser {
  return new DOMParser({
    locator: false,
    onError: (level, message) => {
      if (level !== 'warning') throw new LibvirtXmlError(`not well-formed XML: ${message}`);
    },
  });
}

function parseDocument(text: string): Document {
  try {
    return parser().parseFromString(text, 'text/xml');
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/^Reporting \w+ "(.*?)" caused .*$/s, '$1') : String(error);
    throw new LibvirtXmlError(message.startsWith('not well-formed') ? message : `not well-formed XML: ${message}`);
  }
}

/** The root element of an XML text; throws LibvirtXmlError when it is not well-formed. */
export function parseXml(text: string): Element {
  const root = parseDocument(text).documentElement;
  if (!root) throw new LibvirtXmlError('not well-formed XML: no root element');
  return root;
}

/** The root element, or undefined for output that is not XML (a failed command, an empty string). */
export function tryParseXml(text: string): Element | undefined {
  try {
    return parseXml(text);
  } catch (error) {
    if (error instanceof LibvirtXmlError) return undefined;
    throw error;
  }
}

/**
 * Parses `text`, lets `edit` change the tree, and writes the whole document back: everything `edit`
 * did not touch (whitespace, comments, attribute order, the trailing newline) stays as it was.
 */
export function rewriteXml(text: string, edit: (root: Element) => void): string {
  const document = parseDocument(text);
  const root = document.documentElement;
  if (!root) throw new LibvirtXmlError('not well-formed XML: no root element');
  edit(root);
  const leading = /^\s*/.exec(text)![0];
  const trailing = /\s*$/.exec(text)![0];
  return leading + serializeXml(document) + trailing;
}

export function escapeAttribute(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function escapeText(value: string): string {
  return value.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

export interface SerializeOptions {
  /**
   * Indent elements whose children are all elements, one step per level (for trees built here, which
   * have no whitespace nodes). Without it the tree is written as it is.
   */
  indent?: string;
}

/** Writes a node (a document, an element, ...) as XML text. */
export function serializeXml(node: Node, options: SerializeOptions = {}): string {
  return write(node, options.indent, 0);
}

function write(node: Node, indent: string | undefined, level: number): string {
  switch (node.nodeType) {
    case DOCUMENT:
      return childList(node)
        .map((child) => write(child, indent, level))
        .join(indent === undefined ? '' : '\n');
    case ELEMENT: {
      const element = node as Element;
      let open = `<${element.tagName}`;
      for (let i = 0; i < element.attributes.length; i++) {
        const attribute = element.attributes.item(i)!;
        open += ` ${attribute.name}='${escapeAttribute(attribute.value)}'`;
      }
      const children = childList(element);
      if (children.length === 0) return `${open}/>`;
      const blockOfElements = indent !== undefined && children.every((child) => child.nodeType === ELEMENT);
      if (!blockOfElements) return `${open}>${children.map((child) => write(child, indent, level + 1)).join('')}</${element.tagName}>`;
      const inner = indent!.repeat(level + 1);
      return `${open}>\n${children.map((child) => `${inner}${write(child, indent, level + 1)}\n`).join('')}${indent!.repeat(level)}</${element.tagName}>`;
    }
    case TEXT:
      return escapeText(node.nodeValue ?? '');
    case CDATA:
      return `<![CDATA[${node.nodeValue ?? ''}]]>`;
    case COMMENT:
      return `<!--${node.nodeValue ?? ''}-->`;
    case PROCESSING_INSTRUCTION:
      return `<?${node.nodeName} ${node.nodeValue ?? ''}?>`;
    default:
      return '';
  }
}

function childList(node: Node): Node[] {
  const list: Node[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) list.push(child);
  return list;
}

// ---- reading ----

/** The element children of `element`, all or those named `name`. */
export function children(element: Element, name?: string): Element[] {
  return childList(element).filter((child): child is Element => child.nodeType === ELEMENT && (name === undefined || (child as Element).tagName === name));
}

/** The first element child named `name`. */
export function child(element: Element | undefined, name: string): Element | undefined {
  return element ? children(element, name)[0] : undefined;
}

/** The element at a path of child names (`child(child(e, 'os'), 'nvram')`). */
export function path(element: Element | undefined, ...names: string[]): Element | undefined {
  let current = element;
  for (const name of names) current = child(current, name);
  return current;
}

/** `element` itself and every element below it named `name`, in document order. */
export function elementsNamed(element: Element, name: string): Element[] {
  const found: Element[] = element.tagName === name ? [element] : [];
  for (const below of children(element)) found.push(...elementsNamed(below, name));
  return found;
}

/** An attribute's value; undefined when it is absent. */
export function attr(element: Element | undefined, name: string): string | undefined {
  return element?.hasAttribute(name) ? (element.getAttribute(name) ?? undefined) : undefined;
}

/** The element's text, trimmed; undefined when it is absent or empty. */
export function text(element: Element | undefined): string | undefined {
  const value = element?.textContent?.trim();
  return value ? value : undefined;
}

// ---- building and changing ----

const factory = parser().parseFromString('<factory/>', 'text/xml');

export type Attributes = Record<string, string | number | undefined>;
export type Child = Element | string | number | undefined | false;

/** A new element: attributes in the given order (undefined ones left out), then children (text escaped on output). */
export function el(name: string, attributes: Attributes = {}, ...content: Child[]): Element {
  const element = factory.createElement(name);
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) element.setAttribute(key, String(value));
  for (const item of content) {
    if (item === undefined || item === false) continue;
    element.appendChild(typeof item === 'object' ? item : factory.createTextNode(String(item)));
  }
  return element;
}

/** Removes an element and the whitespace just before it, so the lines around it stay as they were. */
export function removeElement(element: Element): void {
  const parent = element.parentNode;
  if (!parent) return;
  const before = element.previousSibling;
  if (before && before.nodeType === TEXT && !(before.nodeValue ?? '').trim()) parent.removeChild(before);
  parent.removeChild(element);
}

/** Puts `replacement` where `element` is. */
export function replaceElement(element: Element, replacement: Element): void {
  const owner = element.ownerDocument;
  const node = owner && replacement.ownerDocument !== owner ? (owner.importNode(replacement, true) as Element) : replacement;
  element.parentNode?.replaceChild(node, element);
}
