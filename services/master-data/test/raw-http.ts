import http from "node:http";
import http2 from "node:http2";
import { testAuth } from "@pos/common/testing";

// Raw requests carry this file's admin token of T0001 unless they name a credential (or `anonymous`).
function withCredential(headers: Record<string, string> | undefined, anonymous: boolean | undefined) {
  const given = Object.keys(headers ?? {}).map((k) => k.toLowerCase());
  if (anonymous === true || given.includes("authorization") || given.includes("x-api-key")) return headers;
  return { ...headers, authorization: testAuth.adminBearer };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  trailers: Record<string, string>;
}

/** One HTTP/1.1 request with exactly the bytes given: for inputs no well-behaved client sends. */
export function h1Request(
  baseUrl: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: Buffer | string; anonymous?: boolean },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(path, baseUrl),
      { method: init.method ?? "POST", headers: withCredential(init.headers, init.anonymous), agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: flat(res.headers),
            body: Buffer.concat(chunks),
            trailers: flat(res.trailers),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}

/** One HTTP/2 (h2c prior knowledge) request with the bytes given, trailers included (gRPC status). */
export function h2Request(
  baseUrl: string,
  path: string,
  init: { headers?: Record<string, string>; body?: Buffer; anonymous?: boolean },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      ...withCredential(init.headers, init.anonymous),
    });
    let status = 0;
    let headers: Record<string, string> = {};
    let trailers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      headers = flat(h);
    });
    stream.on("trailers", (t) => (trailers = flat(t)));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      session.close();
      resolve({ status, headers, body: Buffer.concat(chunks), trailers });
    });
    stream.on("error", (e) => {
      session.close();
      reject(e);
    });
    stream.end(init.body);
  });
}

/** A gRPC length-prefixed message frame (flag 0, big-endian length). */
export function grpcFrame(payload: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

function flat(h: NodeJS.Dict<string | string[] | number>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : String(v);
  return out;
}
