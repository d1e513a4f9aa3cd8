// The protocol suite's headline measures for the summary (bench/protocol/results.json): one
// session's round trip over WebSocket (issue 12's echo row) on two cores and on one, and over
// long-polling, the same echo through a Connection (the message layer, no session), a loop of
// awaited puts (issue 12's first row), and what one client sends per second, each beside raw ws
// and socket.io.
import { headline, type Headline } from "../shared/results.js";
import type { RowName, Variant } from "./config.js";
import type { Row } from "./report.js";

export function protocolHeadlines(rows: readonly Row[]): Headline[] {
  const row = (name: RowName): Row | undefined => rows.find((r) => r.row === name);
  const p50 = (name: RowName): number | undefined => row(name)?.rtt?.p50Ms;
  const p50OneCore = (name: RowName): number | undefined => row(name)?.rttOneCore?.p50Ms;
  const perSecond = (name: RowName): number | undefined => row(name)?.rtt?.perSecond;
  const rate = (name: RowName, variant: Variant): number | undefined => row(name)?.throughput?.get(variant)?.median.perSecond;
  return [
    headline("rtt-p50-ws", "echo through a server channel, RTT p50 (WebSocket)", "ms", "lower", p50("wirechan-ws"), [
      ["raw ws", p50("ws")],
      ["socket.io", p50("socketio-ws")],
      ["raw ws + JSON frames", p50("ws-json")],
      ["raw ws + JSON frames + channels", p50("ws-json-chan")],
    ]),
    headline("rtt-p50-ws-one-core", "the same, both processes on one core", "ms", "lower", p50OneCore("wirechan-ws"), [
      ["raw ws", p50OneCore("ws")],
      ["socket.io", p50OneCore("socketio-ws")],
      ["raw ws + JSON frames", p50OneCore("ws-json")],
      ["raw ws + JSON frames + channels", p50OneCore("ws-json-chan")],
    ]),
    headline("rtt-p50-ws-connection", "echo through a `Connection`, wirechan's message layer without a session (WebSocket)", "ms", "lower", p50("wirechan-connection"), [
      ["raw ws", p50("ws")],
      ["socket.io", p50("socketio-ws")],
    ]),
    headline("rtt-p50-ws-connection-one-core", "the same, both processes on one core", "ms", "lower", p50OneCore("wirechan-connection"), [
      ["raw ws", p50OneCore("ws")],
      ["socket.io", p50OneCore("socketio-ws")],
    ]),
    headline("awaited-put-loop", "a loop of `await proxy.put(v)`, one client (WebSocket; raw ws and socket.io: their echo round trips one at a time)", "puts/s", "higher", rate("wirechan-ws", "awaited"), [
      ["raw ws", perSecond("ws")],
      ["socket.io", perSecond("socketio-ws")],
    ]),
    headline("rtt-per-second-ws", "echo round trips one at a time (WebSocket)", "round trips/s", "higher", perSecond("wirechan-ws"), [
      ["raw ws", perSecond("ws")],
      ["socket.io", perSecond("socketio-ws")],
    ]),
    headline("rtt-p50-longpoll", "echo RTT p50 over long-polling (socket.io: its polling transport)", "ms", "lower", p50("wirechan-longpoll"), [
      ["socket.io", p50("socketio-polling")],
    ]),
    headline("put-rate-ws", "one client's acknowledged values (WebSocket; wirechan put, socket.io emitWithAck, raw ws send unacknowledged)", "values/s", "higher", rate("wirechan-ws", "put"), [
      ["raw ws", rate("ws", "send")],
      ["socket.io", rate("socketio-ws", "emitWithAck")],
    ]),
    headline("put-rate-longpoll", "one client's acknowledged values over long-polling (socket.io polling emitWithAck; emit: unacknowledged)", "values/s", "higher", rate("wirechan-longpoll", "put"), [
      ["socket.io", rate("socketio-polling", "emitWithAck")],
      ["socket.io emit", rate("socketio-polling", "emit")],
    ]),
  ];
}
