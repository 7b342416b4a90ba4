import net from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  GetItemDetailRequestSchema,
  GetItemDetailResponseSchema,
  ItemService,
} from "@pos/gen/pos/masterdata/v1/item_service_pb.js";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { createConnectApp } from "./connect-app.js";

// While the app closes, a call in flight finishes (its HTTP/1.1 response says connection: close)
// and a call that arrives on a connection still open is answered `unavailable` in its protocol's
// framing, unserved, on the fast path and through fastify alike.

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function start(unaryFastPath: boolean) {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let entered: () => void = () => {};
  const inFlight = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const served: string[] = [];
  const app = await createConnectApp({
    serviceName: "svc",
    routes: (router) =>
      router.service(ItemService, {
        async getItemDetail(req) {
          served.push(req.itemCode);
          if (req.itemCode === "WAIT") {
            entered();
            await released;
          }
          return create(GetItemDetailResponseSchema, { item: { itemCode: req.itemCode } });
        },
      }),
    logLevel: "silent",
    logRequests: false,
    readMaxBytes: 1 << 20,
    unaryFastPath,
  });
  let draining: () => void = () => {};
  const drained = new Promise<void>((resolve) => {
    draining = resolve;
  });
  // Runs after the one-port server's own preClose hook, which starts the drain.
  app.addHook("preClose", async () => draining());
  await app.listen({ host: "127.0.0.1", port: 0 });
  apps.push(app);
  const port = (app.server.address() as { port: number }).port;
  return { app, port, release, inFlight, drained, served };
}

function post(path: string, type: string, body: Uint8Array | string): Buffer {
  const bytes = typeof body === "string" ? Buffer.from(body) : Buffer.from(body);
  return Buffer.concat([
    Buffer.from(`POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: ${type}\r\ncontent-length: ${bytes.length}\r\n\r\n`),
    bytes,
  ]);
}

function grpcWebBody(itemCode: string): Uint8Array {
  const msg = toBinary(GetItemDetailRequestSchema, create(GetItemDetailRequestSchema, { itemCode }));
  const frame = Buffer.alloc(5 + msg.length);
  frame.writeUInt32BE(msg.length, 1);
  frame.set(msg, 5);
  return frame;
}

const method = "/pos.masterdata.v1.ItemService/GetItemDetail";

const wires = [
  {
    name: "Connect JSON",
    request: (code: string) => post(method, "application/json", JSON.stringify({ itemCode: code })),
    refused: (text: string) => {
      expect(text).toMatch(/^HTTP\/1\.1 503 /);
      expect(text).toContain('{"code":"unavailable","message":"svc is shutting down; retry"}');
    },
  },
  {
    name: "gRPC-Web",
    request: (code: string) => post(method, "application/grpc-web+proto", grpcWebBody(code)),
    refused: (text: string) => {
      expect(text).toMatch(/^HTTP\/1\.1 200 /);
      expect(text).toContain("grpc-status: 14");
      expect(text).toContain("grpc-message: svc%20is%20shutting%20down");
    },
  },
];

/** Reads from `socket` until `done(text)` says the answers so far are complete. */
function reader(socket: net.Socket) {
  let text = "";
  const waiters = new Set<() => void>();
  socket.on("error", () => {});
  socket.on("data", (c: Buffer) => {
    text += c.toString("latin1");
    for (const w of waiters) w();
  });
  socket.on("close", () => {
    for (const w of waiters) w();
  });
  return {
    text: () => text,
    until: (done: (text: string) => boolean) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (done(text) || socket.destroyed) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      }),
  };
}

// A whole response: its headers, and as many body bytes as content-length says.
function complete(text: string): boolean {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return false;
  if (/transfer-encoding: chunked/i.test(text.slice(0, end))) return text.includes("\r\n0\r\n\r\n", end);
  const length = Number(/content-length: (\d+)/i.exec(text.slice(0, end))?.[1] ?? Number.NaN);
  return text.length >= end + 4 + length;
}

describe("requests during shutdown", () => {
  for (const fast of [true, false]) {
    for (const wire of wires) {
      it(`${wire.name}, ${fast ? "fast path" : "fastify"}: the call in flight finishes, a call on an idle keep-alive connection gets unavailable`, async () => {
        const { app, port, release, inFlight, drained, served } = await start(fast);
        // An idle keep-alive connection: one call answered, then nothing.
        const idle = net.connect({ port, host: "127.0.0.1" });
        const idleRead = reader(idle);
        idle.write(wire.request("FIRST"));
        await idleRead.until(complete);
        expect(idleRead.text()).toMatch(/^HTTP\/1\.1 200 /);
        const idleText = idleRead.text().length;
        // A call in flight on another connection keeps the app closing.
        const busy = net.connect({ port, host: "127.0.0.1" });
        const busyRead = reader(busy);
        busy.write(wire.request("WAIT"));
        await inFlight;
        const closing = app.close();
        await drained;
        idle.write(wire.request("LATE"));
        await idleRead.until((t) => complete(t.slice(idleText)));
        const late = idleRead.text().slice(idleText);
        wire.refused(late);
        expect(late.toLowerCase()).toContain("connection: close");
        release();
        await busyRead.until(complete);
        expect(busyRead.text()).toMatch(/^HTTP\/1\.1 200 /);
        expect(busyRead.text()).toContain("WAIT");
        expect(busyRead.text().toLowerCase()).toContain("connection: close");
        await closing;
        expect(served).toEqual(["FIRST", "WAIT"]);
        idle.destroy();
        busy.destroy();
      });
    }
  }
});
