import { randomUUID } from "node:crypto";
import { redisUrlForSuite } from "@pos/common/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Admission, createRateLimits, type RateLimits } from "./rate-limit.js";

// ONE contract for both stores: the in-memory limiter and the Redis one (real Redis) must count
// alike. Windows of one second, and waits that poll with a deadline instead of sleeping a fixed time.
const redisUrl = await redisUrlForSuite("rate limits on Redis");

async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function rateLimitContract(store: string, url: () => string | undefined) {
  describe(`rate limits (${store})`, () => {
    let limits: RateLimits;
    beforeAll(async () => {
      limits = await createRateLimits(
        {
          tiers: { anonymous: 3, authenticated: 5, privileged: 8 },
          failedAuthAttempts: 2,
          windowSeconds: 1,
          redisUrl: url(),
        },
        // Keys of their own: other runs against the same Redis never share a budget with this one.
        `test-${randomUUID()}`,
      );
    });
    afterAll(() => limits?.close());

    const takeMany = async (n: number, take: () => Promise<Admission>) => {
      const out: Admission[] = [];
      for (let i = 0; i < n; i++) out.push(await take());
      return out;
    };

    it("lets a caller use its tier's budget, then refuses saying how long to wait", async () => {
      const key = randomUUID();
      const answers = await takeMany(4, () => limits.take("anonymous", key));
      expect(answers.slice(0, 3)).toEqual([{ allowed: true }, { allowed: true }, { allowed: true }]);
      const refused = answers[3];
      expect(refused?.allowed).toBe(false);
      if (refused?.allowed === false) {
        expect(refused.retryAfterMs).toBeGreaterThan(0);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(1000);
      }
    });

    it("counts each caller and each tier on its own", async () => {
      const a = randomUUID();
      await takeMany(3, () => limits.take("anonymous", a));
      expect(await limits.take("anonymous", a)).toMatchObject({ allowed: false });
      expect(await limits.take("anonymous", randomUUID())).toEqual({ allowed: true });
      const privileged = await takeMany(8, () => limits.take("privileged", a));
      expect(privileged.every((x) => x.allowed)).toBe(true);
      expect(await limits.take("privileged", a)).toMatchObject({ allowed: false });
      const authenticated = await takeMany(6, () => limits.take("authenticated", a));
      expect(authenticated.map((x) => x.allowed)).toEqual([true, true, true, true, true, false]);
    });

    it("recovers once the window has passed", async () => {
      const key = randomUUID();
      await takeMany(4, () => limits.take("anonymous", key));
      expect(await limits.take("anonymous", key)).toMatchObject({ allowed: false });
      await until("the budget to come back", async () => (await limits.take("anonymous", key)).allowed);
    });

    it("blocks an address at its last allowed failed authentication, and lets it in after the window", async () => {
      const address = `address-${randomUUID()}`;
      expect(await limits.failedAuth(address)).toEqual({ allowed: true });
      const blocked = await limits.failedAuth(address);
      expect(blocked.allowed).toBe(false);
      if (!blocked.allowed) expect(blocked.retryAfterMs).toBeLessThanOrEqual(1000);
      expect(await limits.failedAuth(randomUUID())).toEqual({ allowed: true });
      await until("the address to have a budget again", async () => (await limits.failedAuth(address)).allowed);
    });
  });
}

rateLimitContract("memory", () => undefined);
describe.runIf(redisUrl !== undefined)("on a real Redis", () => {
  rateLimitContract("Redis", () => redisUrl);

  it("two processes' limiters on one Redis share each caller's budget", async () => {
    const service = `test-${randomUUID()}`;
    const settings = {
      tiers: { anonymous: 3, authenticated: 5, privileged: 8 },
      failedAuthAttempts: 2,
      windowSeconds: 5,
      redisUrl,
    };
    const [a, b] = await Promise.all([createRateLimits(settings, service), createRateLimits(settings, service)]);
    try {
      const key = randomUUID();
      expect(await a.take("anonymous", key)).toEqual({ allowed: true });
      expect(await b.take("anonymous", key)).toEqual({ allowed: true });
      expect(await a.take("anonymous", key)).toEqual({ allowed: true });
      expect(await b.take("anonymous", key)).toMatchObject({ allowed: false });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("keeps limiting in memory while Redis cannot be reached", async () => {
    const limits = await createRateLimits(
      {
        tiers: { anonymous: 2, authenticated: 2, privileged: 2 },
        failedAuthAttempts: 2,
        windowSeconds: 5,
        redisUrl: "redis://127.0.0.1:1",
      },
      `test-${randomUUID()}`,
    );
    try {
      const key = randomUUID();
      expect((await limits.take("anonymous", key)).allowed).toBe(true);
      expect((await limits.take("anonymous", key)).allowed).toBe(true);
      expect((await limits.take("anonymous", key)).allowed).toBe(false);
    } finally {
      await limits.close();
    }
  });
});
