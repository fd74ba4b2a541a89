import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Workspace } from "pipebook";
import { driver, kernelEnv, type KernelEnv } from "./kernelHarness.js";

interface Features {
  comm_replies: unknown[]; comm_info: { msg_type: string; comms: Record<string, { target_name: string }> };
  unknown_target_closed: boolean; kernel_comm: string[]; input_prompt: string; input_result: string[];
  input_without_stdin: string; complete_member: string[]; complete_name: string[]; inspect: string;
  stop_on_error: string[];
}

describe("comms, stdin and the language service across cells", () => {
  let k: KernelEnv;
  let f: Features;
  beforeAll(async () => { k = await kernelEnv(); f = await driver<Features>(k, ["features"]); }, 180_000);
  afterAll(() => k?.cleanup());

  it("serves comms opened by the front end, answers comm_info with comm_info_reply, closes unknown targets", () => {
    expect(f.comm_replies).toEqual([{ opened: { hello: 1 } }, { echoed: { x: 2 } }]);
    expect(f.comm_info).toEqual({ msg_type: "comm_info_reply", comms: { c1: { target_name: "echo" } } });
    expect(f.unknown_target_closed).toBe(true);
    expect(f.kernel_comm).toEqual(["comm_open", "comm_msg", "comm_close"]);
  });

  it("asks for input on stdin, and refuses it clearly when the front end has no stdin", () => {
    expect(f.input_prompt).toBe("name? ");
    expect(f.input_result).toEqual(["'hi pipebook'"]);
    expect(f.input_without_stdin).toBe("StdinNotImplementedError");
  });

  it("aborts executes queued behind a failing one (stop_on_error), then runs new ones", () => {
    expect(f.stop_on_error).toEqual(["error", "aborted", "aborted", "ok"]);
  });

  it("completes and inspects names and members declared in earlier cells", () => {
    expect(f.complete_member).toEqual(["species"]);
    expect(f.complete_name).toEqual(["flowers"]);
    expect(f.inspect).toBe("const flowers: Iris[]");
  });
});

describe("publishing over the kernel's publish comm (the lab's path without a server)", () => {
  type Reply = { ok: boolean; error?: string; pipelineId?: string; endpoint?: string; pipelineVersion?: string } | null;
  let k: KernelEnv;
  let r: { run_id: string; ok: Reply; bad_name: Reply; no_run: Reply; not_strings: Reply };
  beforeAll(async () => { k = await kernelEnv(); r = await driver(k, ["publishcomm"]); }, 180_000);
  afterAll(() => k?.cleanup());

  it("publishes the run behind an endpoint and answers with the REST server's publish reply", () => {
    expect(r.ok).toMatchObject({ ok: true, endpoint: "NotebookEp", pipelineVersion: "2.0", version: "0", endpointUrl: "/endpoints/NotebookEp/runs" });
    expect(r.ok?.pipelineId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers a bad name, an unknown run and a malformed request with a sentence, not an exception", () => {
    expect(r.bad_name).toEqual({ ok: false, error: 'cannot publish: "1bad" must be 1–64 letters, digits, _ . - starting with a letter' });
    expect(r.no_run).toMatchObject({ ok: false, error: expect.stringMatching(/nope/) });
    // An expected failure's data travels as in the REST error reply: clients switch on code and reason.
    expect(r.no_run).toEqual({ ok: false, error: 'no run "nope" in this workspace', code: "not-found", reason: "run-not-found" });
    expect(r.not_strings).toEqual({ ok: false, error: "the publish request's name must be a string, got number" });
  });
});

describe("kernel shutdown", () => {
  let k: KernelEnv;
  beforeAll(async () => { k = await kernelEnv(); }, 60_000);
  afterAll(() => k?.cleanup());

  it("cancels the runs it started that are still going: the step stops and the run ends canceled", async () => {
    const { run_id } = await driver<{ run_id: string }>(k, ["shutdowncancel"]);
    const ws = await Workspace.fromConfig({ path: k.cwd });
    try {
      const run = ws.runs.getRun(run_id)!;
      expect(run.status).toBe("canceled");
      expect(ws.runs.getSteps(run_id).map((s) => s.status)).toEqual(["canceled"]);
    } finally {
      await ws.close();
    }
  }, 180_000);
});
