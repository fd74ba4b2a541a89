import { cp, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PackageSource } from "../../dsl/Environment.js";
import { digestOfJson } from "../../fingerprint/digest.js";
import { hashTree, type TreeHasherDeps } from "../../fingerprint/hashTree.js";
import { describeImageProblem, type ImageProblemFacts } from "../ComputeFailure.js";
import type { DockerEngine } from "./DockerEngine.js";

/** What is installed on top of a base image; empty means the base image as it is. */
export interface ImageAdditions {
  readonly interpreter: string;
  readonly pipPackages: readonly string[];
  readonly packageSource: PackageSource;
  readonly dockerfileLines: readonly string[];
}

export interface ResolvedImage {
  /** The base image's id (sha256:…): what the name pointed at when the step was submitted. */
  readonly baseId: string;
  /** The image the step runs in: the base, or the image derived from it for these additions. */
  readonly runId: string;
  /** Find-links folders by content digest: the package source as it enters the key. */
  readonly findLinks: readonly string[];
  readonly built: boolean;
}

/**
 * Resolves `name` to the image id the step runs in. With packages or Dockerfile lines, an image
 * derived from the base is built once per environment content (base id, interpreter, packages,
 * wheel folders by content, index URL, lines) and tagged `pipebook-env:<hash>`; a later submit of
 * the same environment finds the tag and builds nothing.
 */
export async function resolveImage(
  engine: DockerEngine,
  name: string,
  additions: ImageAdditions,
  hasher: TreeHasherDeps,
  progress: (line: string) => void,
): Promise<ResolvedImage> {
  let baseId = await engine.imageId(name);
  if (baseId === undefined) {
    progress(`pulling ${name}`);
    try {
      await engine.pull(name, progress);
    } catch (err) {
      throw new ImageProblem({ kind: "pull-failed", image: name, message: (err as Error).message.split("\n")[0]! });
    }
    baseId = await engine.imageId(name);
    if (baseId === undefined) throw new ImageProblem({ kind: "missing-after-pull", image: name });
  }
  const findLinks = await Promise.all(additions.packageSource.findLinks.map((f) => hashTree(f, hasher).then((t) => t.digest as string, () => {
    throw new ImageProblem({ kind: "find-links-missing", folder: f });
  })));
  if (additions.pipPackages.length === 0 && additions.dockerfileLines.length === 0) return { baseId, runId: baseId, findLinks, built: false };

  const hash = digestOfJson({ baseId, interpreter: additions.interpreter, pipPackages: additions.pipPackages, findLinks, indexUrl: additions.packageSource.indexUrl ?? null, lines: additions.dockerfileLines });
  const tag = `pipebook-env:${hash.slice(0, 24)}`;
  const existing = await engine.imageId(tag);
  if (existing) return { baseId, runId: existing, findLinks, built: false };

  const context = await mkdtemp(join(tmpdir(), "pipebook-image-"));
  try {
    const files = ["Dockerfile"];
    const lines = [`FROM ${baseId}`];
    if (additions.pipPackages.length > 0) {
      const links: string[] = [];
      for (const [i, folder] of additions.packageSource.findLinks.entries()) {
        await cp(folder, join(context, "wheels", String(i)), { recursive: true });
        for (const f of await readdir(join(context, "wheels", String(i)), { recursive: true })) files.push(join("wheels", String(i), f));
        links.push(`--find-links /tmp/pipebook-wheels/${i}`);
      }
      if (links.length > 0) lines.push("COPY wheels /tmp/pipebook-wheels");
      const index = additions.packageSource.indexUrl ? [`--index-url ${shellWord(additions.packageSource.indexUrl)}`] : links.length > 0 ? ["--no-index"] : [];
      // PIP_BREAK_SYSTEM_PACKAGES: Debian-based images mark their Python as externally managed;
      // an image built for one step is exactly where installing into it is right.
      lines.push(
        `RUN PIP_BREAK_SYSTEM_PACKAGES=1 ${additions.interpreter} -m pip install --no-cache-dir --disable-pip-version-check --no-input ${[...index, ...links, ...additions.pipPackages.map(shellWord)].join(" ")}` +
          (links.length > 0 ? " && rm -rf /tmp/pipebook-wheels" : ""),
      );
    }
    lines.push(...additions.dockerfileLines);
    await writeFile(join(context, "Dockerfile"), `${lines.join("\n")}\n`);
    progress(`building image ${tag} from ${name}`);
    try {
      await engine.build(context, files, tag, { "pipebook.environment": hash }, progress);
    } catch (err) {
      throw new ImageProblem({ kind: "build-failed", image: name, message: lastLine((err as Error).message) });
    }
    const runId = await engine.imageId(tag);
    if (!runId) throw new ImageProblem({ kind: "build-unlisted", tag });
    return { baseId, runId, findLinks, built: true };
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/** A reason an image cannot be had, as data; the target turns it into its failure (ComputeFailure "image-unavailable"). */
export class ImageProblem extends Error {
  constructor(readonly facts: ImageProblemFacts) {
    super(describeImageProblem(facts));
  }
}

function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=,+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function lastLine(text: string): string {
  return text.split("\n").map((l) => l.trim()).filter(Boolean).pop() ?? text;
}
