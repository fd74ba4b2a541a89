#!/usr/bin/env node
// Started by Jupyter through the kernelspec:  pipebook-kernel -f {connection_file}
// Also:  pipebook-kernel install [--user | --prefix P | --sys-prefix]
const args = process.argv.slice(2);
if (args[0] === "install") {
  const { installKernelSpec } = await import("../dist/install.js");
  const at = args.indexOf("--prefix");
  const { path } = await installKernelSpec({
    user: args.includes("--user"), sysPrefix: args.includes("--sys-prefix"),
    ...(at >= 0 ? { prefix: args[at + 1] } : {}),
  });
  process.stdout.write(`Installed kernelspec pipebook in ${path}\n`);
} else {
  const { runKernel } = await import("../dist/main.js");
  runKernel(args).catch((e) => {
    process.stderr.write(`pipebook kernel failed to start: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
