// The HTTP requests of the SSE and long-polling transports, in Node, over node:http with a
// keep-alive agent. Node's global fetch (undici and web streams) costs the client about 2 ms
// of CPU per long-poll round trip on the benchmark machine, node:http about a quarter of it
// (bench/protocol/README.md). Browsers never load this: node-platform.ts, the Node entry's
// platform, imports it only in Node.
import type { HttpAnswer, HttpFetch, HttpRequest } from "./transports.js";

/** A fetch for the transports' few needs (method, headers, a text body, abort; status, text, stream) over node:http. */
export async function nodeHttpFetch(): Promise<HttpFetch> {
  const http = await import("node:http");
  const https = await import("node:https");
  const { Readable } = await import("node:stream");
  const agents = { "http:": new http.Agent({ keepAlive: true }), "https:": new https.Agent({ keepAlive: true }) };

  return function request(url: URL, init: HttpRequest): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const secure = url.protocol === "https:";
      const signal = init.signal;
      if (signal?.aborted === true) {
        reject(abortError());
        return;
      }
      const body = init.body;
      // A length instead of chunked encoding: node:http then writes the head and the body in
      // one system call, where chunked framing took a writev and a write per request.
      const headers = body === undefined ? init.headers : { ...init.headers, "content-length": String(Buffer.byteLength(body)) };
      const req = (secure ? https : http).request(url, {
        method: init.method ?? "GET",
        headers,
        agent: agents[secure ? "https:" : "http:"],
      });
      const onAbort = (): void => {
        req.destroy(abortError());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      req.once("error", (error) => {
        signal?.removeEventListener("abort", onAbort);
        reject(error);
      });
      req.once("response", (res) => {
        const status = res.statusCode ?? 0;
        const done = (): void => signal?.removeEventListener("abort", onAbort);
        res.once("end", done);
        res.once("close", done);
        resolve({
          ok: status >= 200 && status < 300,
          status,
          text: () =>
            new Promise<string>((resolveText, rejectText) => {
              let text = "";
              res.setEncoding("utf8");
              res.on("data", (chunk: string) => (text += chunk));
              res.once("end", () => resolveText(text));
              res.once("error", rejectText);
              res.once("aborted", () => rejectText(abortError()));
            }),
          // Made only when asked for (the SSE stream): the web stream is the costly part.
          get body(): ReadableStream<BufferSource> {
            return Readable.toWeb(res) as ReadableStream<BufferSource>;
          },
        });
      });
      req.end(body);
    });
  };
}

function abortError(): Error {
  const error = new Error("the request was aborted");
  error.name = "AbortError";
  return error;
}
