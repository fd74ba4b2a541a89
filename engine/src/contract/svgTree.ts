/**
 * A drawing as plain data: what the run-graph renderer returns, so that the kernel turns it into
 * a string and the browsers into elements without either side reading HTML. Text is always a
 * text node (never markup), so untrusted names cannot inject anything.
 */
export interface SvgNode {
  readonly tag: string;
  readonly attrs: Readonly<Record<string, string | number>>;
  readonly children?: readonly SvgNode[];
  readonly text?: string;
}

export const SVG_NS = "http://www.w3.org/2000/svg";

export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Self-contained SVG markup (no scripts, no external resources), readable in any viewer. */
export function svgToString(node: SvgNode): string {
  const attrs = Object.entries(node.attrs).map(([name, value]) => ` ${name}="${escapeXml(String(value))}"`).join("");
  const inner = (node.text === undefined ? "" : escapeXml(node.text)) + (node.children ?? []).map(svgToString).join("");
  return `<${node.tag}${attrs}>${inner}</${node.tag}>`;
}

/** What svgToDom needs of an element; structural, so the contract needs no DOM types. */
export interface ElementLike {
  setAttribute(name: string, value: string): void;
  appendChild(child: never): unknown;
  textContent: string | null;
}

/** Builds elements in a browser document (`svgToDom(node, document)`). */
export function svgToDom<E extends ElementLike>(node: SvgNode, doc: { createElementNS(namespace: typeof SVG_NS, name: string): E }): E {
  const element = doc.createElementNS(SVG_NS, node.tag);
  for (const [name, value] of Object.entries(node.attrs)) {
    // xmlns is implied by createElementNS; setting it as an attribute throws in a DOM.
    if (name !== "xmlns") element.setAttribute(name, String(value));
  }
  if (node.text !== undefined) element.textContent = node.text;
  for (const child of node.children ?? []) element.appendChild(svgToDom(child, doc) as never);
  return element;
}
