// What the browser type check (tsconfig.browser.json) sees for the `ws` package, instead of
// @types/ws, which would bring in all of Node's types and hide every Node-only name. Only Node
// loads `ws`: src/client/transports.ts imports it dynamically when there is no global WebSocket.
declare const WebSocket: unknown;
export default WebSocket;
