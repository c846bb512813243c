// openid-client v6 (panva) as a relying party against a live Consentry server.
//
// Driven by tests/interop/test_openid_client.py over stdin/stdout, one JSON object per line:
//   1. prints {"authorization_url": "..."}         (discovery, PKCE S256, state, nonce)
//   2. reads  {"callback_url": "..."}               (the browser step is done by Playwright in Python)
//   3. prints {"result": {...}} and exits 0, or {"error": "...", "code": "..."} and exits 1.
// Settings come from the environment: ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, AUDIENCE, SCOPE, and
// MODE=deny (the user refuses on the consent page: the error response is checked instead).
import * as readline from 'node:readline';
import * as client from 'openid-client';
import * as oauth from 'oauth4webapi';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`missing environment variable ${name}`);
  return value;
};
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const lines = readline.createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve, reject) => {
  lines.once('line', resolve);
  lines.once('close', () => reject(new Error('stdin closed before the callback URL arrived')));
});
const describe = (err) => ({
  error: `${err?.name}: ${err?.message}`,
  code: err?.code ?? null,
  cause: err?.cause === undefined ? null : JSON.parse(JSON.stringify(err.cause, (k, v) => (v instanceof Headers || v instanceof URLSearchParams ? Object.fromEntries(v) : v))),
});

async function main() {
  const ISSUER = env('ISSUER');
  const AUDIENCE = env('AUDIENCE');
  const REDIRECT_URI = env('REDIRECT_URI');
  const insecure = { execute: [client.allowInsecureRequests] };

  // Discovery: openid-client checks that the metadata issuer equals the issuer URL it was given.
  const config = await client.discovery(new URL(ISSUER), env('CLIENT_ID'), env('CLIENT_SECRET'),
    client.ClientSecretBasic(), insecure);
  // Also verify the ID token signature against the JWKS (off by default: openid-client trusts TLS).
  client.enableNonRepudiationChecks(config);
  const meta = config.serverMetadata();
  // RFC 8414 discovery (/.well-known/oauth-authorization-server) must give the same document.
  const rfc8414 = await client.discovery(new URL(ISSUER), env('CLIENT_ID'), env('CLIENT_SECRET'),
    client.ClientSecretBasic(), { ...insecure, algorithm: 'oauth2' });
  const sameMetadata = JSON.stringify(rfc8414.serverMetadata()) === JSON.stringify(meta);

  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: process.env.SCOPE || 'openid profile email offline_access read:things',
    audience: AUDIENCE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    max_age: '3600',
  });
  emit({ authorization_url: url.href });

  const { callback_url: callbackUrl } = JSON.parse(await nextLine());
  if (process.env.MODE === 'deny') {
    // The user refused: the error response must carry iss too, or the client reports a missing iss.
    try {
      await client.authorizationCodeGrant(config, new URL(callbackUrl), { pkceCodeVerifier: verifier, expectedState: state });
      emit({ result: { denied: null } });
    } catch (err) {
      emit({ result: { denied: describe(err) } });
    }
    return;
  }
  // Checks the RFC 9207 iss parameter (advertised), state, PKCE, the token response and the ID token
  // (iss byte-for-byte, aud, exp/iat, nonce, alg listed in discovery, signature via the JWKS).
  const tokens = await client.authorizationCodeGrant(config, new URL(callbackUrl), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
    maxAge: 3600, // then auth_time is required and checked
  });
  const claims = tokens.claims();

  // RFC 9068: the access token as a resource server sees it (typ at+jwt, required claims, signature).
  const request = new Request(AUDIENCE, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  const atClaims = await oauth.validateJwtAccessToken(meta, request, AUDIENCE, { [oauth.allowInsecureRequests]: true });

  // userinfo: the response sub must equal the ID token's sub.
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);

  // refresh (rotating): a new refresh token; the old one is then refused.
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  let reuse = null;
  try {
    await client.refreshTokenGrant(config, tokens.refresh_token);
  } catch (err) {
    reuse = describe(err);
  }

  // RFC 7009 revocation of the current refresh token, then it no longer works.
  await client.tokenRevocation(config, refreshed.refresh_token);
  let afterRevoke = null;
  try {
    await client.refreshTokenGrant(config, refreshed.refresh_token);
  } catch (err) {
    afterRevoke = describe(err);
  }

  // client_credentials with an Auth0 audience, and the M2M token as a resource server sees it.
  const m2m = await client.clientCredentialsGrant(config, { audience: AUDIENCE });
  const m2mRequest = new Request(AUDIENCE, { headers: { authorization: `Bearer ${m2m.access_token}` } });
  const m2mClaims = await oauth.validateJwtAccessToken(meta, m2mRequest, AUDIENCE, { [oauth.allowInsecureRequests]: true });

  emit({
    result: {
      client_credentials: { scope: m2m.scope, claims: m2mClaims, has_refresh_token: 'refresh_token' in m2m },
      issuer: meta.issuer,
      same_metadata_rfc8414: sameMetadata,
      id_token_claims: claims,
      access_token_claims: atClaims,
      token_type: tokens.token_type,
      scope: tokens.scope,
      expires_in: tokens.expiresIn(),
      userinfo,
      refreshed: { has_access_token: typeof refreshed.access_token === 'string', rotated: refreshed.refresh_token !== tokens.refresh_token, id_token_sub: refreshed.claims()?.sub ?? null },
      reuse,
      after_revoke: afterRevoke,
    },
  });
}

main().then(() => { lines.close(); process.exit(0); }, (err) => { emit(describe(err)); lines.close(); process.exit(1); });
