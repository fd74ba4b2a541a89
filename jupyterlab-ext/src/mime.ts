import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { RUN_MIME_TYPE } from "pipebook/contract";
import { rendererFactory } from "./widget/RunRenderer.js";

/** The MIME renderer extension (package.json `jupyterlab.mimeExtension`). */
const extension: IRenderMime.IExtension = {
  id: "@pipebook/jupyterlab-ext:run-renderer",
  description: "Draws pipebook runs: the step graph with live status, logs, metrics and output previews.",
  rendererFactory,
  rank: 0,
  dataType: "json",
  documentWidgetFactoryOptions: [],
};

export { RUN_MIME_TYPE };
export default extension;
