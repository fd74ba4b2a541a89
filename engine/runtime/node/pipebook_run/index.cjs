"use strict";
// pipebook's helper for steps written in JavaScript/TypeScript: no install needed.
//   const { log } = require("pipebook_run");  or  import { log } from "pipebook_run";
const fs = require("node:fs");

const key = (name) => String(name).replace(/[^A-Za-z0-9]/g, "_").toUpperCase();

function log(name, value) {
  if (typeof value !== "number" && typeof value !== "string") {
    throw new TypeError(`pipebook_run.log(${JSON.stringify(name)}, ...): value must be a number or a string`);
  }
  const line = JSON.stringify({ name: String(name), value: typeof value === "number" && !Number.isFinite(value) ? String(value) : value });
  const path = process.env.PIPEBOOK_METRICS_FILE;
  if (!path) return void console.log(`[pipebook metric] ${line}`);
  fs.appendFileSync(path, line + "\n");
}
const inputPath = (name) => process.env[`PIPEBOOK_INPUT_${key(name)}`];
const outputPath = (name) => process.env[`PIPEBOOK_OUTPUT_${key(name)}`];
function parameter(name, fallback) {
  const raw = process.env[`PIPEBOOK_PARAM_${key(name)}`];
  if (raw === undefined) return fallback;
  try { return JSON.parse(raw); } catch { return raw; }
}
// The step's dataset inputs by name → where each lies (the seeds' run.input_datasets).
const inputDatasets = Object.freeze(JSON.parse(process.env.PIPEBOOK_INPUT_DATASETS || "{}"));
module.exports = { log, inputPath, outputPath, parameter, inputDatasets };
