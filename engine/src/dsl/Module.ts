import { resolve } from "node:path";
import type { StepKind } from "../contract/runView.js";
import { ModuleError } from "./ModuleFailure.js";
import { digestOfJson } from "../fingerprint/digest.js";
import type { ModuleDefinition, ModuleRecord, ModuleState, ModuleVersionRecord } from "../store/ModuleStore.js";
import type { Workspace } from "../workspace/Workspace.js";

const MODULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Ports become `--NAME` flags and data names: letters, digits and _ only. */
const PORT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface PublishCommon {
  /** The version's name; by default the next number ("1", "2", …). */
  readonly version?: string;
  readonly description?: string;
  /** Input and output ports: a ModuleStep maps data to each and the program gets `--NAME PATH`. */
  readonly inputs?: readonly string[];
  readonly outputs?: readonly string[];
  /** Make this the version a ModuleStep without `version` uses (the first version always is). */
  readonly isDefault?: boolean;
}

export interface PublishScriptOptions extends PublishCommon {
  readonly scriptName: string;
  readonly sourceDirectory: string | URL;
}

export interface PublishShellOptions extends PublishCommon {
  /** A shell command line (run by /bin/sh) or an argv array; the ports' flags are appended. */
  readonly command: string | readonly string[];
  readonly sourceDirectory?: string | URL;
}

/**
 * A reusable step definition stored in the workspace (the seeds' Module): teams publish
 * versions of it and pipelines use a version by name with ModuleStep, without the code's
 * folder. A version is immutable: its code is a content-addressed snapshot taken at publish.
 */
export class Module {
  private constructor(
    private readonly ws: Workspace,
    readonly name: string,
    /** A version fixed by Module.get(ws, name, { version }): what resolve() returns by default. */
    private readonly pinned: string | undefined,
  ) {}

  /** Creates a module; a name already taken is refused (use Module.get). */
  static async create(ws: Workspace, options: { name: string; description?: string }): Promise<Module> {
    if (!MODULE_NAME.test(options.name ?? "")) {
      throw new ModuleError({ reason: "name-invalid", name: options.name });
    }
    if (!ws.modules.create(options.name, options.description ?? "", new Date().toISOString())) {
      throw new ModuleError({ reason: "name-taken", name: options.name });
    }
    return new Module(ws, options.name, undefined);
  }

  /** A module of the workspace, optionally pinned to one of its versions (checked now). */
  static async get(ws: Workspace, name: string, options: { version?: string } = {}): Promise<Module> {
    if (!ws.modules.get(name)) throw new ModuleError({ reason: "module-unknown", name });
    const m = new Module(ws, name, options.version);
    if (options.version !== undefined) m.resolve(options.version);
    return m;
  }

  /** Every module of the workspace, by name. */
  static list(ws: Workspace): ModuleRecord[] {
    return ws.modules.list();
  }

  private get record(): ModuleRecord {
    return this.ws.modules.get(this.name)!;
  }

  get description(): string {
    return this.record.description;
  }

  /** The version a ModuleStep without `version` runs. */
  get defaultVersion(): string | undefined {
    return this.record.defaultVersion;
  }

  /** The whole module's state (each version has its own as well). */
  get state(): ModuleState {
    return this.record.state;
  }

  /** Every version still runs, and every submit using one warns that the module is deprecated. */
  async deprecate(): Promise<void> {
    this.ws.modules.setModuleState(this.name, "deprecated");
  }

  /** Every submit using any version of the module is refused, naming the module. */
  async disable(): Promise<void> {
    this.ws.modules.setModuleState(this.name, "disabled");
  }

  async enable(): Promise<void> {
    this.ws.modules.setModuleState(this.name, "active");
  }

  /** Every version, in publishing order. */
  versions(): ModuleVersion[] {
    return this.ws.modules.versions(this.name).map((r) => new ModuleVersion(this.ws, r));
  }

  /** The version asked for, else the pinned one, else the default; an unknown one is one sentence. */
  resolve(version?: string): ModuleVersion {
    const wanted = version ?? this.pinned ?? this.defaultVersion;
    if (wanted === undefined) throw new ModuleError({ reason: "no-versions", module: this.name });
    const r = this.ws.modules.version(this.name, wanted);
    if (!r) {
      const known = this.ws.modules.versions(this.name).map((v) => v.version);
      throw new ModuleError({ reason: "version-unknown", module: this.name, version: wanted, known });
    }
    return new ModuleVersion(this.ws, r);
  }

  publishPythonScript(options: PublishScriptOptions): Promise<ModuleVersion> {
    return this.publishScript("python", options);
  }

  publishNodeScript(options: PublishScriptOptions): Promise<ModuleVersion> {
    return this.publishScript("node", options);
  }

  async publishShellScript(options: PublishShellOptions): Promise<ModuleVersion> {
    const empty = typeof options.command === "string" ? options.command.trim() === "" : !Array.isArray(options.command) || options.command.length === 0;
    if (empty) throw new ModuleError({ reason: "command-empty", module: this.name });
    const command = typeof options.command === "string" ? options.command : [...options.command];
    return this.publish(options, { kind: "command", command }, options.sourceDirectory);
  }

  /** Makes `version` the one a ModuleStep without `version` uses. A disabled version cannot be. */
  async setDefaultVersion(version: string): Promise<void> {
    const v = this.resolve(version);
    if (v.state === "disabled") throw new ModuleError({ reason: "default-disabled", module: this.name, version });
    this.ws.modules.setDefault(this.name, version);
  }

  private async publishScript(kind: "python" | "node", options: PublishScriptOptions): Promise<ModuleVersion> {
    if (!options.scriptName) throw new ModuleError({ reason: "option-required", module: this.name, option: "scriptName" });
    if (options.sourceDirectory === undefined) throw new ModuleError({ reason: "option-required", module: this.name, option: "sourceDirectory" });
    return this.publish(options, { kind, scriptName: options.scriptName }, options.sourceDirectory);
  }

  private async publish(options: PublishCommon, program: Pick<ModuleDefinition, "kind" | "scriptName" | "command">, sourceDirectory: string | URL | undefined): Promise<ModuleVersion> {
    if (options.version !== undefined && !VERSION_NAME.test(options.version)) {
      throw new ModuleError({ reason: "version-name-invalid", module: this.name, version: options.version });
    }
    const inputs = [...(options.inputs ?? [])];
    const outputs = [...(options.outputs ?? [])];
    const ports = [...inputs, ...outputs];
    const badPort = ports.find((p) => !PORT_NAME.test(p));
    if (badPort !== undefined) throw new ModuleError({ reason: "port-name-invalid", module: this.name, port: badPort });
    const twice = ports.find((p, i) => ports.indexOf(p) !== i);
    if (twice !== undefined) throw new ModuleError({ reason: "port-twice", module: this.name, port: twice });
    const dir = sourceDirectory === undefined ? undefined : resolve(sourceDirectory instanceof URL ? sourceDirectory.pathname : sourceDirectory);
    const snapshot = dir === undefined ? undefined : await this.ws.snapshotSource(dir);
    const source = snapshot ? Object.fromEntries(snapshot.files) : {};
    if (program.scriptName !== undefined && !(program.scriptName in source)) {
      throw new ModuleError({ reason: "script-missing", module: this.name, script: program.scriptName, sourceDir: dir });
    }
    const definition: ModuleDefinition = { ...program, ...(snapshot && { manifest: snapshot.manifest }), source, inputs, outputs };
    const digest = digestOfJson(definition);
    const record = this.ws.modules.addVersion(
      this.name,
      (existing) => {
        const named = options.version === undefined ? undefined : existing.find((v) => v.version === options.version);
        if (named) {
          if (named.digest === digest) return named;
          throw new ModuleError({ reason: "version-changed", module: this.name, version: named.version });
        }
        const latest = existing.at(-1);
        if (options.version === undefined && latest?.digest === digest) return latest;
        let version = options.version;
        for (let n = (latest?.ordinal ?? 0) + 1; version === undefined; n++) if (!existing.some((v) => v.version === String(n))) version = String(n);
        return { module: this.name, version, description: options.description ?? "", definition, digest, state: "active", createdAt: new Date().toISOString() };
      },
      options.isDefault ?? false,
    );
    return new ModuleVersion(this.ws, record);
  }
}

/** One published version of a module: its program and ports never change; its state does. */
export class ModuleVersion {
  readonly module: string;
  readonly version: string;
  readonly description: string;
  readonly definition: ModuleDefinition;
  /** Content digest of the version's program, snapshot and ports. */
  readonly digest: string;
  readonly createdAt: string;

  /** @internal use Module.resolve or Module.versions */
  constructor(
    private readonly ws: Workspace,
    record: ModuleVersionRecord,
  ) {
    this.module = record.module;
    this.version = record.version;
    this.description = record.description;
    this.definition = record.definition;
    this.digest = record.digest;
    this.createdAt = record.createdAt;
  }

  /** Read from the workspace each time: another process may have deprecated or disabled it. */
  get state(): ModuleState {
    return this.ws.modules.version(this.module, this.version)?.state ?? "disabled";
  }

  /** Still runs; every submit that uses it warns. */
  async deprecate(): Promise<void> {
    this.ws.modules.setState(this.module, this.version, "deprecated");
  }

  /** Every submit that uses it is refused, naming the module and version (the default version too). */
  async disable(): Promise<void> {
    this.ws.modules.setState(this.module, this.version, "disabled");
  }

  async enable(): Promise<void> {
    this.ws.modules.setState(this.module, this.version, "active");
  }
}
