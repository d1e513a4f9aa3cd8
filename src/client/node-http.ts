// The HTTP requests of the SSE and long-polling transports, in Node, over node:http with a
// keep-alive agent. Node's global fetch (undici and web streams) costs the client about 2 ms
// of CPU per long-poll round trip on the benchmark machine, node:http about a quarter of it
// (bench/protocol/README.md). Browsers never load this: node-platform.ts, the Node entry's
// platform, imports it only in Node.
import type { ClientRequest, IncomingMessage, RequestOptions } from "node:http";
import type { HttpAnswer, HttpFetch, HttpRequest } from "./transports.js";

type RequestFn = (options: RequestOptions) => ClientRequest;

/**
 * How many times a request that failed on a reused keep-alive socket before any answer is made
 * again, on a fresh socket. The server may close an idle socket just as a request goes out on
 * it (its keep-alive timeout against a client whose event loop is late to see the close): the
 * request then dies with ECONNRESET though the server never read it. Sending it again is safe
 * for every request the transports make: a poll asks again from the same `recv`, and a POST's
 * frames carry sequence numbers the server counts once.
 */
export const RETRIES_ON_REUSED_SOCKET = 1;

/** A fetch for the transports' few needs (method, headers, a text body, abort; status, text, stream) over node:http. */
export async function nodeHttpFetch(): Promise<HttpFetch> {
  const http = await import("node:http");
  const https = await import("node:https");
  const { Readable } = await import("node:stream");
  const transports: Record<"http:" | "https:", NodeTransport> = {
    "http:": { request: http.request, agent: new http.Agent({ keepAlive: true }) },
    "https:": { request: https.request, agent: new https.Agent({ keepAlive: true }) },
  };
  const toWeb = (res: IncomingMessage): ReadableStream<BufferSource> => Readable.toWeb(res) as ReadableStream<BufferSource>;

  return function request(url: URL, init: HttpRequest): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      if (init.signal?.aborted === true) {
        reject(abortError());
        return;
      }
      const transport = url.protocol === "https:" ? transports["https:"] : transports["http:"];
      new NodeRequest(transport, requestOptions(url, init, transport.agent), init, toWeb, resolve, reject).start();
    });
  };
}

interface NodeTransport {
  readonly request: RequestFn;
  readonly agent: NonNullable<RequestOptions["agent"]>;
}

/**
 * The options of one request, its headers as a flat list (node:http's `rawHeaders` form): node
 * writes them as they are, without the per-header bookkeeping of a headers object, and the
 * URL is read here once instead of converted again inside `request`.
 */
function requestOptions(url: URL, init: HttpRequest, agent: NonNullable<RequestOptions["agent"]>): RequestOptions {
  const headers: string[] = ["host", url.host];
  const given = init.headers;
  if (given !== undefined) {
    for (const name in given) headers.push(name, given[name] as string);
  }
  // A length instead of chunked encoding: node:http then writes the head and the body in one
  // system call, where chunked framing took a writev and a write per request.
  if (init.body !== undefined) headers.push("content-length", String(Buffer.byteLength(init.body)));
  return {
    protocol: url.protocol,
    hostname: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port,
    path: url.pathname + url.search,
    method: init.method ?? "GET",
    headers,
    agent,
  };
}

/** One request and its answer: the handlers are its methods, made once per request. */
class NodeRequest {
  #req: ClientRequest | null = null;
  #res: IncomingMessage | null = null;
  #retries = RETRIES_ON_REUSED_SOCKET;
  /** The answer's text, once asked for: how the body ends. */
  #text: { resolve: (text: string) => void; reject: (error: Error) => void; chunks: Buffer[] } | null = null;

  constructor(
    private readonly transport: NodeTransport,
    private readonly options: RequestOptions,
    private readonly init: HttpRequest,
    private readonly toWeb: (res: IncomingMessage) => ReadableStream<BufferSource>,
    private readonly resolve: (answer: HttpAnswer) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  start(): void {
    const req = this.transport.request(this.options);
    this.#req = req;
    req.once("error", this.onError);
    req.once("response", this.onResponse);
    if (this.#retries === RETRIES_ON_REUSED_SOCKET) this.init.signal?.addEventListener("abort", this.onAbort, { once: true });
    req.end(this.init.body);
  }

  private readonly onAbort = (): void => {
    this.#req?.destroy(abortError());
  };

  private readonly onError = (error: NodeJS.ErrnoException): void => {
    const req = this.#req;
    if (this.#res === null && req !== null && req.reusedSocket && error.code === "ECONNRESET" && this.#retries > 0 && this.init.signal?.aborted !== true) {
      this.#retries--;
      this.start();
      return;
    }
    this.init.signal?.removeEventListener("abort", this.onAbort);
    if (this.#res === null) this.reject(error);
  };

  private readonly onResponse = (res: IncomingMessage): void => {
    this.#res = res;
    // 'close' comes last, whether the body ended or was cut: the abort listener goes then.
    res.once("close", this.onClose);
    const status = res.statusCode ?? 0;
    const toWeb = this.toWeb;
    const answer: HttpAnswer = {
      ok: status >= 200 && status < 300,
      status,
      text: this.text,
      // Made only when asked for (the SSE stream): the web stream is the costly part.
      get body(): ReadableStream<BufferSource> {
        return toWeb(res);
      },
    };
    this.resolve(answer);
  };

  /** The whole body as UTF-8 text, decoded once at its end (most answers are one chunk). */
  private readonly text = (): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      const res = this.#res as IncomingMessage;
      this.#text = { resolve, reject, chunks: [] };
      res.on("data", this.onData);
      res.once("end", this.onEnd);
      res.once("error", reject);
    });

  private readonly onData = (chunk: Buffer): void => {
    this.#text?.chunks.push(chunk);
  };

  private readonly onEnd = (): void => {
    const text = this.#text;
    if (text === null) return;
    this.#text = null;
    const { chunks } = text;
    text.resolve(chunks.length === 1 ? (chunks[0] as Buffer).toString("utf8") : Buffer.concat(chunks).toString("utf8"));
  };

  private readonly onClose = (): void => {
    this.init.signal?.removeEventListener("abort", this.onAbort);
    // Closed before its end: the text being read never comes.
    const text = this.#text;
    if (text === null) return;
    this.#text = null;
    text.reject(abortError());
  };
}

function abortError(): Error {
  const error = new Error("the request was aborted");
  error.name = "AbortError";
  return error;
}
