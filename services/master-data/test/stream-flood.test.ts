import http2 from "node:http2";
import { testAuth } from "@pos/common/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMasterData, startMasterData } from "../src/testing/harness.js";

// Issue 9's attack on master-data over real sockets: several HTTP/2 connections each opening more
// ListItems streams (1,000 items a page) than the server allows, reading none of them. The server
// advertises and enforces its stream cap, resets what a connection holds past its memory bound,
// and a normal call on a new connection still answers. (The memory and latency this saves are
// measured by `pnpm --filter @pos/bench stream-flood`, not asserted here.)
const soon = 20_000;

async function until(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + soon;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function post(session: http2.ClientHttp2Session, method: string, body: object): http2.ClientHttp2Stream {
  const req = session.request({
    ":method": "POST",
    ":path": `/pos.masterdata.v1.ItemService/${method}`,
    "content-type": "application/json",
    // This file's admin token: the flood must reach the handlers, as an authenticated client's would.
    authorization: testAuth.adminBearer,
  });
  req.on("error", () => {});
  req.end(JSON.stringify(body));
  return req;
}

describe("HTTP/2 stream flood against master-data", () => {
  let server: RunningMasterData;
  const sessions: http2.ClientHttp2Session[] = [];
  beforeAll(async () => {
    server = await startMasterData();
  });
  afterAll(async () => {
    for (const s of sessions) s.destroy();
    await server?.close();
  });

  it("caps streams per connection, bounds what unread streams hold, and keeps answering others", async () => {
    const floods = Array.from({ length: 3 }, () => {
      const session = http2.connect(server.baseUrl);
      session.on("error", () => {});
      sessions.push(session);
      const state = { responded: 0, refused: 0, calmed: 0, open: 0 };
      for (let i = 0; i < 150; i++) {
        const req = post(session, "ListItems", { tenantId: "T0001", storeCode: "S0001", pageSize: 1000 });
        req.pause();
        state.open++;
        req.on("response", () => state.responded++);
        req.on("close", () => {
          state.open--;
          if (req.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) state.refused++;
          if (req.rstCode === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM) state.calmed++;
        });
      }
      return { session, state };
    });
    // Every connection's streams are either answered (at most 100 at once), refused before the
    // client knew the cap, or waiting on the client's side; past 10 MB held, the server resets.
    await until("each flood to be capped and bounded", () =>
      floods.every((f) => f.state.responded >= 100 && f.state.calmed > 0),
    );
    for (const { session, state } of floods) {
      expect(session.remoteSettings.maxConcurrentStreams).toBe(100);
      expect(state.responded - state.calmed).toBeLessThanOrEqual(100);
    }
    // A normal call on a new connection, while the flood holds its connections open.
    const fresh = http2.connect(server.baseUrl);
    sessions.push(fresh);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = post(fresh, "GetItemDetail", { tenantId: "T0001", storeCode: "S0001", itemCode: "ITEM0001" });
      let body = "";
      let status = 0;
      req.setEncoding("utf8");
      req.on("response", (h) => (status = Number(h[":status"])));
      req.on("data", (c: string) => (body += c));
      req.on("end", () => resolve({ status, body }));
      req.on("error", reject);
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ item: { itemCode: "ITEM0001" } });
  });
});
