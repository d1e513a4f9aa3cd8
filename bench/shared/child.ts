// A child process of a benchmark (server, protocol), driven over its IPC channel: every command
// carries an id and resolves with the child's answer of that id. A child that exits, or does
// not answer within the timeout, rejects what is pending. `kill` ends it at once; `stop` ends it: the IPC channel is
// closed (the child exits by itself, writing a --cpu-prof profile if it was asked to), and
// what has not exited shortly after is SIGKILLed.
import { spawn, type ChildProcess } from "node:child_process";

export type Reply = Record<string, unknown>;

interface Pending {
  resolve(reply: Reply): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** How long a child may take to exit by itself before it is SIGKILLed. */
const GRACE_MS = 3_000;

export class Child {
  /** Every child not yet known to be gone, for the benchmark's last-resort watchdog. */
  private static readonly live = new Set<Child>();
  private readonly proc: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderr = "";
  private exited: string | null = null;
  readonly ready: Promise<Reply>;

  constructor(
    readonly name: string,
    entry: string,
    args: readonly string[],
    nodeFlags: readonly string[],
    readyTimeoutMs: number,
  ) {
    this.proc = spawn(process.execPath, [...nodeFlags, entry, ...args], { stdio: ["ignore", "inherit", "pipe", "ipc"] });
    Child.live.add(this);
    this.proc.once("exit", () => Child.live.delete(this));
    this.proc.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      // Kept for failure reports; bounded so a chatty child cannot grow the parent.
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    this.ready = new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: not ready after ${readyTimeoutMs} ms`)), readyTimeoutMs);
      this.proc.on("message", (raw: unknown) => {
        const msg = raw as Reply;
        if (msg["ready"] === true) {
          clearTimeout(timer);
          resolve(msg);
          return;
        }
        const pending = this.pending.get(msg["id"] as number);
        if (pending === undefined) return;
        this.pending.delete(msg["id"] as number);
        clearTimeout(pending.timer);
        if (msg["ok"] === true) pending.resolve(msg);
        else pending.reject(new Error(`${name}: ${String(msg["error"])}`));
      });
      this.proc.on("exit", (code, signal) => {
        clearTimeout(timer);
        this.exited = `exited (${code ?? signal})`;
        const error = new Error(`${name} ${this.exited}${this.stderr ? `: ${this.stderr.trim()}` : ""}`);
        reject(error);
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(error);
        }
        this.pending.clear();
      });
      this.proc.on("error", (error) => reject(new Error(`${name}: spawn failed: ${error.message}`)));
    });
    // A failing ready is handled by whoever awaits it; this only keeps Node from calling it unhandled.
    this.ready.catch(() => {});
  }

  /** The process id (for pinning it to CPUs). */
  get pid(): number {
    return this.proc.pid ?? -1;
  }

  request(command: Reply, timeoutMs: number): Promise<Reply> {
    if (this.exited !== null) return Promise.reject(new Error(`${this.name} ${this.exited}`));
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no answer to ${String(command["cmd"])} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.proc.send({ ...command, id });
    });
  }

  /** SIGKILLs every child still running (the watchdog's way out). */
  static killAll(): void {
    for (const child of Child.live) child.proc.kill("SIGKILL");
  }

  /** SIGKILL, and resolves once the process is gone. */
  kill(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.proc.once("exit", () => resolve());
      this.proc.kill("SIGKILL");
    });
  }

  /** Closes the IPC channel (the child exits), SIGKILLs it if it is still there after a grace period; resolves once it is gone. */
  stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), GRACE_MS);
      this.proc.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      if (this.proc.connected) this.proc.disconnect();
      else this.proc.kill("SIGKILL");
    });
  }
}
