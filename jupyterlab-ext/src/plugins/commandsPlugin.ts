import type { JupyterFrontEnd, JupyterFrontEndPlugin } from "@jupyterlab/application";
import { ICommandPalette, ToolbarButton } from "@jupyterlab/apputils";
import type { DocumentRegistry } from "@jupyterlab/docregistry";
import { INotebookTracker, NotebookActions, type INotebookModel, type NotebookPanel } from "@jupyterlab/notebook";
import { ITranslator, nullTranslator } from "@jupyterlab/translation";
import { fastForwardIcon, launchIcon, runIcon } from "@jupyterlab/ui-components";
import { DisposableDelegate, type IDisposable } from "@lumino/disposable";
import { cellsToRerun } from "../model/cellsToRerun.js";
import { ExecutionTracker } from "../notebook/ExecutionTracker.js";
import { publishPipeline } from "../notebook/publishPipeline.js";
import { CommandIDs, PLUGIN_PREFIX } from "../tokens.js";
import { TRANSLATION_DOMAIN } from "../widget/RunWidget.js";

/** "Run pipeline", "Rerun changed steps" and "Publish pipeline as endpoint": palette and notebook toolbar. */
export const commandsPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:commands`,
  description: "Notebook commands to run a pipeline, rerun only changed step cells, and publish it as an endpoint.",
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ITranslator],
  activate: (app: JupyterFrontEnd, notebooks: INotebookTracker, palette: ICommandPalette | null, translator: ITranslator | null) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const tracker = new ExecutionTracker();
    const current = (): NotebookPanel | null => notebooks.currentWidget;
    const enabled = (): boolean => current() !== null;

    notebooks.widgetAdded.connect((_, panel) => {
      panel.sessionContext.statusChanged.connect((_, status) => {
        if (status === "restarting" || status === "autorestarting") {
          tracker.forget(panel.content);
        }
      });
      panel.sessionContext.kernelChanged.connect(() => tracker.forget(panel.content));
    });

    app.commands.addCommand(CommandIDs.runPipeline, {
      label: trans.__("Run pipeline"),
      caption: trans.__("Run every cell of the notebook; the engine reuses steps whose inputs did not change"),
      icon: runIcon,
      isEnabled: enabled,
      execute: async () => {
        const panel = current();
        if (panel !== null) {
          await NotebookActions.runAll(panel.content, panel.sessionContext, undefined, translator ?? undefined);
        }
      },
    });
    app.commands.addCommand(CommandIDs.rerunChanged, {
      label: trans.__("Rerun changed steps"),
      caption: trans.__("Run the cells edited since they last ran, then submit the pipeline again"),
      icon: fastForwardIcon,
      isEnabled: enabled,
      execute: async () => {
        const panel = current();
        if (panel === null) {
          return;
        }
        const ids = new Set(cellsToRerun(ExecutionTracker.cellStates(panel.content), tracker.sources(panel.content)));
        const cells = panel.content.widgets.filter((cell) => ids.has(cell.model.id));
        await NotebookActions.runCells(panel.content, cells, panel.sessionContext, undefined, translator ?? undefined);
      },
    });
    app.commands.addCommand(CommandIDs.publish, {
      label: trans.__("Publish pipeline as endpoint"),
      caption: trans.__("Publish the notebook's last run as a versioned endpoint"),
      icon: launchIcon,
      isEnabled: enabled,
      execute: async () => {
        const panel = current();
        if (panel !== null) {
          await publishPipeline(panel, trans);
        }
      },
    });
    for (const command of [CommandIDs.runPipeline, CommandIDs.rerunChanged, CommandIDs.publish]) {
      palette?.addItem({ command, category: "pipebook" });
    }
    app.docRegistry.addWidgetExtension("Notebook", new ToolbarExtension(app));
  },
};

/** Adds the three commands to every notebook's toolbar. */
class ToolbarExtension implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel> {
  constructor(private readonly app: JupyterFrontEnd) {}

  createNew(panel: NotebookPanel): IDisposable {
    const buttons = [CommandIDs.runPipeline, CommandIDs.rerunChanged, CommandIDs.publish].map((id) => {
      const button = new ToolbarButton({
        icon: this.app.commands.icon(id) as typeof runIcon,
        tooltip: this.app.commands.caption(id),
        label: this.app.commands.label(id),
        className: `pb-ToolbarButton pb-ToolbarButton-${id.split(":")[1] ?? id}`,
        onClick: () => void this.app.commands.execute(id),
      });
      return button;
    });
    buttons.forEach((button, index) => panel.toolbar.insertItem(10 + index, `pipebook-${index}`, button));
    return new DisposableDelegate(() => buttons.forEach((button) => button.dispose()));
  }
}
