import { ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from "@jupyterlab/application";
import { ICommandPalette } from "@jupyterlab/apputils";
import { ISettingRegistry } from "@jupyterlab/settingregistry";
import { ITranslator, nullTranslator } from "@jupyterlab/translation";
import { LabIcon } from "@jupyterlab/ui-components";
import { RunsPanel } from "../panel/RunsPanel.js";
import { RunsPanelModel } from "../panel/RunsPanelModel.js";
import { configureServer } from "../request.js";
import { CommandIDs, PLUGIN_PREFIX } from "../tokens.js";
import { TRANSLATION_DOMAIN } from "../widget/RunWidget.js";
import { OPEN_RUN_EVENT, type OpenRunDetail } from "../widget/StepDetailsView.js";

/** Three nodes and two edges: the extension's mark in the side bar. */
export const pipebookIcon = new LabIcon({
  name: "pipebook:graph",
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16"><g class="jp-icon3" fill="#616161">' +
    '<rect x="5" y="1" width="6" height="4" rx="1"/><rect x="1" y="11" width="6" height="4" rx="1"/><rect x="9" y="11" width="6" height="4" rx="1"/>' +
    '<path d="M7.5 5h1v3h3.5v3h-1V9H5v2H4V8h3.5z"/></g></svg>',
});

/** The side panel with recent runs, published pipelines and endpoints. */
export const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:panel`,
  description: "Side panel listing the workspace's runs, published pipelines and endpoints.",
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette, ISettingRegistry, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    settings: ISettingRegistry | null,
    translator: ITranslator | null,
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const model = new RunsPanelModel();
    const panel = new RunsPanel(model, translator ?? nullTranslator);
    panel.title.icon = pipebookIcon;
    app.shell.add(panel, "left", { rank: 600 });
    restorer?.add(panel, "pipebook-runs-panel");
    app.commands.addCommand(CommandIDs.openPanel, {
      label: trans.__("Show pipebook runs"),
      execute: () => {
        app.shell.activateById(panel.id);
        return model.refresh();
      },
    });
    palette?.addItem({ command: CommandIDs.openPanel, category: "pipebook" });
    // A reused step's "open the source run" link, from any run output on the page.
    document.body.addEventListener(OPEN_RUN_EVENT, (event) => {
      const { runId } = (event as CustomEvent<OpenRunDetail>).detail;
      app.shell.activateById(panel.id);
      panel.open(runId);
    });
    const applySettings = (values: { serverUrl?: string; token?: string }): void => {
      const url = (values.serverUrl ?? "").trim();
      configureServer(url === "" ? undefined : { kind: "direct", url, token: values.token ?? "" });
      void model.refresh();
    };
    if (settings !== null) {
      void settings.load(panelPlugin.id).then((loaded) => {
        applySettings(loaded.composite as { serverUrl?: string; token?: string });
        loaded.changed.connect(() => applySettings(loaded.composite as { serverUrl?: string; token?: string }));
      }).catch(() => void model.refresh());
    } else {
      void model.refresh();
    }
  },
};
