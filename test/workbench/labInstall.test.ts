import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { builtEntry, installLabExtension, packageRoot, uninstallLabExtension } from "../../jupyterlab-ext/src/install/installLabExtension.js";
import { launchWorkbench } from "../../jupyterlab-ext/app/launch.mjs";

/**
 * `pipebook lab install` into a Jupyter data directory, checked with the same discovery code an
 * existing JupyterLab runs on its server side (jupyterlab_server's federated-extension listing,
 * jupyter_client's kernelspec manager). The Python `jupyterlab` package itself is not installable
 * here (PyPI is unreachable), so loading the federated bundle in a stock JupyterLab page is not
 * exercised; the bundle's files being served at the advertised URLs is.
 */
describe("installLabExtension", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "pipebook-jupyter-data-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("builds the federated extension, installs it and the kernelspec, and Jupyter finds both", async () => {
    const result = installLabExtension({
      dataDir,
      rebuild: true,
      kernelspec: { name: "pipebook", argv: [process.execPath, "/opt/pipebook/kernel.js", "{connection_file}"], displayName: "TypeScript (pipebook)", language: "typescript" },
    });
    expect(result.labextensionDir).toBe(path.join(dataDir, "labextensions", "@pipebook", "jupyterlab-ext"));
    const manifest = JSON.parse(readFileSync(path.join(result.labextensionDir, "package.json"), "utf8")) as { jupyterlab: { _build: { load: string; extension: string; mimeExtension: string } } };
    expect(manifest.jupyterlab._build.load).toMatch(/^static\/remoteEntry\.[0-9a-f]+\.js$/);
    expect(existsSync(path.join(result.labextensionDir, manifest.jupyterlab._build.load))).toBe(true);
    expect(existsSync(path.join(result.labextensionDir, "schemas", "@pipebook", "jupyterlab-ext", "panel.json"))).toBe(true);

    const specs = spawnSync("/usr/bin/jupyter", ["kernelspec", "list", "--json"], { encoding: "utf8", env: { ...process.env, JUPYTER_PATH: dataDir } });
    expect(specs.status).toBe(0);
    const pipebook = (JSON.parse(specs.stdout) as { kernelspecs: Record<string, { spec: { display_name: string } }> }).kernelspecs["pipebook"];
    expect(pipebook?.spec.display_name).toBe("TypeScript (pipebook)");

    const root = mkdtempSync(path.join(tmpdir(), "pipebook-lab-root-"));
    const server = await launchWorkbench({ rootDir: root, runtimeDir: path.join(root, ".runtime"), serve: false, jupyterPath: dataDir });
    try {
      const page = await (await fetch(`${server.baseUrl}lab`, { headers: { Authorization: `token ${server.token}` } })).text();
      const config = JSON.parse(/<script id="jupyter-config-data" type="application\/json">([\s\S]*?)<\/script>/.exec(page)?.[1] ?? "{}") as {
        federated_extensions?: { name: string; load: string; extension?: string; mimeExtension?: string; style?: string }[];
        fullLabextensionsUrl: string;
      };
      const entry = config.federated_extensions?.find((e) => e.name === "@pipebook/jupyterlab-ext");
      expect(entry).toMatchObject({ load: manifest.jupyterlab._build.load, extension: manifest.jupyterlab._build.extension, mimeExtension: manifest.jupyterlab._build.mimeExtension });
      const remote = await fetch(`${server.baseUrl}${config.fullLabextensionsUrl.replace(/^\//, "")}/@pipebook/jupyterlab-ext/${entry?.load}`, { headers: { Authorization: `token ${server.token}` } });
      expect(remote.status).toBe(200);
      expect(await remote.text()).toContain("@pipebook/jupyterlab-ext");
    } finally {
      await server.stop();
      rmSync(root, { recursive: true, force: true });
    }

    expect(uninstallLabExtension({ dataDir, kernelName: "pipebook" })).toHaveLength(2);
    expect(existsSync(result.labextensionDir)).toBe(false);
  });

  it("rebuilds an incomplete build (chunks missing) instead of installing it", () => {
    const staticDir = path.join(packageRoot(), "labextension", "static");
    if (existsSync(staticDir)) for (const file of readdirSync(staticDir)) rmSync(path.join(staticDir, file));
    const result = installLabExtension({ dataDir });
    expect(builtEntry(result.labextensionDir)).toMatch(/^static\/remoteEntry\./);
    uninstallLabExtension({ dataDir });
  });
});
