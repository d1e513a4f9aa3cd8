/**
 * The browser build, served as `/wirechan/client.js`: the whole channel library and the client
 * (`connect`), in one ESM file, so a page can `import { chan, connect } from "/wirechan/client.js"`
 * with no build step of its own. The client is its browser entry: no `ws`, no `node:*`.
 */
export * from "./index.js";
export * from "./client/browser.js";
