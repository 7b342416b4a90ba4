// The containers' HEALTHCHECK: exit 0 when the URL answers 2xx within 2 s (slim images have no curl).
const url = process.argv[2] ?? "http://127.0.0.1:8002/readyz";
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
