// The process cluster suite (processes/process-suite.ts) on real NATS (NATS_URL, default
// nats://127.0.0.1:4222; the engine-restart tests run a nats-server of their own).
import { processClusterSuite } from "./processes/process-suite.js";

processClusterSuite("nats");
