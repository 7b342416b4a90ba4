import http2 from "node:http2";

/** One gRPC call over h2c with the given request frame: its grpc-status (trailers or headers) and DATA bytes. */
export function probeGrpc(
  url: string,
  frame: Buffer,
  headers: Record<string, string>,
): Promise<{ status: string | undefined; message: string | undefined; dataBytes: number }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const session = http2.connect(target.origin);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": target.pathname, ...headers });
    let status: string | undefined;
    let message: string | undefined;
    let dataBytes = 0;
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]);
      if (h["grpc-message"] !== undefined) message = decodeURIComponent(String(h["grpc-message"]));
    };
    stream.on("response", take);
    stream.on("trailers", take);
    stream.on("data", (c: Buffer) => (dataBytes += c.length));
    stream.on("end", () => {
      session.close();
      resolve({ status, message, dataBytes });
    });
    stream.on("error", (e) => {
      session.close();
      reject(e);
    });
    stream.end(frame);
  });
}
