// The HTTP requests of the SSE and long-polling transports, in Node, over node:http with a
// keep-alive agent. Node's global fetch (undici and web streams) costs the client about 2 ms
// of CPU per long-poll round trip on the benchmark machine, node:http about a quarter of it
// (bench/protocol/README.md). Browsers never load this: node-platform.ts, the Node entry's
// platform, imports it only in Node.
import type { Agent, ClientRequest, IncomingMessage, RequestOptions } from "node:http";
import type { HttpAnswer, HttpFetch, HttpRequest } from "./transports.js";

/**
 * How long a kept-alive socket may sit idle in the agent's pool before the client closes it,
 * in ms: below the 5 s `keepAliveTimeout` of a Node server, so the client drops an idle socket
 * before the server does and does not send a request on one the server is closing (node:http's
 * agent keeps idle sockets for ever otherwise: in Node 20 it follows a server's
 * `Keep-Alive: timeout=` hint only when the agent has a `timeout` of its own). The agent's
 * `timeout` also arms on a socket in use, where it only emits `timeout`, which nobody here
 * listens to: a long-poll waits as long as the server holds it.
 *
 * That alone cannot close the race (a client whose event loop is late runs the idle timer
 * late, and another server may close sooner without saying), so a request the server drops
 * the copy of ({@link HttpRequest.resend}) is also made once more, on a fresh socket, when it
 * failed on a reused socket before any byte of its answer: see {@link mayResend}.
 */
export const IDLE_SOCKET_TIMEOUT_MS = 4_000;

/** The errors of a request written to a kept-alive socket its server had closed: reset (ECONNRESET, which "socket hang up" is too) or broken pipe. */
const STALE_SOCKET_ERRORS: ReadonlySet<string | undefined> = new Set(["ECONNRESET", "EPIPE"]);

type RequestFunction = (options: RequestOptions) => ClientRequest;

interface Route {
  readonly request: RequestFunction;
  readonly agent: Agent;
}

/** A fetch for the transports' few needs (method, headers, a text body, abort; status, text, stream) over node:http. */
export async function nodeHttpFetch(): Promise<HttpFetch> {
  const http = await import("node:http");
  const https = await import("node:https");
  const { Readable } = await import("node:stream");
  const { urlToHttpOptions } = await import("node:url");
  const agentOptions = { keepAlive: true, timeout: IDLE_SOCKET_TIMEOUT_MS };
  const routes: Record<"http:" | "https:", Route> = {
    "http:": { request: http.request, agent: new http.Agent(agentOptions) },
    "https:": { request: https.request, agent: new https.Agent(agentOptions) },
  };
  const toWeb = (res: IncomingMessage): ReadableStream<BufferSource> => Readable.toWeb(res) as ReadableStream<BufferSource>;
  const targets = new Targets(urlToHttpOptions);

  return function request(url: URL, init: HttpRequest): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      if (init.signal?.aborted === true) {
        reject(abortError());
        return;
      }
      const route = url.protocol === "https:" ? routes["https:"] : routes["http:"];
      new NodeRequest(route, targets.of(url), init, toWeb, resolve, reject).start(route.agent);
    });
  };
}

/**
 * The request options node:http takes for a URL, by its text, each made once: a link asks for
 * the same two or three endpoints on every request, and taking the URL apart again
 * (`urlToHttpOptions`, which `http.request(url)` calls) was a visible share of a long-poll's
 * client CPU. At most {@link MAX_TARGETS} are kept (a client speaks to one server; a fetch used
 * for more starts over when full).
 */
class Targets {
  readonly #byHref = new Map<string, RequestOptions>();

  constructor(private readonly parse: (url: URL) => RequestOptions) {}

  of(url: URL): RequestOptions {
    let target = this.#byHref.get(url.href);
    if (target === undefined) {
      if (this.#byHref.size >= MAX_TARGETS) this.#byHref.clear();
      target = this.parse(url);
      this.#byHref.set(url.href, target);
    }
    return target;
  }
}

/** The most request targets a Node fetch keeps (see {@link Targets}). */
export const MAX_TARGETS = 16;

/** One request and its answer, made at most twice (see {@link mayResend}). */
class NodeRequest {
  #req: ClientRequest | null = null;
  #answered = false;
  #resent = false;
  readonly #headers: Record<string, string> | undefined;

  constructor(
    private readonly route: Route,
    private readonly target: RequestOptions,
    private readonly init: HttpRequest,
    private readonly toWeb: (res: IncomingMessage) => ReadableStream<BufferSource>,
    private readonly resolve: (answer: HttpAnswer) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    const body = init.body;
    // A length instead of chunked encoding: node:http then writes the head and the body in
    // one system call, where chunked framing took a writev and a write per request.
    this.#headers = body === undefined ? init.headers : { ...init.headers, "content-length": String(Buffer.byteLength(body)) };
    init.signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Sends the request through `agent`, or on a socket of its own (`false`). */
  start(agent: Agent | false): void {
    const req = this.route.request({ ...this.target, method: this.init.method ?? "GET", headers: this.#headers, agent });
    this.#req = req;
    req.once("error", this.#onError);
    req.once("response", this.#onResponse);
    req.end(this.init.body);
  }

  readonly #onAbort = (): void => {
    this.#req?.destroy(abortError());
  };

  readonly #onError = (error: NodeJS.ErrnoException): void => {
    const req = this.#req;
    if (req !== null && mayResend(this.init, req, error, this.#answered, this.#resent)) {
      this.#resent = true;
      // A socket of its own, not the pool's: the pool's other idle sockets may be as stale.
      this.start(false);
      return;
    }
    this.#forgetAbort();
    this.reject(error);
  };

  readonly #onResponse = (res: IncomingMessage): void => {
    this.#answered = true;
    const status = res.statusCode ?? 0;
    res.once("end", this.#forgetAbort);
    res.once("close", this.#forgetAbort);
    const toWeb = this.toWeb;
    this.resolve({
      ok: status >= 200 && status < 300,
      status,
      text: () => readText(res),
      // Made only when asked for (the SSE stream): the web stream is the costly part.
      get body(): ReadableStream<BufferSource> {
        return toWeb(res);
      },
    });
  };

  readonly #forgetAbort = (): void => {
    this.init.signal?.removeEventListener("abort", this.#onAbort);
  };
}

/**
 * Whether a failed request is made once more, on a fresh socket: only a request whose copy the
 * server drops (`resend`: a `POST send`, whose frames carry sequence numbers the server's inbox
 * counts once, and whose control frames are acks, pings, pongs and byes that may come twice),
 * only once, only when it went out on a socket reused from the pool, and only when it failed
 * with a reset or a broken pipe before any byte of its answer: a server closing that socket
 * for idleness as the request was written. Any other failure is the link's: a long-poll, a
 * stream or an open cut is the session's to resume, on a new link.
 */
function mayResend(init: HttpRequest, req: ClientRequest, error: NodeJS.ErrnoException, answered: boolean, resent: boolean): boolean {
  return init.resend === true && !resent && !answered && req.reusedSocket && STALE_SOCKET_ERRORS.has(error.code) && init.signal?.aborted !== true;
}

function readText(res: IncomingMessage): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let text = "";
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => (text += chunk));
    res.once("end", () => resolve(text));
    res.once("error", reject);
    res.once("aborted", () => reject(abortError()));
  });
}

function abortError(): Error {
  const error = new Error("the request was aborted");
  error.name = "AbortError";
  return error;
}
