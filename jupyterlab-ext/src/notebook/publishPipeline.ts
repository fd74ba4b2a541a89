import { Dialog, showDialog, showErrorMessage } from "@jupyterlab/apputils";
import type { NotebookPanel } from "@jupyterlab/notebook";
import type { TranslationBundle } from "@jupyterlab/translation";
import { Widget } from "@lumino/widgets";
import { describePublished, PUBLISH_COMM_TARGET, type PublishCommReply } from "pipebook/contract";
import { validatePublish, type PublishRequest } from "../model/publishRequest.js";
import { currentServer, readReplyAs, requestAPI } from "../request.js";
import { html } from "../widget/svg.js";
import { lastRunId } from "./ExecutionTracker.js";

class PublishForm extends Widget {
  private readonly name = html("input");
  private readonly version = html("input");
  private readonly description = html("input");

  constructor(trans: TranslationBundle, runId: string) {
    super();
    this.addClass("pb-PublishForm");
    this.node.appendChild(html("p", undefined, trans.__("Publish the pipeline of run %1 behind a versioned endpoint.", runId)));
    for (const [label, input, value] of [
      [trans.__("Endpoint name"), this.name, ""],
      [trans.__("Version"), this.version, "1.0"],
      [trans.__("Description"), this.description, ""],
    ] as const) {
      const row = html("label", "pb-PublishForm-row", label);
      input.value = value;
      input.name = label;
      row.appendChild(input);
      this.node.appendChild(row);
    }
  }

  getValue(): Omit<PublishRequest, "runId"> {
    return { name: this.name.value.trim(), version: this.version.value.trim(), description: this.description.value.trim() };
  }
}

/**
 * "Publish pipeline as endpoint": asks a name and version, then publishes the notebook's last
 * run through the pipebook server when one is configured, else through the notebook's kernel
 * into the local workspace.
 */
export async function publishPipeline(panel: NotebookPanel, trans: TranslationBundle): Promise<void> {
  const runId = lastRunId(panel.content);
  if (runId === undefined) {
    await showErrorMessage(trans.__("Nothing to publish"), trans.__("Run the pipeline in this notebook first: the last run shown in it is the one published."));
    return;
  }
  const result = await showDialog({
    title: trans.__("Publish pipeline as endpoint"),
    body: new PublishForm(trans, runId),
    buttons: [Dialog.cancelButton({ label: trans.__("Cancel") }), Dialog.okButton({ label: trans.__("Publish") })],
  });
  if (!result.button.accept || result.value === null) {
    return;
  }
  const values = result.value;
  const valid = validatePublish(values);
  if (!valid.ok) {
    await showErrorMessage(trans.__("Cannot publish"), `${valid.field}: ${valid.message}`);
    return;
  }
  const request: PublishRequest = { runId, ...values };
  try {
    const message = currentServer() !== undefined ? await publishOnServer(request) : await publishInKernel(panel, request);
    await showDialog({ title: trans.__("Published"), body: message, buttons: [Dialog.okButton()] });
  } catch (error) {
    await showErrorMessage(trans.__("Publishing failed"), error instanceof Error ? error.message : String(error));
  }
}

async function publishOnServer(request: PublishRequest): Promise<string> {
  const reply = readReplyAs("PublishReply", await requestAPI(`runs/${encodeURIComponent(request.runId)}/publish`, {
    method: "POST",
    body: { name: request.name, version: request.version, description: request.description, endpoint: request.name },
  }));
  return describePublished(reply);
}

/** Through the notebook's kernel, on the publish comm (pipebook/contract `PUBLISH_COMM_TARGET`): one typed reply. */
async function publishInKernel(panel: NotebookPanel, request: PublishRequest): Promise<string> {
  const kernel = panel.sessionContext.session?.kernel;
  if (kernel === undefined || kernel === null) {
    throw new Error("The notebook has no running kernel.");
  }
  const comm = kernel.createComm(PUBLISH_COMM_TARGET);
  const reply = new Promise<PublishCommReply>((resolve, reject) => {
    comm.onMsg = (message) => resolve(message.content.data as unknown as PublishCommReply);
    // A kernel without the target closes the comm at once, without a reply.
    comm.onClose = () => reject(new Error("The notebook's kernel does not publish pipelines (is it the pipebook kernel?)."));
  });
  await comm.open({ ...request }).done;
  const answer = await reply;
  if (!answer.ok) {
    throw new Error(answer.error);
  }
  return describePublished(answer);
}
