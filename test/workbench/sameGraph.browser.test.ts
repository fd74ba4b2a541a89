import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiTokens, CommandStep, Dataset, Experiment, Pipeline, PipelineData } from "pipebook";
import { startServer, type RunningServer } from "pipebook/server";
import { STATUS_TABLE, type RunView } from "pipebook/contract";
import { buildPage } from "../../engine/scripts/buildPage.mjs";
import { renderRunHtml } from "../../kernel/src/display/renderRunHtml.js";
import { sandbox, type Sandbox } from "../engine/helpers.js";
import { notebookWithRun } from "./fixtures/notebooks.js";
import { ARTIFACTS, cssRgb, openBrowser, type BrowserSession } from "./support/browser.js";
import { startWorkbench, type RunningWorkbench } from "./support/workbench.js";

/**
 * One real run, drawn in the three places a person sees it: the notebook's HTML fallback (what
 * a viewer without the extension shows), the JupyterLab renderer (a saved notebook in the real
 * workbench) and the studio page of the real `pipebook serve`. What is drawn is read back from
 * each browser page and must be the same: every node's place and size in the drawing's own
 * coordinates, its status, texts and colours, and every edge.
 */

interface DrawnNode {
  readonly step: string | null;
  readonly status: string | null;
  readonly box: readonly number[];
  readonly stroke: string;
  readonly fill: string;
  readonly texts: readonly (readonly [string | null, string | null, string])[];
}

interface DrawnData {
  readonly id: string | null;
  readonly box: readonly number[];
  readonly stroke: string;
  readonly fill: string;
  readonly texts: readonly (readonly [string | null, string | null, string])[];
}

interface Drawing {
  readonly viewBox: string | null;
  readonly nodes: readonly DrawnNode[];
  readonly data: readonly DrawnData[];
  readonly edges: readonly (readonly [string | null, string | null, string | null, string])[];
}

/** Reads the run graph inside `root` (an element holding one run's SVG). */
async function readDrawing(page: Page, root: string): Promise<Drawing> {
  return page.locator(root).first().evaluate((container): Drawing => {
    const svg = container.querySelector("svg");
    if (svg === null) throw new Error("no svg");
    const rootMatrix = svg.getScreenCTM()!.inverse();
    const round = (n: number) => Math.round(n * 10) / 10;
    const nodes = [...svg.querySelectorAll<SVGGElement>("g[data-step]")].map((g) => {
      const box = g.querySelector<SVGRectElement>(".pb-node-box")!;
      const b = box.getBBox();
      // The box's corners in the drawing's own coordinates, whatever a surface scales or translates.
      const m = rootMatrix.multiply(box.getScreenCTM()!);
      const a = new DOMPoint(b.x, b.y).matrixTransform(m);
      const z = new DOMPoint(b.x + b.width, b.y + b.height).matrixTransform(m);
      return {
        step: g.getAttribute("data-step"),
        status: g.getAttribute("data-status"),
        box: [a.x, a.y, z.x, z.y].map(round),
        stroke: getComputedStyle(box).stroke,
        fill: getComputedStyle(box).fill,
        texts: [...g.querySelectorAll("text")].map((t) => [t.getAttribute("class"), t.textContent, getComputedStyle(t).fill] as const),
      };
    });
    const data = [...svg.querySelectorAll<SVGGElement>("g[data-data]")].map((g) => {
      const box = g.querySelector<SVGRectElement>(".pb-data-box")!;
      const b = box.getBBox();
      const m = rootMatrix.multiply(box.getScreenCTM()!);
      const a = new DOMPoint(b.x, b.y).matrixTransform(m);
      const z = new DOMPoint(b.x + b.width, b.y + b.height).matrixTransform(m);
      return {
        id: g.getAttribute("data-data"),
        box: [a.x, a.y, z.x, z.y].map(round),
        stroke: getComputedStyle(box).stroke,
        fill: getComputedStyle(box).fill,
        texts: [...g.querySelectorAll("text")].map((t) => [t.getAttribute("class"), t.textContent, getComputedStyle(t).fill] as const),
      };
    });
    const edges = [...svg.querySelectorAll<SVGPathElement>("path.pb-edge")].map(
      (p) => [p.getAttribute("data-from"), p.getAttribute("data-to"), p.getAttribute("d"), getComputedStyle(p).stroke] as const,
    );
    return { viewBox: svg.getAttribute("viewBox"), nodes, data, edges };
  });
}

describe("one run graph, three surfaces", () => {
  let sb: Sandbox;
  let server: RunningServer;
  let workbench: RunningWorkbench;
  let browser: BrowserSession;
  let view: RunView;
  let token: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await buildPage();
    sb = await sandbox();
    // A registered dataset read by the first step: a data node, linked to its profile on the page.
    const seedFile = await sb.write("upload/seed.csv", "a,b\n1,2\n3,4\n");
    await sb.ws.getDefaultDatastore().uploadFiles([seedFile], { targetPath: "seed" });
    await Dataset.Tabular.fromDelimitedFiles([[sb.ws.getDefaultDatastore(), "seed/seed.csv"]]).register(sb.ws, { name: "seed" });
    const seed = Dataset.getByName(sb.ws, "seed", { version: 1 }).asNamedInput("seed");
    const raw = new PipelineData("raw");
    const prepped = new PipelineData("prepped");
    const profile = new PipelineData("profile");
    const model = new PipelineData("model");
    const pipeline = new Pipeline(sb.ws, {
      steps: [
        new CommandStep({ name: "load", inputs: [seed], outputs: [raw], command: 'tail -n 1 "$PIPEBOOK_INPUT_SEED" > "$PIPEBOOK_OUTPUT_RAW/data.csv"' }),
        new CommandStep({
          name: "prepare", inputs: [raw], outputs: [prepped], allowReuse: false,
          command: 'cp "$PIPEBOOK_INPUT_RAW/data.csv" "$PIPEBOOK_OUTPUT_PREPPED/"; echo \'{"name": "rows", "value": 2}\' >> "$PIPEBOOK_METRICS_FILE"',
        }),
        new CommandStep({ name: "profile", inputs: [raw], outputs: [profile], command: 'wc -l "$PIPEBOOK_INPUT_RAW/data.csv" > "$PIPEBOOK_OUTPUT_PROFILE/rows.txt"' }),
        new CommandStep({ name: "train", inputs: [prepped], outputs: [model], command: "echo 'no GPU today' >&2; exit 3" }),
        new CommandStep({ name: "report", inputs: [model, profile], command: "echo never" }),
      ],
    });
    // The second run reuses load and profile, runs prepare again, fails train and skips report.
    await (await new Experiment(sb.ws, "same-graph").submit(pipeline)).waitForCompletion();
    const run = await new Experiment(sb.ws, "same-graph").submit(pipeline);
    await run.waitForCompletion();
    token = new ApiTokens(sb.ws).create("same-graph", ["admin"]).token;
    server = await startServer({ workspace: sb.ws, port: 0, log: () => undefined });
    // The view exactly as the server gives it to the page.
    const reply = await fetch(`${server.url}/runs/${run.id}`, { headers: { Authorization: `Bearer ${token}` } });
    view = (await reply.json()) as RunView;
    workbench = await startWorkbench();
    writeFileSync(path.join(workbench.rootDir, "same-graph.ipynb"), notebookWithRun(view));
    browser = await openBrowser();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await workbench?.stop();
    await server?.close();
    await sb?.close();
  });

  it("draws the same nodes, texts, colours and edges in the notebook fallback, the lab and the studio page", async () => {
    expect(Object.fromEntries(view.steps.map((s) => [s.name, s.status]))).toEqual({
      load: "reused", prepare: "completed", profile: "reused", train: "failed", report: "skipped",
    });
    const { page } = browser;

    // The notebook fallback: the text/html the kernel puts beside the MIME payload.
    await page.setContent(`<!doctype html><html><body>${renderRunHtml(view)}</body></html>`);
    const fallback = await readDrawing(page, ".pipebook-run");
    await page.locator(".pipebook-run svg").screenshot({ path: path.join(ARTIFACTS, "same-graph-1-notebook-fallback.png") });

    // The lab: a notebook saved with the run output, in the real workbench.
    await page.goto(workbench.url("same-graph.ipynb"));
    const labRun = page.locator(".jp-Notebook .pb-Run").first();
    await expect.poll(() => labRun.locator(".pb-RunGraph .pb-node").count(), { timeout: 60_000 }).toBe(view.steps.length);
    const lab = await readDrawing(page, ".jp-Notebook .pb-Run .pb-RunGraph");
    await labRun.locator(".pb-RunGraph svg").screenshot({ path: path.join(ARTIFACTS, "same-graph-2-lab.png") });

    // The studio page of the real server.
    await page.goto(`${server.url}/#token=${token}`);
    await page.click(`#runs tbody tr[data-run='${view.runId}']`, { timeout: 20_000 });
    await expect.poll(() => page.locator("#graph g[data-step]").count(), { timeout: 20_000 }).toBe(view.steps.length);
    const studio = await readDrawing(page, "#graph");
    await page.locator("#graph svg").screenshot({ path: path.join(ARTIFACTS, "same-graph-3-studio.png") });
    // On the page a registered dataset's node links to its profile.
    await page.locator("#graph a.pb-data-link g[data-data='seed']").click();
    await expect.poll(() => page.locator("#dataset h3").textContent(), { timeout: 20_000 }).toBe("dataset seed version 1");
    expect(await page.locator("#dataset table.profile thead th").first().textContent()).toBe("column");
    expect(await page.locator("#dataset table.profile tbody tr").count()).toBe(2);

    // Each surface drew every step with the status table's colour, symbol and word ...
    for (const drawing of [fallback, lab, studio]) {
      expect(drawing.nodes.map((n) => n.step)).toEqual(view.steps.map((s) => s.name));
      for (const node of drawing.nodes) {
        const style = STATUS_TABLE[node.status as keyof typeof STATUS_TABLE];
        expect(node.stroke, `${node.step} stroke`).toBe(cssRgb(style.colour));
        expect(node.fill, `${node.step} fill`).toBe(cssRgb(style.tint));
        expect(node.texts.find(([cls]) => cls === "pb-node-status")?.[1], `${node.step} status text`).toMatch(new RegExp(`^${style.symbol} ${style.word}`));
      }
      // ... and one arrow per producer → consumer pair, and from each data node to its readers.
      const dataEdges = (view.data ?? []).flatMap((d) => d.readBy.map((step) => `data:${d.id}→${step}`));
      expect(drawing.edges.map(([from, to]) => `${from}→${to}`).sort()).toEqual([...new Set(view.edges.map((e) => `${e.from}→${e.to}`)), ...dataEdges].sort());
      // The dataset is drawn as a data node with its name and version.
      expect(drawing.data.map((d) => [d.id, d.texts.map(([, text]) => text)])).toEqual([["seed", ["seed", "v1"]]]);
    }
    expect(fallback.nodes.find((n) => n.step === "load")?.texts.map(([, text]) => text)).toEqual(["load", "↺ reused", expect.stringMatching(/^from run /)]);
    expect(fallback.nodes.find((n) => n.step === "prepare")?.texts[2]?.[1]).toBe("rows 2");

    // ... in the same places, with the same words and colours, in all three.
    expect(lab).toEqual(fallback);
    expect(studio).toEqual(fallback);
  }, 180_000);
});
