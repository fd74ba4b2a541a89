import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import type { Command } from "commander";

/**
 * The kernel and the JupyterLab extension are packages of their own that depend on pipebook,
 * so the CLI loads them by name at run time rather than importing them (no dependency cycle).
 */
async function load<T>(specifier: string, what: string): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (err) {
    // Loaded here, not by the grammar: every command would load the engine's failure modules by path.
    const { CliError } = await import("./CliFailure.js");
    throw new CliError({ reason: "integration-missing", what, specifier, problem: (err as Error).message.split("\n")[0]! });
  }
}

interface KernelInstallModule {
  installKernelSpec(opts: { user?: boolean; prefix?: string; sysPrefix?: boolean }): Promise<{ path: string }>;
}

interface LabInstallModule {
  installLabExtension(opts: { dataDir?: string }): { dataDir: string; labextensionDir: string };
}

export function registerIntegrationCommands(program: Command): void {
  const kernel = program.command("kernel").description("the TypeScript Jupyter kernel");
  kernel
    .command("install")
    .description('register the "TypeScript (pipebook)" kernel with Jupyter')
    .option("--user", "install for the current user")
    .option("--prefix <dir>", "install under this prefix")
    .option("--sys-prefix", "install into the Python environment's prefix")
    .action(async (opts: { user?: boolean; prefix?: string; sysPrefix?: boolean }) => {
      const mod = await load<KernelInstallModule>("@pipebook/kernel/install", "the pipebook kernel");
      const { path } = await mod.installKernelSpec(opts);
      process.stdout.write(`installed kernelspec "pipebook" in ${path}\n`);
    });

  const lab = program
    .command("lab")
    .description("start the workbench: JupyterLab with the pipebook extension and kernel")
    .option("--port <port>", "port to listen on")
    .option("--root <dir>", "folder to open (default: examples/ of this repo)")
    .action(async (opts: { port?: string; root?: string }) => {
      const pkg = fileURLToPath(import.meta.resolve("@pipebook/jupyterlab-ext/package.json"));
      const start = join(dirname(pkg), "app", "start.mjs");
      const args = [start, ...(opts.port ? ["--port", opts.port] : []), ...(opts.root ? ["--root", opts.root] : [])];
      const child = spawn(process.execPath, args, { stdio: "inherit" });
      for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => child.kill(sig));
      const code = await new Promise<number>((r) => child.once("exit", (c) => r(c ?? 1)));
      process.exitCode = code;
    });
  lab
    .command("install")
    .description("install the prebuilt extension and the kernelspec into an existing JupyterLab")
    .option("--data-dir <dir>", "Jupyter data folder (default: the user's)")
    .action(async (opts: { dataDir?: string }) => {
      const lab = await load<LabInstallModule>("@pipebook/jupyterlab-ext/install", "the pipebook JupyterLab extension");
      const kernel = await load<KernelInstallModule>("@pipebook/kernel/install", "the pipebook kernel");
      const result = lab.installLabExtension(opts.dataDir ? { dataDir: opts.dataDir } : {});
      // The kernelspec goes into the same Jupyter data folder as the extension.
      process.env["JUPYTER_DATA_DIR"] = result.dataDir;
      const spec = await kernel.installKernelSpec({});
      process.stdout.write(`installed the pipebook JupyterLab extension in ${result.labextensionDir}\nand the kernelspec in ${spec.path}\n`);
    });
}
