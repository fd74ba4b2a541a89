import { formatDuration, type RunView, type StepView } from "pipebook/contract";
import { layoutRun } from "./runLayout.js";
import { escapeXml, STEP_STYLE } from "./stepStyle.js";

const W = 168;
const H = 58;
const GAP_X = 64;
const GAP_Y = 22;
const PAD = 16;

/** The run's graph as a self-contained SVG (no scripts, no external fonts), readable in any viewer. */
export function renderRunSvg(view: RunView): string {
  const { placed, layers, rows } = layoutRun(view);
  const at = new Map(placed.map((p) => [p.name, { x: PAD + p.layer * (W + GAP_X), y: PAD + p.row * (H + GAP_Y) }]));
  const width = PAD * 2 + layers * W + (layers - 1) * GAP_X;
  const height = PAD * 2 + rows * H + (rows - 1) * GAP_Y;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" role="img" aria-label="pipeline run ${escapeXml(view.runId)}">`);
  parts.push(`<defs><marker id="pb-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#80868b"/></marker></defs>`);
  for (const e of view.edges) {
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + W; const y1 = a.y + H / 2; const x2 = b.x; const y2 = b.y + H / 2;
    const mx = (x1 + x2) / 2;
    parts.push(`<path d="M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2 - 2} ${y2}" fill="none" stroke="#80868b" stroke-width="1.5" marker-end="url(#pb-arrow)"><title>${escapeXml(e.data)}</title></path>`);
    parts.push(`<text x="${mx}" y="${(y1 + y2) / 2 - 4}" font-size="10" fill="#5f6368" text-anchor="middle">${escapeXml(e.data)}</text>`);
  }
  for (const s of view.steps) {
    const p = at.get(s.name);
    if (p) parts.push(stepNode(s, p.x, p.y));
  }
  parts.push("</svg>");
  return parts.join("");
}

function stepNode(s: StepView, x: number, y: number): string {
  const st = STEP_STYLE[s.status];
  const detail = s.status === "reused" && s.reusedFrom ? `reused · run ${s.reusedFrom.runId.slice(-6)}` : [st.label, formatDuration(s.durationMs)].filter(Boolean).join(" · ");
  const title = [s.name, s.status, s.why ?? "", s.error ?? ""].filter(Boolean).join("\n");
  const dash = s.status === "reused" ? ` stroke-dasharray="5 3"` : "";
  return `<g data-step="${escapeXml(s.name)}" data-status="${s.status}"><title>${escapeXml(title)}</title>`
    + `<rect x="${x}" y="${y}" width="${W}" height="${H}" rx="8" fill="${st.fill}" stroke="${st.stroke}" stroke-width="2"${dash}/>`
    + `<text x="${x + 12}" y="${y + 23}" font-size="14" font-weight="bold" fill="#202124">${escapeXml(st.symbol)} ${escapeXml(truncate(s.name, 17))}</text>`
    + `<text x="${x + 12}" y="${y + 43}" font-size="11" fill="${st.stroke}">${escapeXml(truncate(detail, 26))}</text></g>`;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
