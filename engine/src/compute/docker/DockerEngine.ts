import { PassThrough, type Readable } from "node:stream";
import type Docker from "dockerode";

/** A mount of a file or folder of this machine into a container. */
export interface BindMount {
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
}

export interface ContainerSpec {
  readonly image: string;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly workingDir: string;
  /** uid:gid the process runs as (outputs are owned by the engine's user). */
  readonly user: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly mounts: readonly BindMount[];
  readonly network?: string;
  readonly nanoCpus?: number;
  readonly memoryBytes?: number;
  /** GPU indices handed to the NVIDIA runtime. */
  readonly gpuIds?: readonly string[];
}

/** How a container ended. */
export interface ContainerExit {
  readonly code: number;
  readonly oomKilled: boolean;
}

/** What the engine reports of itself that targets check against. */
export interface EngineInfo {
  readonly runtimes: readonly string[];
  readonly cpus: number;
  readonly memoryMb: number;
}

/** A running container: the few operations a step needs. */
export interface RunningContainer {
  readonly id: string;
  start(): Promise<void>;
  /** Resolves when it exits and its output has been relayed. */
  exited(): Promise<ContainerExit>;
  /** SIGTERM, then SIGKILL after `graceSeconds`. */
  stop(graceSeconds: number): Promise<void>;
  remove(): Promise<void>;
}

const engines = new Map<string, DockerEngine>();

/**
 * The one adapter around dockerode: every call pipebook makes to a Docker engine goes through
 * here, typed, so targets and tests never see dockerode's loose shapes. One per socket and process.
 */
export class DockerEngine {
  private client: Promise<Docker> | undefined;
  private infoCache: Promise<EngineInfo> | undefined;

  private constructor(readonly host: string) {}

  /**
   * dockerode, loaded on first use: it and its dependencies (ssh2, protobufs, tar) take longer
   * to load than a whole `pipebook runs`, and only a docker target ever calls it.
   */
  private get docker(): Promise<Docker> {
    this.client ??= import("dockerode").then(({ default: Dockerode }) => new Dockerode({ socketPath: this.host.replace(/^unix:\/\//, "") }));
    return this.client;
  }

  /** The engine at a `unix:///…` URL. */
  static at(host: string): DockerEngine {
    let e = engines.get(host);
    if (!e) {
      e = new DockerEngine(host);
      engines.set(host, e);
    }
    return e;
  }

  /** Rejects with the connection error when the engine does not answer within `timeoutMs`. */
  async ping(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        (await this.docker).ping(),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  info(): Promise<EngineInfo> {
    this.infoCache ??= this.docker.then((docker) => docker.info()).then(
      (i: { Runtimes?: Record<string, unknown>; NCPU?: number; MemTotal?: number }) => ({
        runtimes: Object.keys(i.Runtimes ?? {}).sort(),
        cpus: i.NCPU ?? 0,
        memoryMb: Math.floor((i.MemTotal ?? 0) / 2 ** 20),
      }),
      (err: unknown) => {
        this.infoCache = undefined;
        throw err;
      },
    );
    return this.infoCache;
  }

  /** The id (sha256:…) a name or id refers to now, or undefined when the engine has no such image. */
  async imageId(name: string): Promise<string | undefined> {
    try {
      const inspected = await (await this.docker).getImage(name).inspect();
      return inspected.Id;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  /** Pulls an image, reporting progress lines; rejects with the registry's error. */
  async pull(name: string, onLine: (line: string) => void): Promise<void> {
    const stream = (await (await this.docker).pull(name)) as Readable;
    await this.follow(stream, onLine);
  }

  /**
   * Builds `tag` from a folder holding a Dockerfile (the legacy builder: no BuildKit needed),
   * reporting each output line; rejects with the build's own error.
   */
  async build(contextDir: string, files: readonly string[], tag: string, labels: Record<string, string>, onLine: (line: string) => void): Promise<void> {
    const stream = (await (await this.docker).buildImage({ context: contextDir, src: [...files] }, { t: tag, labels, rm: true, forcerm: true })) as Readable;
    await this.follow(stream, onLine);
  }

  /** Creates a container and attaches to its output (before it starts, so nothing is missed). */
  async create(spec: ContainerSpec, onOutput: (stream: "stdout" | "stderr", chunk: Buffer) => void): Promise<RunningContainer> {
    const docker = await this.docker;
    const container = await docker.createContainer({
      Image: spec.image,
      Cmd: [...spec.argv],
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      WorkingDir: spec.workingDir,
      User: spec.user,
      Labels: { ...spec.labels },
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      HostConfig: {
        // An init as PID 1 (docker-init): the step gets SIGTERM on stop like any process, and its zombies are reaped.
        Init: true,
        Mounts: spec.mounts.map((m) => ({ Type: "bind" as const, Source: m.source, Target: m.target, ReadOnly: m.readOnly })),
        ...(spec.network !== undefined && { NetworkMode: spec.network }),
        ...(spec.nanoCpus !== undefined && { NanoCpus: spec.nanoCpus }),
        ...(spec.memoryBytes !== undefined && { Memory: spec.memoryBytes, MemorySwap: spec.memoryBytes }),
        ...(spec.gpuIds && spec.gpuIds.length > 0 && { DeviceRequests: [{ Driver: "nvidia", DeviceIDs: [...spec.gpuIds], Capabilities: [["gpu"]] }] }),
      },
    });
    const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
    const out = new PassThrough();
    const err = new PassThrough();
    out.on("data", (c: Buffer) => onOutput("stdout", c));
    err.on("data", (c: Buffer) => onOutput("stderr", c));
    docker.modem.demuxStream(stream, out, err);
    const drained = new Promise<void>((resolve) => {
      stream.once("end", resolve);
      stream.once("close", resolve);
      stream.once("error", () => resolve());
    });
    return {
      id: container.id,
      start: async () => {
        await container.start();
      },
      exited: async () => {
        const { StatusCode } = (await container.wait()) as { StatusCode: number };
        // The attach stream ends just after the exit; a short wait keeps the last lines.
        await Promise.race([drained, new Promise((r) => setTimeout(r, 2000))]);
        const state = (await container.inspect()).State;
        return { code: StatusCode, oomKilled: state.OOMKilled };
      },
      stop: async (graceSeconds) => {
        await container.stop({ t: graceSeconds }).catch(() => undefined);
      },
      remove: async () => {
        await container.remove({ force: true, v: true }).catch((e: { statusCode?: number }) => {
          if (e.statusCode !== 404) throw e;
        });
      },
    };
  }

  /** Containers (running or not) carrying every label given, with their labels. */
  async containers(labels: readonly string[]): Promise<{ id: string; labels: Record<string, string> }[]> {
    const list = await (await this.docker).listContainers({ all: true, filters: { label: [...labels] } });
    return list.map((c) => ({ id: c.Id, labels: c.Labels }));
  }

  async removeContainer(id: string): Promise<void> {
    await (await this.docker).getContainer(id).remove({ force: true, v: true });
  }

  private async follow(stream: Readable, onLine: (line: string) => void): Promise<void> {
    const docker = await this.docker;
    return new Promise((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (err: Error | null, events: { error?: string }[]) => {
          const failed = err?.message ?? events.find((e) => e.error)?.error;
          if (failed) reject(new Error(failed.trim()));
          else resolve();
        },
        (e: { stream?: string; status?: string; progress?: string; error?: string }) => {
          const line = (e.stream ?? (e.status ? `${e.status}${e.progress ? ` ${e.progress}` : ""}` : e.error ?? "")).trimEnd();
          if (line) onLine(line);
        },
      );
    });
  }
}
