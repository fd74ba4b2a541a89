import type { ErrorReply, PublishReply } from "./rest.js";

/**
 * Publishing a notebook's run from the lab when no pipebook server is configured: the lab
 * opens a comm to the kernel on this target with a `PublishCommRequest`; the kernel answers
 * with one `PublishCommReply` message and closes the comm. The success reply is the REST
 * server's `POST /runs/{id}/publish` reply, and a failure is its error reply (the sentence, and
 * an expected failure's code and reason), so the lab words both paths the same way.
 */
export const PUBLISH_COMM_TARGET = "pipebook.publish";

export interface PublishCommRequest {
  readonly runId: string;
  readonly name: string;
  readonly version: string;
  readonly description: string;
}

export type PublishCommReply =
  | ({ readonly ok: true } & PublishReply)
  | ({ readonly ok: false } & ErrorReply);

/** What the lab says once a run's pipeline is published, on either path. */
export function describePublished(reply: PublishReply): string {
  const endpoint = reply.endpoint === undefined ? "" : ` as endpoint ${reply.endpoint} (version ${reply.pipelineVersion})`;
  return `Published pipeline ${reply.pipelineId}${endpoint}`;
}
