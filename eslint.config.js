// Lint: the recommended JavaScript and type-aware TypeScript rules, plus the few house rules
// that keep module boundaries honest (no `any`, no disabled type checks), and the layers of
// docs/architecture.md: one `no-restricted-imports` block per folder of src/.
import { builtinModules } from "node:module";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const ARCHITECTURE = "see docs/architecture.md";

/** A relative import of the folder `layer` of src/ from any depth (`../wire/x.js`, `../../client/x.js`). */
function layer(name, rule) {
  return { regex: `^(\\.\\./)+${name}(/|$)`, message: `${rule} (${ARCHITECTURE}).` };
}

/** Node's modules, `node:http` and bare `http` alike. */
function node(rule) {
  // Names of letters, digits, `_` and `/` only (`fs/promises`): nothing to escape in a regex.
  const bare = builtinModules.filter((m) => !m.startsWith("node:"));
  return { regex: `^(node:|(${bare.join("|")})(/|$))`, message: `${rule} (${ARCHITECTURE}).` };
}

/** The `ws` package. */
function ws(rule) {
  return { regex: "^ws(/|$)", message: `${rule} (${ARCHITECTURE}).` };
}

/** The package by its own name: inside src/, layers import each other by relative path, where the rules see them. */
const selfReference = { regex: "^wirechan(/|$)", message: `inside src/, import by relative path, not by the package name, so the layer rules apply (${ARCHITECTURE}).` };

/** `no-restricted-imports` for the files `files` with these forbidden patterns. Sees static imports and re-exports only, never `import()`. */
function layerRules(files, patterns) {
  return { files, rules: { "no-restricted-imports": ["error", { patterns: [...patterns, selfReference] }] } };
}

const BROWSER = "it must run in browsers";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", ".tmp/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: {
        // types/browser/ holds the stubs of tsconfig.browser.json, which tsconfig.json does not include.
        projectService: { allowDefaultProject: ["types/browser/*.d.ts"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/ban-ts-comment": ["error", { "ts-ignore": true, "ts-nocheck": true, "ts-expect-error": "allow-with-description" }],
      "@typescript-eslint/no-floating-promises": [
        "error",
        // node:test's describe/it return promises the runner itself tracks.
        { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["describe", "it", "test", "suite", "before", "after", "beforeEach", "afterEach"] }] },
      ],
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  // The layers: csp <- wire <- session <- client / server. Each block lists all a folder may not
  // import; a later block for the same file replaces the earlier one's list.
  layerRules(["src/index.ts"], [{ regex: "^(?!\\./csp/)", message: `src/index.ts is the \`wirechan\` entry point: the channel library (./csp/) only (${ARCHITECTURE}).` }]),
  layerRules(["src/csp/**"], [
    layer("wire", "csp is the bottom layer: it may not import wire/"),
    layer("session", "csp is the bottom layer: it may not import session/"),
    layer("client", "csp is the bottom layer: it may not import client/"),
    layer("server", "csp is the bottom layer: it may not import server/"),
    node(`csp may not import Node's modules: ${BROWSER}`),
    ws(`csp may not import ws: ${BROWSER}`),
  ]),
  layerRules(["src/wire/**"], [
    layer("session", "wire may import csp/ only: not session/"),
    layer("client", "wire may import csp/ only: not client/"),
    layer("server", "wire may import csp/ only: not server/"),
    node(`wire may not import Node's modules: ${BROWSER}`),
    ws(`wire may not import ws: ${BROWSER}`),
  ]),
  layerRules(["src/session/**"], [
    layer("client", "session may import csp/ and wire/ only: not client/ (the same session code runs on both ends)"),
    layer("server", "session may import csp/ and wire/ only: not server/ (the same session code runs on both ends)"),
    node(`session may not import Node's modules: ${BROWSER} (sans-I/O)`),
    ws(`session may not import ws: ${BROWSER} (sans-I/O)`),
  ]),
  layerRules(["src/client/**"], [
    layer("server", "client and server never import each other: what both need belongs in wire/ or session/"),
    node(`client may not import Node's modules statically: ${BROWSER}; Node-only code goes in client/node-http.ts, loaded with import() only in Node`),
    ws(`client may not import ws statically: ${BROWSER}; transports.ts loads it with import() only in Node`),
  ]),
  // Only Node loads it (client/index.ts, dynamically), so Node's modules are allowed here.
  layerRules(["src/client/node-http.ts"], [
    layer("server", "client and server never import each other: what both need belongs in wire/ or session/"),
    ws("client/node-http.ts may not import ws: it is the HTTP transports' fetch"),
  ]),
  layerRules(["src/server/**"], [
    layer("client", "client and server never import each other: what both need belongs in wire/ or session/"),
    { regex: "^(\\.\\./)+backplane/(?!backplane\\.js$)", message: `server may import the backplane's contract (backplane/backplane.ts) only: the engines are chosen by the application and passed in (${ARCHITECTURE}).` },
  ]),
  // Beside server/, over the layers below it; what it needs of the server is the server's to ask.
  layerRules(["src/backplane/**"], [
    layer("client", "backplane may not import client/: it runs between servers"),
    layer("server", "backplane may not import server/: the server imports the backplane's contract, not the other way"),
    ws("backplane may not import ws"),
  ]),
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: {
      globals: { console: "readonly", process: "readonly", setTimeout: "readonly", performance: "readonly" },
    },
  },
);
