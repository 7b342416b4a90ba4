import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectError } from "@connectrpc/connect";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { createAuthenticator } from "./authenticator.js";
import { createJwksKeys } from "./jwks.js";
import { createTokenSigner } from "./tokens.js";

async function pair(kid: string): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  return {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: "EdDSA" },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "EdDSA" },
  };
}

const reason = (p: Promise<unknown>) =>
  p.then(
    () => "accepted",
    (e: unknown) => ConnectError.from(e).rawMessage,
  );

describe("bearer tokens (jose)", () => {
  const dir = mkdtempSync(join(tmpdir(), "pos-jwks-"));
  const jwksFile = join(dir, "jwks.json");
  const options = { issuer: "pos-test", audience: "pos-connect" };

  it("picks the key by kid and follows the JWKS file as keys rotate", async () => {
    const a = await pair("a");
    const b = await pair("b");
    writeFileSync(jwksFile, JSON.stringify({ keys: [a.publicJwk] }));
    const auth = createAuthenticator({
      jwt: {
        keys: createJwksKeys({ file: jwksFile }, { checkEveryMs: 0 }),
        issuers: ["pos-test"],
        audience: "pos-connect",
      },
    });
    const claims = { sub: "s1", tenant: "T0001", stores: ["*"], roles: ["staff" as const] };
    const withA = await (await createTokenSigner(a.privateJwk, options)).sign(claims, 600);
    const withB = await (await createTokenSigner(b.privateJwk, options)).sign(claims, 600);
    const header = (t: string) => new Headers({ authorization: `Bearer ${t}` });
    expect((await auth.authenticate(header(withA))).roles).toEqual(["staff"]);
    expect(await reason(auth.authenticate(header(withB)))).toBe("bearer token not accepted");
    // Rotation: the new key is published next to the old one, then the old one is withdrawn.
    writeFileSync(jwksFile, JSON.stringify({ keys: [a.publicJwk, b.publicJwk] }));
    expect((await auth.authenticate(header(withB))).subject).toBe("s1");
    writeFileSync(jwksFile, JSON.stringify({ keys: [b.publicJwk] }));
    const laterA = await (await createTokenSigner(a.privateJwk, options)).sign({ ...claims, sub: "s2" }, 600);
    expect(await reason(auth.authenticate(header(laterA)))).toBe("bearer token not accepted");
  });

  it("refuses symmetric algorithms, other issuers and audiences, and claims that say too little", async () => {
    const a = await pair("k");
    writeFileSync(jwksFile, JSON.stringify({ keys: [a.publicJwk] }));
    const auth = createAuthenticator({
      jwt: {
        keys: createJwksKeys({ file: jwksFile }, { checkEveryMs: 0 }),
        issuers: ["pos-test"],
        audience: "pos-connect",
      },
    });
    const header = (t: string) => new Headers({ authorization: `Bearer ${t}` });
    const hs = await new SignJWT({ tenant: "T0001", roles: ["admin"] })
      .setProtectedHeader({ alg: "HS256", kid: "k" })
      .setIssuer("pos-test")
      .setAudience("pos-connect")
      .setSubject("x")
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode("a-shared-secret-a-shared-secret-!"));
    expect(await reason(auth.authenticate(header(hs)))).toBe("bearer token not accepted");
    const signer = (issuer: string, audience: string) => createTokenSigner(a.privateJwk, { issuer, audience });
    const claims = { sub: "s", tenant: "T0001", stores: ["*"], roles: ["admin" as const] };
    expect(
      await reason(auth.authenticate(header(await (await signer("other", "pos-connect")).sign(claims, 600)))),
    ).toBe("bearer token not accepted");
    expect(await reason(auth.authenticate(header(await (await signer("pos-test", "other")).sign(claims, 600))))).toBe(
      "bearer token not accepted",
    );
    const noTenant = await (await signer("pos-test", "pos-connect")).sign({ ...claims, tenant: "" }, 600);
    expect(await reason(auth.authenticate(header(noTenant)))).toBe("bearer token not accepted");
  });

  it("allows the configured clock skew on exp, and says when a token expired", async () => {
    const a = await pair("c");
    writeFileSync(jwksFile, JSON.stringify({ keys: [a.publicJwk] }));
    const auth = createAuthenticator({
      jwt: {
        keys: createJwksKeys({ file: jwksFile }, { checkEveryMs: 0 }),
        issuers: ["pos-test"],
        audience: "pos-connect",
      },
      clockToleranceSeconds: 30,
    });
    const signer = await createTokenSigner(a.privateJwk, options);
    const claims = { sub: "s", tenant: "T0001", stores: ["*"], roles: ["admin" as const] };
    const header = (t: string) => new Headers({ authorization: `Bearer ${t}` });
    expect((await auth.authenticate(header(await signer.sign(claims, -10)))).tenant).toBe("T0001");
    expect(await reason(auth.authenticate(header(await signer.sign(claims, -120))))).toBe("bearer token expired");
  });
});
