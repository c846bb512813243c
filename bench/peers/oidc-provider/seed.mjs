// Seeds N single-use items into Redis through the provider's own models and prints one per line:
// `refresh` (default): refresh tokens, each with its Grant, as a finished code flow leaves them;
// `code`: authorization codes (PKCE S256 with the verifier in VERIFIER, offline_access, the JWT API), each with
// its Grant, as the authorization endpoint leaves them. Usage: node seed.mjs N [refresh|code] > items.txt
import { createHash } from 'node:crypto';
import { createProvider, JWT_API } from './config.mjs';
import RedisAdapter from './redis-adapter.mjs';

export const VERIFIER = 'peer-bench-pkce-verifier-0123456789-abcdefghijklmnopqrstuvwxyz';
export const REDIRECT_URI = 'https://partner.bench.example/callback';
const n = Number(process.argv[2] || 1000);
const kind = process.argv[3] || 'refresh';
const provider = createProvider();
const client = await provider.Client.find('bench-app');
const now = Math.floor(Date.now() / 1000);
const challenge = createHash('sha256').update(VERIFIER).digest('base64url');
const scope = 'openid offline_access read:data';

async function one(i) {
  const accountId = `user${i % 500}`;
  const grant = new provider.Grant({ accountId, clientId: client.clientId });
  grant.addOIDCScope('openid offline_access');
  grant.addResourceScope(JWT_API, 'read:data');
  const grantId = await grant.save();
  if (kind === 'code') {
    return new provider.AuthorizationCode({
      accountId, client, grantId, authTime: now, scope, resource: JWT_API, redirectUri: REDIRECT_URI,
      codeChallenge: challenge, codeChallengeMethod: 'S256',
    }).save();
  }
  return new provider.RefreshToken({
    accountId, client, grantId, gty: 'authorization_code', authTime: now, iat: now, scope, resource: JWT_API,
    rotations: 0,
  }).save();
}

const out = [];
for (let i = 0; i < n; i += 200) {
  const batch = [];
  for (let j = i; j < Math.min(n, i + 200); j += 1) batch.push(one(j));
  out.push(...(await Promise.all(batch)));
}
process.stdout.write(out.join('\n') + '\n');
await RedisAdapter.disconnect();
