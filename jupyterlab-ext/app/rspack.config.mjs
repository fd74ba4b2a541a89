import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import rspack from "@rspack/core";

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "..", "..");

/**
 * The workbench bundle, after JupyterLab's examples/app (v4.6.3) with rspack: one bundle with
 * every plugin, plus @jupyter/builder's asset step (schemas, themes, style imports).
 * @param {{ packageNames: string[], entry: string, output: string, mode: "development" | "production" }} options
 */
export function workbenchConfig({ packageNames, entry, output, mode }) {
  const { Build } = require("@jupyter/builder");
  const assets = Build.ensureAssets({ packageNames, output });
  return [
    {
      entry: [entry],
      context: here,
      output: { path: output, filename: "bundle.js", publicPath: "auto", clean: false },
      bail: true,
      mode,
      devtool: mode === "development" ? "source-map" : false,
      performance: { hints: false },
      resolve: {
        // One copy of lumino and of each @jupyterlab package: the linked workspace package
        // must not pull its own (ENVIRONMENT.md).
        modules: [path.join(repoRoot, "node_modules"), "node_modules"],
        extensions: [".js", ".mjs", ".json"],
      },
      module: {
        rules: [
          { test: /\.css$/, exclude: /\.raw\.css$/, use: [require.resolve("style-loader"), require.resolve("css-loader")] },
          { test: /\.raw\.css$/, type: "asset/source" },
          { test: /\.html$/, type: "asset/resource" },
          { test: /\.md$/, type: "asset/source" },
          { test: /\.(jpg|png|gif)$/, type: "asset/resource" },
          { test: /\.js\.map$/, type: "asset/resource" },
          { test: /\.(woff2?|ttf)(\?v=\d+\.\d+\.\d+)?$/, type: "asset" },
          { test: /\.eot(\?v=\d+\.\d+\.\d+)?$/, type: "asset/resource" },
          { test: /\.svg(\?v=\d+\.\d+\.\d+)?$/, issuer: /\.css$/, type: "asset/inline" },
          { test: /\.svg(\?v=\d+\.\d+\.\d+)?$/, issuer: /\.js$/, type: "asset/source" },
        ],
      },
      plugins: [new rspack.DefinePlugin({ process: { cwd: () => "/", env: {} } })],
      ignoreWarnings: [/Failed to parse source map/],
    },
    ...assets,
  ];
}
