import type { RunView } from "../contract/runView.js";
import type { Workspace } from "../workspace/Workspace.js";
import { HttpError } from "./HttpError.js";
import { watchRun, type RunWatch } from "./watchRun.js";

interface Feed {
  readonly watch: RunWatch;
  readonly subscribers: Set<Subscriber>;
  last: RunView | undefined;
}

interface Subscriber {
  readonly onView: (view: RunView) => void;
  readonly onEnd: () => void;
}

/**
 * Live views of runs for every stream (SSE and WebSocket): one store poll per followed run,
 * however many clients follow it, and a cap on open streams so that clients cannot make the
 * server rebuild views without bound.
 */
export class RunFeeds {
  private readonly feeds = new Map<string, Feed>();
  private count = 0;

  constructor(
    private readonly ws: Workspace,
    private readonly maxStreams: number,
  ) {}

  /**
   * Follows a run: `onView` with the current view and each change, `onEnd` once it ended; both
   * are called after `subscribe` returned. Returns unsubscribe.
   */
  subscribe(runId: string, onView: (view: RunView) => void, onEnd: () => void): () => void {
    if (this.count >= this.maxStreams) throw new HttpError(503, `the server already streams ${this.count} live views, its limit; poll GET /runs/{id} instead`, { headers: { "Retry-After": "5" } });
    let feed = this.feeds.get(runId);
    if (!feed) {
      const subscribers = new Set<Subscriber>();
      const created: Feed = {
        subscribers,
        last: undefined,
        watch: watchRun(this.ws, runId, (view) => {
          created.last = view;
          for (const s of subscribers) {
            try {
              s.onView(view);
            } catch {
              // One client's broken stream must not stop the others.
            }
          }
        }),
      };
      feed = created;
      this.feeds.set(runId, feed);
      void feed.watch.done.then(() => {
        if (this.feeds.get(runId) === created) this.feeds.delete(runId);
        for (const s of [...subscribers]) {
          subscribers.delete(s);
          this.count--;
          s.onEnd();
        }
      });
    }
    const subscriber: Subscriber = { onView, onEnd };
    feed.subscribers.add(subscriber);
    this.count++;
    const current = feed;
    // A late subscriber gets the view the others already have, after subscribe returns (so the
    // caller can write its headers first).
    const last = feed.last;
    if (last) queueMicrotask(() => current.subscribers.has(subscriber) && onView(last));
    return () => {
      if (!current.subscribers.delete(subscriber)) return;
      this.count--;
      if (current.subscribers.size === 0) {
        current.watch.stop();
        if (this.feeds.get(runId) === current) this.feeds.delete(runId);
      }
    };
  }

  get streams(): number {
    return this.count;
  }

  close(): void {
    for (const feed of this.feeds.values()) feed.watch.stop();
  }
}
