/**
 * Incremental parser for a `text/event-stream` body (the server's `GET /runs/{id}/events`).
 * The panel reads the stream with `fetch` rather than `EventSource` because `EventSource`
 * cannot send an Authorization header; chunks may split an event anywhere, so the parser
 * keeps the unfinished tail between calls.
 */
export interface ServerSentEvent {
  readonly event: string;
  readonly data: string;
  readonly id?: string;
}

export class SseParser {
  private buffer = "";

  /** Feeds a decoded chunk; returns the events completed by it. */
  push(chunk: string): ServerSentEvent[] {
    this.buffer += chunk.replace(/\r\n?/g, "\n");
    const events: ServerSentEvent[] = [];
    let end = this.buffer.indexOf("\n\n");
    while (end !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const parsed = parseBlock(block);
      if (parsed !== undefined) {
        events.push(parsed);
      }
      end = this.buffer.indexOf("\n\n");
    }
    return events;
  }
}

function parseBlock(block: string): ServerSentEvent | undefined {
  let event = "message";
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) {
      continue;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) {
      value = value.slice(1);
    }
    if (field === "event") {
      event = value;
    } else if (field === "data") {
      data.push(value);
    } else if (field === "id") {
      id = value;
    }
  }
  if (data.length === 0) {
    return undefined;
  }
  return id === undefined ? { event, data: data.join("\n") } : { event, data: data.join("\n"), id };
}
