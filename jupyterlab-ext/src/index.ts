import type { JupyterFrontEndPlugin } from "@jupyterlab/application";
import { commandsPlugin } from "./plugins/commandsPlugin.js";
import { panelPlugin } from "./plugins/panelPlugin.js";

/** The JupyterLab plugins of pipebook (package.json `jupyterlab.extension`); the MIME renderer is in `mime.ts`. */
const plugins: JupyterFrontEndPlugin<void>[] = [panelPlugin, commandsPlugin];

export default plugins;
