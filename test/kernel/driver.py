"""A real Jupyter client (jupyter_client 7, Debian) that drives the pipebook kernel for the vitest
suites. Each command prints one JSON object on its last stdout line.

  driver.py cells            stdin: JSON list of cell sources; runs them in one kernel
  driver.py soak N           N executes of 1+1; reports hangs and timings
  driver.py interrupt        interrupts a busy loop and a pending await; checks state survives
  driver.py badhmac          sends a message signed with the wrong key; kernel must survive
  driver.py restart          state is gone after a restart, kernel answers again
  driver.py bench N          round-trip timings and start-to-ready (KERNEL env picks the kernel)
"""
import hmac
import json
import os
import sys
import time
from queue import Empty

from jupyter_client.manager import start_new_kernel

KERNEL = os.environ.get("PIPEBOOK_TEST_KERNEL", "pipebook")


def collect(kc, msg_id, timeout=30):
    """Outputs of one execute until its idle status, plus its reply."""
    outputs = []
    deadline = time.time() + timeout
    while True:
        left = deadline - time.time()
        if left <= 0:
            raise TimeoutError("no idle for " + msg_id)
        msg = kc.get_iopub_msg(timeout=left)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        t = msg["msg_type"]
        if t == "status":
            if msg["content"]["execution_state"] == "idle":
                break
            continue
        if t == "execute_input":
            continue
        outputs.append({"type": t, "content": msg["content"]})
    reply = kc.get_shell_msg(timeout=timeout)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=timeout)
    return reply["content"], outputs


def execute(kc, code, timeout=60, **kw):
    msg_id = kc.execute(code, **kw)
    return collect(kc, msg_id, timeout)


def start():
    t0 = time.perf_counter()
    km, kc = start_new_kernel(kernel_name=KERNEL, startup_timeout=60)
    return km, kc, time.perf_counter() - t0


def stop(km, kc):
    kc.stop_channels()
    km.shutdown_kernel(now=False)


def cmd_cells():
    cells = json.load(sys.stdin)
    km, kc, _ = start()
    try:
        results = []
        for code in cells:
            reply, outputs = execute(kc, code)
            results.append({"reply": reply, "outputs": outputs})
        print(json.dumps({"results": results}, default=str))
    finally:
        stop(km, kc)


def cmd_soak(n):
    km, kc, _ = start()
    hangs = 0
    errors = 0
    times = []
    try:
        execute(kc, "1+1")
        for i in range(n):
            t = time.perf_counter()
            try:
                reply, outputs = execute(kc, f"{i} + 1", timeout=10)
                if reply["status"] != "ok" or outputs[-1]["content"]["data"]["text/plain"] != str(i + 1):
                    errors += 1
            except (TimeoutError, Empty):
                hangs += 1
            times.append(time.perf_counter() - t)
        alive = km.is_alive()
        print(json.dumps({"n": n, "hangs": hangs, "errors": errors, "alive": alive, "max_ms": max(times) * 1000}))
    finally:
        stop(km, kc)


def wait_for_iopub(kc, msg_id, msg_type, timeout=30):
    """Reads iopub until the request `msg_id` produces a message of `msg_type`."""
    while True:
        m = kc.get_iopub_msg(timeout=timeout)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == msg_type:
            return m


def interrupt_case(km, kc, setup, code):
    execute(kc, setup)
    msg_id = kc.execute(code)
    # Wait until the cell really runs (busy), then a moment more.
    wait_for_iopub(kc, msg_id, "execute_input")
    time.sleep(1.0)
    t = time.perf_counter()
    km.interrupt_kernel()
    reply, outputs = collect(kc, msg_id, timeout=20)
    took = time.perf_counter() - t
    after, out2 = execute(kc, "counter")
    return {
        "status": reply["status"], "ename": reply.get("ename"), "took_s": took,
        "state_after": out2[0]["content"]["data"]["text/plain"] if out2 else None,
        "alive": km.is_alive(),
    }


def cmd_interrupt():
    km, kc, _ = start()
    try:
        busy = interrupt_case(km, kc, "let counter = 41", "counter++; while (true) {}")
        pending = interrupt_case(km, kc, "counter = 10", "counter++; await new Promise(() => {})")
        later = interrupt_case(km, kc, "counter = 20", "counter++; await new Promise((r) => setTimeout(r, 50)); while (true) {}")
        print(json.dumps({"busy": busy, "pending": pending, "later": later}))
    finally:
        stop(km, kc)


def cmd_badhmac():
    km, kc, _ = start()
    try:
        execute(kc, "const kept = 7")
        session = kc.session
        good_key = session.key
        session.auth = hmac.HMAC(b"wrong-key", digestmod=session.digest_mod)
        bad_id = kc.execute("kept * 100")
        got_reply = True
        try:
            r = kc.get_shell_msg(timeout=2)
            got_reply = r["parent_header"].get("msg_id") == bad_id
        except Empty:
            got_reply = False
        session.auth = hmac.HMAC(good_key, digestmod=session.digest_mod)
        reply, outputs = execute(kc, "kept * 2")
        print(json.dumps({"answered_bad": got_reply, "after": outputs[0]["content"]["data"]["text/plain"], "alive": km.is_alive()}))
    finally:
        stop(km, kc)


def cmd_restart():
    km, kc, _ = start()
    try:
        execute(kc, "const before = 1")
        pid1 = km.provisioner.pid if km.provisioner else None
        km.restart_kernel(now=False)
        kc.wait_for_ready(timeout=60)
        reply, outputs = execute(kc, "typeof (globalThis as any).before")
        pid2 = km.provisioner.pid if km.provisioner else None
        print(json.dumps({"after": outputs[0]["content"]["data"]["text/plain"], "new_process": pid1 != pid2, "alive": km.is_alive()}))
    finally:
        stop(km, kc)


def cmd_features():
    """Comms both ways, stdin input, completion and inspection that know earlier cells."""
    km, kc, _ = start()
    out = {}
    try:
        # A comm target registered by a cell, opened from the front end.
        execute(kc, 'comms.registerTarget("echo", (comm, data) => { comm.onMessage((d) => comm.send({ echoed: d })); comm.send({ opened: data }); })')
        comm_open = kc.session.msg("comm_open", {"comm_id": "c1", "target_name": "echo", "data": {"hello": 1}})
        kc.shell_channel.send(comm_open)
        comm_msg = kc.session.msg("comm_msg", {"comm_id": "c1", "data": {"x": 2}})
        kc.shell_channel.send(comm_msg)
        got = []
        deadline = time.time() + 10
        while len(got) < 2 and time.time() < deadline:
            m = kc.get_iopub_msg(timeout=10)
            if m["msg_type"] == "comm_msg":
                got.append(m["content"]["data"])
        out["comm_replies"] = got
        info_id = kc.comm_info(target_name="echo")
        info = kc.get_shell_msg(timeout=10)
        while info["parent_header"].get("msg_id") != info_id:
            info = kc.get_shell_msg(timeout=10)
        out["comm_info"] = {"msg_type": info["msg_type"], "comms": info["content"]["comms"]}
        # Unknown target: the kernel closes the comm at once.
        kc.shell_channel.send(kc.session.msg("comm_open", {"comm_id": "c2", "target_name": "nobody", "data": {}}))
        closed = False
        deadline = time.time() + 10
        while not closed and time.time() < deadline:
            m = kc.get_iopub_msg(timeout=10)
            closed = m["msg_type"] == "comm_close" and m["content"]["comm_id"] == "c2"
        out["unknown_target_closed"] = closed

        # A kernel-opened comm.
        reply, outputs = execute(kc, 'const k = comms.open("from-kernel", { a: 1 }); k.send({ b: 2 }); k.close()')
        out["kernel_comm"] = [o["type"] for o in outputs]

        # input(): the kernel asks on stdin, the client answers.
        msg_id = kc.execute('const answer = await input("name? "); `hi ${answer}`', allow_stdin=True)
        req = kc.get_stdin_msg(timeout=10)
        out["input_prompt"] = req["content"]["prompt"]
        kc.input("pipebook")
        reply, outputs = collect(kc, msg_id)
        out["input_result"] = [o["content"]["data"]["text/plain"] for o in outputs if o["type"] == "execute_result"]
        reply, outputs = execute(kc, 'await input("x")', allow_stdin=False)
        out["input_without_stdin"] = reply.get("ename")

        # Completion and inspection see what earlier cells declared.
        execute(kc, "interface Iris { sepalLength: number; species: string }\nconst flowers: Iris[] = []")
        cid = kc.complete("flowers[0].sp", 13)
        r = kc.get_shell_msg(timeout=30)
        out["complete_member"] = r["content"]["matches"]
        cid = kc.complete("flo", 3)
        r = kc.get_shell_msg(timeout=30)
        out["complete_name"] = r["content"]["matches"]
        kc.inspect("flowers", 7)
        r = kc.get_shell_msg(timeout=30)
        out["inspect"] = r["content"]["data"].get("text/plain", "")
        # stop_on_error: executes queued behind a failing one are aborted, later ones run again.
        ids = [kc.execute("await new Promise((r) => setTimeout(r, 300)); throw new Error('first fails')"), kc.execute("1"), kc.execute("2")]
        statuses = []
        for i in ids:
            rep, _ = collect(kc, i)
            statuses.append(rep["status"])
        rep, outs = execute(kc, "3")
        statuses.append(rep["status"])
        out["stop_on_error"] = statuses
        print(json.dumps(out))
    finally:
        stop(km, kc)


def cmd_cancelrun():
    """Interrupting `%pipeline run` cancels the run; the kernel stays."""
    km, kc, _ = start()
    try:
        r, o = execute(kc, '%%step slow --outputs o --lang shell\nsleep 30\necho done > "$PIPEBOOK_OUTPUT_O/x"')
        msg_id = kc.execute("%pipeline run slowexp")
        wait_for_iopub(kc, msg_id, "display_data")
        time.sleep(2)
        t = time.perf_counter()
        km.interrupt_kernel()
        reply, outputs = collect(kc, msg_id, timeout=30)
        took = time.perf_counter() - t
        time.sleep(1)
        r2, o2 = execute(kc, 'import { Workspace } from "pipebook";\n(await Workspace.fromConfig()).runs.listRuns({ experiment: "slowexp", limit: 1 })[0]?.status')
        print(json.dumps({"ename": reply.get("ename"), "took_s": took,
                          "run_status": o2[-1]["content"]["data"]["text/plain"] if o2 else None, "alive": km.is_alive()}))
    finally:
        stop(km, kc)


def comm_reply(kc, comm_id, data):
    """Opens a comm on the publish target and returns its one reply (None if it closed without one)."""
    kc.shell_channel.send(kc.session.msg("comm_open", {"comm_id": comm_id, "target_name": "pipebook.publish", "data": data}))
    deadline = time.time() + 60
    reply = None
    while time.time() < deadline:
        m = kc.get_iopub_msg(timeout=60)
        if m["content"].get("comm_id") != comm_id:
            continue
        if m["msg_type"] == "comm_msg":
            reply = m["content"]["data"]
        if m["msg_type"] == "comm_close":
            return reply
    return reply


def cmd_publishcomm():
    """The lab's publish path without a server: a comm with a typed request and one typed reply."""
    km, kc, _ = start()
    try:
        execute(kc, '%%step only --outputs o --lang shell\necho hi > "$PIPEBOOK_OUTPUT_O/x"')
        execute(kc, "%pipeline run pubexp")
        r, o = execute(kc, 'import { Workspace } from "pipebook";\n(await Workspace.fromConfig()).runs.listRuns({ experiment: "pubexp", limit: 1 })[0]!.id')
        run_id = json.loads(o[-1]["content"]["data"]["text/plain"].replace("'", '"'))
        out = {"run_id": run_id}
        out["ok"] = comm_reply(kc, "p1", {"runId": run_id, "name": "NotebookEp", "version": "2.0", "description": "from a comm"})
        out["bad_name"] = comm_reply(kc, "p2", {"runId": run_id, "name": "1bad", "version": "1", "description": ""})
        out["no_run"] = comm_reply(kc, "p3", {"runId": "nope", "name": "Other", "version": "1", "description": ""})
        out["not_strings"] = comm_reply(kc, "p4", {"runId": run_id, "name": 3})
        print(json.dumps(out))
    finally:
        stop(km, kc)


def cmd_shutdowncancel():
    """A run still going when the kernel shuts down is canceled, its steps stopped."""
    km, kc, _ = start()
    try:
        execute(kc, '%%step slow --lang shell --no-reuse\nsleep 60')
        r, o = execute(kc, 'const bye = await new (await import("pipebook")).Experiment(await (await import("pipebook")).Workspace.fromConfig(), "bye").submit(await notebookPipeline()); bye.id')
        run_id = o[-1]["content"]["data"]["text/plain"].strip("'\"")
        # Until the step runs (its process exists), so the shutdown has a step to stop.
        deadline = time.time() + 60
        while time.time() < deadline:
            r, o = execute(kc, 'bye.status')
            if "running" in o[-1]["content"]["data"]["text/plain"]:
                break
            time.sleep(0.2)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    print(json.dumps({"run_id": run_id}))


def cmd_bench(n):
    """Round trip = execute_request sent until both its execute_reply and its idle status arrived."""
    km, kc, startup = start()
    pick = lambda xs, q: round(xs[min(len(xs) - 1, int(q * len(xs)))], 3) if xs else None
    result = {"kernel": KERNEL, "n": n, "start_s": round(startup, 3), "hangs": 0}
    try:
        kc.wait_for_ready(timeout=60)
        for _ in range(20):
            execute(kc, "1+1", timeout=10)
        times, distinct = [], []
        try:
            for _ in range(n):
                t = time.perf_counter()
                execute(kc, "1+1", timeout=10)
                times.append((time.perf_counter() - t) * 1000)
            # Different cells each time: nothing cached (pipebook type-checks every one).
            for i in range(50):
                t = time.perf_counter()
                execute(kc, f"{i} + 1", timeout=10)
                distinct.append((time.perf_counter() - t) * 1000)
        except (TimeoutError, Empty):
            result["hangs"] += 1
        times.sort()
        distinct.sort()
        result.update({"completed": len(times), "p50_ms": pick(times, 0.5), "p95_ms": pick(times, 0.95),
                       "distinct_p50_ms": pick(distinct, 0.5), "distinct_p95_ms": pick(distinct, 0.95)})
        print(json.dumps(result))
    finally:
        try:
            stop(km, kc)
        except Exception:
            km.shutdown_kernel(now=True)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "cells":
        cmd_cells()
    elif cmd == "soak":
        cmd_soak(int(sys.argv[2]))
    elif cmd == "interrupt":
        cmd_interrupt()
    elif cmd == "badhmac":
        cmd_badhmac()
    elif cmd == "restart":
        cmd_restart()
    elif cmd == "cancelrun":
        cmd_cancelrun()
    elif cmd == "features":
        cmd_features()
    elif cmd == "publishcomm":
        cmd_publishcomm()
    elif cmd == "shutdowncancel":
        cmd_shutdowncancel()
    elif cmd == "bench":
        cmd_bench(int(sys.argv[2]))
    else:
        raise SystemExit("unknown command " + cmd)
