import type { TranslationBundle } from "@jupyterlab/translation";
import type { OutputPreview, OutputView } from "pipebook/contract";
import { unreachable } from "../unreachable.js";
import { html } from "./svg.js";

/** Image types drawn from base64; anything else (SVG included: it can carry script) is listed, not drawn. */
const SAFE_IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

export function outputsSection(outputs: readonly OutputView[], trans: TranslationBundle): HTMLElement {
  const section = html("div", "pb-Outputs");
  if (outputs.length === 0) {
    section.appendChild(html("div", "pb-Muted", trans.__("This step has no outputs.")));
    return section;
  }
  for (const output of outputs) {
    const block = html("div", "pb-Output");
    block.setAttribute("data-output", output.name);
    const head = html("div", "pb-Output-head");
    head.appendChild(html("span", "pb-Output-name", output.name));
    if (output.hash !== undefined) {
      head.appendChild(html("span", "pb-Muted", ` ${output.hash.slice(0, 12)}`));
    }
    block.appendChild(head);
    if (output.path !== undefined) {
      block.appendChild(html("div", "pb-Output-path", output.path));
    }
    block.appendChild(output.preview === undefined ? html("div", "pb-Muted", trans.__("No preview yet.")) : previewNode(output.preview, trans));
    section.appendChild(block);
  }
  return section;
}

function previewNode(preview: OutputPreview, trans: TranslationBundle): HTMLElement {
  switch (preview.kind) {
    case "table": {
      const wrap = html("div", "pb-Preview pb-Preview-table");
      const table = html("table");
      const head = table.createTHead().insertRow();
      for (const column of preview.columns) {
        head.appendChild(html("th", undefined, column));
      }
      const body = table.createTBody();
      for (const values of preview.rows) {
        const row = body.insertRow();
        for (const value of values) {
          row.appendChild(html("td", undefined, value));
        }
      }
      wrap.appendChild(table);
      if (preview.truncated) {
        wrap.appendChild(html("div", "pb-Muted", trans.__("First %1 rows shown.", preview.rows.length)));
      }
      return wrap;
    }
    case "text": {
      const pre = html("pre", "pb-Preview pb-Preview-text", preview.text + (preview.truncated ? "\n…" : ""));
      return pre;
    }
    case "json":
      return html("pre", "pb-Preview pb-Preview-json", JSON.stringify(preview.value, null, 2));
    case "image": {
      if (!SAFE_IMAGE_TYPES.has(preview.mime)) {
        return html("div", "pb-Muted", trans.__("Image of type %1 (not drawn).", preview.mime));
      }
      const img = html("img", "pb-Preview pb-Preview-image");
      img.src = `data:${preview.mime};base64,${preview.base64}`;
      img.alt = trans.__("output image");
      return img;
    }
    case "files": {
      const list = html("ul", "pb-Preview pb-Preview-files");
      for (const entry of preview.entries) {
        list.appendChild(html("li", undefined, `${entry.path}  (${formatBytes(entry.size)})`));
      }
      if (preview.truncated) {
        list.appendChild(html("li", "pb-Muted", "…"));
      }
      return list;
    }
    default:
      return unreachable(preview);
  }
}

export function formatBytes(size: number): string {
  if (size < 1024) {
    return `${size} B`;
  }
  if (size < 1024 * 1024) {
    return `${(size / 1024).toFixed(1)} KiB`;
  }
  return `${(size / (1024 * 1024)).toFixed(1)} MiB`;
}
