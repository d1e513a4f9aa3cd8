/**
 * The apps in a process of their own, for a browser test that kills the server as a crash or
 * `kill -9` would (no goodbye to any client) and starts another on the same port:
 *
 *   node --import tsx test/browser/apps-process.ts PORT
 *
 * Prints the URL once it listens. {@link startAppsProcess} runs it and reads that line.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startApps } from "../../apps/server.js";

/** A running apps process. */
export interface AppsProcess {
  readonly url: string;
  readonly port: number;
  /** SIGKILL: the server ends without closing anything; resolves once the process is gone. */
  kill(): Promise<void>;
}

/** Starts the apps on `port` (0: any free one) in a child process; resolves once it listens. */
export async function startAppsProcess(port: number): Promise<AppsProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = once(child, "exit");
  const url = await firstLine(child);
  return {
    url,
    port: Number(new URL(url).port),
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    if (child.stdout === null) throw new Error("the apps process has no stdout");
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      if (!line.startsWith("http://")) return;
      lines.close();
      resolve(line.trim());
    });
    child.once("exit", (code) => reject(new Error(`the apps process exited (${String(code)}) before it listened`)));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const apps = await startApps({ port: Number(process.argv[2] ?? "0") });
  console.log(apps.url);
}
