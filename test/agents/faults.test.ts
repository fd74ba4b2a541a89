import { existsSync, writeFileSync } from "node:fs";
import { createServer, connect, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommandStep, Experiment, Pipeline, RunConfiguration } from "pipebook";
import { startServer } from "pipebook/server";
import { Receiver } from "ws";
import { agentSandbox, GRACE_MS, type AgentSandbox } from "./helpers.js";

// Stand-in GPUs (PIPEBOOK_GPUS=0,1; see helpers.ts). The grace before a silent or disconnected
// agent's steps fail is 1.5 s here (10 s by default).
let as: AgentSandbox;
beforeEach(async () => (as = await agentSandbox()));
afterEach(async () => as.close());

const until = async (done: () => boolean): Promise<void> => {
  while (!done()) await new Promise((r) => setTimeout(r, 20));
};

/** A step on pool a100 that marks when it started, then runs `rest`. */
const marked = (name: string, rest: string, gpus = 1) =>
  new CommandStep({ name, allowReuse: false, computeTarget: "a100", runconfig: new RunConfiguration({ gpus }), command: `touch ${join(as.sb.dir, `${name}.started`)}; ${rest}` });

describe("agents lost and found", () => {
  it("fails a step whose agent is SIGKILLed within the grace, frees its slots, and the restarted agent rejoins under its name", async () => {
    const agent = as.agent("gpu-1");
    await as.waitForAgent("gpu-1");
    const run = await new Experiment(as.ws, "faults").submit(new Pipeline(as.ws, { steps: [marked("long", "sleep 60")] }));
    await until(() => existsSync(join(as.sb.dir, "long.started")));
    agent.child.kill("SIGKILL");
    const view = await run.waitForCompletion();
    expect(view.steps[0]!.status).toBe("failed");
    expect(view.steps[0]!.error).toBe('step "long" was stopped: agent gpu-1 lost while the step ran');
    expect(as.server.agents.list()[0]).toMatchObject({ name: "gpu-1", status: "offline", jobs: [], slots: [{ gpu: 0, step: null }, { gpu: 1, step: null }] });

    as.agent("gpu-1");
    await as.waitForAgent("gpu-1");
    // Both GPUs are free again: a step asking for two runs at once.
    const again = await (await new Experiment(as.ws, "faults").submit(new Pipeline(as.ws, { steps: [marked("two", 'echo "cvd=[$CUDA_VISIBLE_DEVICES]"', 2)] }))).waitForCompletion();
    expect(again.steps[0]!.status).toBe("completed");
    expect(again.steps[0]!.logTail).toContain("cvd=[0,1]");
  });

  it("stops a canceled run's step on its agent and frees its slot", async () => {
    const agent = as.agent("gpu-1");
    await as.waitForAgent("gpu-1");
    const run = await new Experiment(as.ws, "faults").submit(new Pipeline(as.ws, { steps: [marked("stoppable", `sleep 60; touch ${join(as.sb.dir, "stoppable.finished")}`)] }));
    await until(() => existsSync(join(as.sb.dir, "stoppable.started")));
    run.cancel();
    const view = await run.waitForCompletion();
    expect(view.steps[0]!.status).toBe("canceled");
    await until(() => as.server.agents.list()[0]!.jobs.length === 0);
    expect(as.server.agents.list()[0]!.slots).toEqual([{ gpu: 0, step: null }, { gpu: 1, step: null }]);
    // The agent stopped the step's process (it reports the job canceled once it is gone).
    await until(() => /stoppable: stopping \(the run was canceled\)\n.*stoppable: canceled/s.test(agent.log()));
  });

  it("runs a step that allows a retry again on another agent once its agent is lost", async () => {
    const first = as.agent("gpu-1");
    as.agent("gpu-2");
    await as.waitForAgent("gpu-1");
    await as.waitForAgent("gpu-2");
    const flag = join(as.sb.dir, "first-attempt");
    const step = new CommandStep({
      name: "retried", allowReuse: false, computeTarget: "a100", maxRetries: 1, runconfig: new RunConfiguration({ gpus: 1 }),
      command: `if [ -e ${flag} ]; then echo "second attempt"; else touch ${flag}; sleep 60; fi`,
    });
    const run = await new Experiment(as.ws, "faults").submit(new Pipeline(as.ws, { steps: [step] }));
    await until(() => existsSync(flag));
    first.child.kill("SIGKILL");
    const view = await run.waitForCompletion();
    expect(view.steps[0]!.status).toBe("completed");
    expect(view.steps[0]!.logTail).toContain("[pipebook] agent gpu-1 lost while the step ran; running it again (retry 1 of 1)\n[pipebook] on agent gpu-2, GPU 0\nsecond attempt\n");
  });

  it("keeps a step running through a dropped connection restored within the grace, its log whole", async () => {
    // A TCP relay between the agent and the server, which the test first makes drop what the
    // agent sends (written into its connection, never delivered), then cuts.
    const open = new Set<Socket>();
    const holds: (() => void)[] = [];
    let dropped = "";
    const relay: Server = createServer((inbound) => {
      const outbound = connect(as.server.port, "127.0.0.1");
      for (const s of [inbound, outbound]) {
        open.add(s);
        s.on("error", () => undefined);
        s.on("close", () => open.delete(s));
      }
      inbound.pipe(outbound).pipe(inbound);
      holds.push(() => {
        inbound.unpipe(outbound);
        // Read what it drops as the server would (client frames are masked).
        const frames = new Receiver({ isServer: true });
        frames.on("message", (data: Buffer) => (dropped += data.toString("utf8")));
        frames.on("error", () => undefined);
        inbound.pipe(frames);
      });
    });
    await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
    const port = (relay.address() as { port: number }).port;
    try {
      as.agent("gpu-1", { server: `http://127.0.0.1:${port}` });
      await as.waitForAgent("gpu-1");
      const gate = join(as.sb.dir, "gate");
      const hold = join(as.sb.dir, "hold");
      const run = await new Experiment(as.ws, "faults").submit(new Pipeline(as.ws, {
        steps: [marked("steady", `while [ ! -e ${hold} ]; do sleep 0.05; done; echo before; while [ ! -e ${gate} ]; do sleep 0.05; done; echo after`)],
      }));
      await until(() => existsSync(join(as.sb.dir, "steady.started")));
      const first = as.server.agents.list()[0]!.connectedAt;
      for (const h of holds) h();
      writeFileSync(hold, "");
      // The agent wrote the line's frame into its connection, and the relay dropped it.
      await until(() => dropped.includes("before"));
      for (const s of open) s.destroy();
      // The agent dials again (through the relay) and is taken back with its step.
      await until(() => as.server.agents.list().some((a) => a.connectedAt !== first && a.status === "online"));
      expect(as.server.agents.list()[0]!.jobs).toHaveLength(1);
      writeFileSync(gate, "");
      const view = await run.waitForCompletion();
      expect(view.steps[0]!.status).toBe("completed");
      expect(view.steps[0]!.logTail).toMatch(/before\n[^]*after\n/);
    } finally {
      for (const s of open) s.destroy();
      await new Promise((r) => relay.close(r));
    }
  });

  it("settles a step in flight when the server stops (failed, the agent stops it) and the agent finds the restarted server", async () => {
    as.agent("gpu-1");
    await as.waitForAgent("gpu-1");
    const port = as.server.port;
    const run = await new Experiment(as.ws, "faults").submit(new Pipeline(as.ws, { steps: [marked("inflight", `sleep 60; touch ${join(as.sb.dir, "inflight.finished")}`)] }));
    await until(() => existsSync(join(as.sb.dir, "inflight.started")));
    await as.server.close();
    const view = await run.waitForCompletion();
    expect(view.steps[0]!.status).toBe("failed");
    expect(view.steps[0]!.error).toBe('step "inflight" was stopped: the pipebook server stopped while the step ran on agent gpu-1');
    const second = await startServer({ workspace: as.ws, port, log: () => undefined, schedules: false, agents: { graceMs: GRACE_MS } });
    try {
      await until(() => second.agents.list().some((a) => a.name === "gpu-1" && a.status === "online"));
      const next = await (await new Experiment(as.ws, "faults").submit(new Pipeline(as.ws, { steps: [marked("after", "echo fine")] }))).waitForCompletion();
      expect(next.steps[0]!.status).toBe("completed");
      expect(existsSync(join(as.sb.dir, "inflight.finished"))).toBe(false);
    } finally {
      await second.close();
    }
  });
});
