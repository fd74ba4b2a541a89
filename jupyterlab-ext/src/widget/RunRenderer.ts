import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { RUN_MIME_TYPE } from "pipebook/contract";
import { RunWidget } from "./RunWidget.js";

/**
 * The MIME renderer for `application/vnd.pipebook.run+json`. JupyterLab's output area reuses a
 * renderer for `update_display_data` when the preferred MIME type is unchanged, so
 * `renderModel` is called again on the same widget: the model moves forward in place, the
 * graph keeps its layout and the selected step stays open.
 */
export class RunRenderer extends RunWidget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super(options.translator);
    this.addClass("pb-RunRenderer");
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.showData(model.data[RUN_MIME_TYPE]);
    return Promise.resolve();
  }
}

/**
 * Safe: the renderer writes payload text through textContent only and draws raster images from
 * base64, so a saved (untrusted) notebook still shows its graphs.
 */
export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [RUN_MIME_TYPE],
  defaultRank: 0,
  createRenderer: (options) => new RunRenderer(options),
};
