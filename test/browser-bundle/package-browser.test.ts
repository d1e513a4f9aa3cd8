// A browser app's bundler resolves `wirechan/client` through package.json's `browser`
// condition to the browser entry (dist/client/browser.js), which has no path to Node: a
// one-line app bundled by esbuild for the browser platform holds no `node:` import and no `ws`.
// The package is resolved as an app would: from a node_modules of a temporary directory that
// links to this repository. Reads dist/, which `npm test` builds first (`npm run build`).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, mkdir, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const APP = `import { connect } from "wirechan/client"; console.log(connect);`;

let appDir = "";

before(async () => {
  assert.ok(existsSync(join(REPO, "dist/client/browser.js")), "dist/ is missing: run `npm run build` first (npm test does)");
  appDir = await mkdtemp(join(tmpdir(), "wirechan-app-"));
  await mkdir(join(appDir, "node_modules"));
  await symlink(REPO, join(appDir, "node_modules", "wirechan"), "dir");
});

after(async () => {
  if (appDir !== "") await rm(appDir, { recursive: true, force: true });
});

/** The app bundled for the browser: its text and which files went in (paths relative to the app). */
async function bundle(): Promise<{ text: string; inputs: string[] }> {
  const result = await build({
    stdin: { contents: APP, resolveDir: appDir, sourcefile: "app.js" },
    bundle: true,
    format: "esm",
    platform: "browser",
    minify: true,
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const [file] = result.outputFiles;
  assert.ok(file !== undefined);
  return { text: file.text, inputs: Object.keys((result.metafile as Metafile).inputs) };
}

describe('import "wirechan/client" in a browser bundle', { timeout: 60_000 }, () => {
  it("resolves to the browser entry through the browser condition", async () => {
    const { inputs } = await bundle();
    assert.ok(
      inputs.some((input) => input.endsWith("dist/client/browser.js")),
      `the bundle should hold dist/client/browser.js; it holds ${inputs.join(", ")}`,
    );
    assert.ok(!inputs.some((input) => /dist\/client\/(index|node-platform|node-http)\.js$/.test(input)), `the Node entry is in the bundle: ${inputs.join(", ")}`);
  });

  it("holds no node: import and no ws module", async () => {
    const { text, inputs } = await bundle();
    assert.deepEqual(
      inputs.filter((input) => /(^|\/)node_modules\/ws\//.test(input)),
      [],
      "ws is in the browser bundle",
    );
    assert.doesNotMatch(text, /["']node:[a-z_/]+["']/, "a node: module is named in the browser bundle");
    assert.doesNotMatch(text, /\bfrom\s*["']ws["']|import\(\s*["']ws["']\s*\)/, "ws is imported by the browser bundle");
    assert.doesNotMatch(text, /node-http/, "node-http is named in the browser bundle");
  });

  it("while Node's resolution (no browser condition) still gets the Node entry: the check above can tell them apart", async () => {
    const result = await build({
      stdin: { contents: APP, resolveDir: appDir, sourcefile: "app.js" },
      bundle: true,
      format: "esm",
      platform: "node",
      write: false,
      metafile: true,
      logLevel: "silent",
      external: ["ws"],
    });
    const inputs = Object.keys(result.metafile.inputs);
    assert.ok(inputs.some((input) => input.endsWith("dist/client/index.js")), `expected the Node entry; got ${inputs.join(", ")}`);
  });
});
