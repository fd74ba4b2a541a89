/**
 * The plugins bundled into the pipebook workbench: JupyterLab's core extensions that a notebook
 * user needs (a subset of @jupyterlab/core-meta's list: no terminal, debugger, extension
 * manager, LSP or MathJax, which need server parts or downloads this launcher does not have),
 * then pipebook's own. The generated entry imports exactly these, and @jupyter/builder copies
 * their schemas, themes and styles.
 */
export const coreExtensions = [
  "@jupyterlab/application-extension",
  "@jupyterlab/apputils-extension",
  "@jupyterlab/codemirror-extension",
  "@jupyterlab/completer-extension",
  "@jupyterlab/console-extension",
  "@jupyterlab/csvviewer-extension",
  "@jupyterlab/docmanager-extension",
  "@jupyterlab/documentsearch-extension",
  "@jupyterlab/filebrowser-extension",
  "@jupyterlab/fileeditor-extension",
  "@jupyterlab/imageviewer-extension",
  "@jupyterlab/launcher-extension",
  "@jupyterlab/mainmenu-extension",
  "@jupyterlab/markdownviewer-extension",
  "@jupyterlab/markedparser-extension",
  "@jupyterlab/metadataform-extension",
  "@jupyterlab/notebook-extension",
  "@jupyterlab/rendermime-extension",
  "@jupyterlab/running-extension",
  "@jupyterlab/services-extension",
  "@jupyterlab/shortcuts-extension",
  "@jupyterlab/statusbar-extension",
  "@jupyterlab/theme-dark-extension",
  "@jupyterlab/theme-light-extension",
  "@jupyterlab/toc-extension",
  "@jupyterlab/tooltip-extension",
  "@jupyterlab/translation-extension",
  "@jupyterlab/ui-components-extension",
];

export const coreMimeExtensions = ["@jupyterlab/json-extension"];

/** Plugin ids left out of core extensions: they talk to servers this launcher does not run. */
export const excludedPluginPatterns = [":language-server", "lsp"];

export const pipebookPackage = "@pipebook/jupyterlab-ext";

/**
 * Settings defaults of the workbench (jupyterlab_server's overrides.json): the workbench runs
 * where the internet may be unreachable, so it never asks to fetch Jupyter news or updates.
 */
export const settingsOverrides = {
  "@jupyterlab/apputils-extension:notification": { fetchNews: "false", checkForUpdates: false },
};
