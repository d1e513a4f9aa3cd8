/**
 * The dashboard page (/dashboard): puts `{ watch: inbox }` on the named server channel
 * "dashboard" and draws what the inbox gets (docs/apps.md, "Dashboard: the messages"): a line
 * chart of the last five minutes (uPlot), the current value, the delivery latency (now − ts,
 * the two clocks being this machine's and the server's), the number of viewers, and the
 * transport. When the session is lost the page connects afresh and the history comes again.
 */
import uPlot from "uplot";
import { chan, type Channel, type Session } from "/wirechan/client.js";
import { keepConnected, StatusLine } from "../page-connection.js";
import type { DashboardEvent, DashboardRequest, Reading } from "./dashboard-messages.js";

/** What the chart shows: the last five minutes. */
const WINDOW_MS = 5 * 60_000;
const INBOX_BUFFER = 64;
/** The chart's height in px; its width follows the page. */
const CHART_HEIGHT = 280;

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the dashboard page has no #${id}`);
  return found;
}

const status = new StatusLine(element("status"));
const current = element("current");
const latency = element("latency");
const viewers = element("viewers");
const transport = element("transport");
const chartBox = element("chart");
const caption = element("chart-caption");

/** The readings shown, oldest first: times in seconds (uPlot's unit) and values. */
const times: number[] = [];
const values: number[] = [];
/** uPlot draws on a canvas, which CSS does not reach: the axes take the page's own colours (light or dark). */
const ink = getComputedStyle(document.body).color;
const axis = { stroke: ink, grid: { stroke: "rgba(128, 128, 128, 0.25)" }, ticks: { stroke: "rgba(128, 128, 128, 0.4)" } };
const plot = new uPlot(
  {
    width: chartWidth(),
    height: CHART_HEIGHT,
    scales: { y: { range: [0, 10] } },
    series: [{}, { label: "happiness", stroke: getComputedStyle(chartBox).getPropertyValue("--accent").trim() || "#2f6fbf", width: 2, points: { show: false } }],
    axes: [axis, { ...axis, size: 40 }],
    legend: { show: false },
  },
  [times, values],
  chartBox,
);
new ResizeObserver(() => plot.setSize({ width: chartWidth(), height: CHART_HEIGHT })).observe(chartBox);

let inbox: Channel<DashboardEvent> | null = null;
let session: Session | null = null;

keepConnected({ status, ready: watch, ended: forget });
setInterval(showTransport, 1_000);

function watch(fresh: Session): void {
  session = fresh;
  const own = chan<DashboardEvent>(INBOX_BUFFER);
  inbox = own;
  showTransport();
  void read(fresh, own);
  void fresh.serverChan<DashboardRequest>("dashboard").put({ watch: own });
}

function forget(lost: Session): void {
  if (lost !== session) return;
  inbox?.close();
  inbox = null;
}

/** Reads one watch's inbox; once it is closed while the session lives on, watches again. */
async function read(on: Session, own: Channel<DashboardEvent>): Promise<void> {
  for await (const event of own) {
    if ("history" in event) {
      times.length = 0;
      values.length = 0;
      for (const reading of event.history) add(reading);
      draw();
    } else if ("reading" in event) {
      add(event.reading);
      draw();
      current.textContent = event.reading.happiness.toFixed(2);
      latency.textContent = `${Math.max(0, Date.now() - event.reading.ts)} ms`;
      viewers.textContent = String(event.viewers);
    } else if ("viewers" in event) {
      viewers.textContent = String(event.viewers);
    } else {
      // Dropped: the server puts nothing more on this inbox (it fell behind); closing it ends
      // this loop, which watches again and gets the history afresh.
      own.close();
    }
  }
  const state = on.state;
  if (own === inbox && (state === "open" || state === "reconnecting")) watch(on);
}

function add(reading: Reading): void {
  const seconds = reading.ts / 1_000;
  const last = times[times.length - 1];
  if (last !== undefined && seconds <= last) return;
  times.push(seconds);
  values.push(reading.happiness);
  const oldest = (reading.ts - WINDOW_MS) / 1_000;
  let drop = 0;
  while (drop < times.length && (times[drop] as number) < oldest) drop++;
  times.splice(0, drop);
  values.splice(0, drop);
}

/** Redraws, and says the same in words for those who cannot see the chart. */
function draw(): void {
  plot.setData([times, values]);
  chartBox.dataset.points = String(times.length);
  chartBox.dataset.oldest = times.length === 0 ? "" : String(Math.round((times[0] as number) * 1_000));
  if (values.length === 0) {
    caption.textContent = "Happiness over the last five minutes: no readings yet.";
    return;
  }
  const low = Math.min(...values).toFixed(1);
  const high = Math.max(...values).toFixed(1);
  caption.textContent = `Happiness over the last five minutes: ${values.length} readings, from ${low} to ${high}.`;
}

function showTransport(): void {
  transport.textContent = session?.transport ?? "–";
}

function chartWidth(): number {
  return Math.max(200, chartBox.clientWidth);
}
