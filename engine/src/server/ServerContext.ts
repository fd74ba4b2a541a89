import type { Workspace } from "../workspace/Workspace.js";
import type { Authenticator } from "./Authenticator.js";
import type { RunFeeds } from "./RunFeeds.js";
import type { RunQueue } from "./RunQueue.js";
import type { RunSubmitter } from "./RunSubmitter.js";

/** What every route needs; made once by `startServer`. */
export interface ServerContext {
  readonly ws: Workspace;
  readonly auth: Authenticator;
  readonly queue: RunQueue;
  readonly submitter: RunSubmitter;
  readonly feeds: RunFeeds;
}
