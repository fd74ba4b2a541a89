/** Command ids of the extension; one namespace so palette, menus and toolbars agree. */
export namespace CommandIDs {
  export const runPipeline = "pipebook:run-pipeline";
  export const rerunChanged = "pipebook:rerun-changed-steps";
  export const publish = "pipebook:publish-pipeline";
  export const openPanel = "pipebook:open-runs-panel";
}

export const PLUGIN_PREFIX = "@pipebook/jupyterlab-ext";
