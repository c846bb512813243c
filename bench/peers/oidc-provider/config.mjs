// node-oidc-provider configuration for the peer benchmark (every setting is listed in ../README.md).
import { readFileSync } from 'node:fs';
import Provider, { errors } from 'oidc-provider';
import RedisAdapter from './redis-adapter.mjs';

export const PORT = Number(process.env.PORT || 9102);
export const ISSUER = `http://127.0.0.1:${PORT}`;
export const JWT_API = 'https://api.bench.example/';          // access tokens: RS256 JWT (like Consentry)
export const OPAQUE_API = 'https://api-opaque.bench.example/'; // access tokens: opaque, introspectable
export const SECRETS = JSON.parse(readFileSync(new URL('./secrets.json', import.meta.url)));
const jwks = JSON.parse(readFileSync(new URL('./jwks.json', import.meta.url)));

const DAY = 24 * 60 * 60;

export function createProvider() {
  const provider = new Provider(ISSUER, {
    adapter: process.env.OIDC_ADAPTER === 'memory' ? undefined : RedisAdapter,
    jwks,
    cookies: { keys: [SECRETS.cookie_key] },
    clients: [
      { client_id: 'bench-m2m', client_secret: SECRETS.m2m, grant_types: ['client_credentials'],
        redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_post',
        scope: 'read:data write:data' },
      { client_id: 'bench-rs', client_secret: SECRETS.rs, grant_types: [], redirect_uris: [],
        response_types: [], token_endpoint_auth_method: 'client_secret_post' },
      { client_id: 'bench-app', client_secret: SECRETS.app, grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: ['https://partner.bench.example/callback'], response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post', scope: 'openid offline_access read:data' },
    ],
    scopes: ['openid', 'offline_access', 'read:data', 'write:data'],
    claims: { openid: ['sub'] },
    findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx, client, oneOf) => oneOf,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, resource) => {
          if (resource === JWT_API) {
            return { scope: 'read:data write:data', audience: JWT_API, accessTokenTTL: DAY,
                     accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
          }
          if (resource === OPAQUE_API) {
            return { scope: 'read:data write:data', audience: OPAQUE_API, accessTokenTTL: DAY,
                     accessTokenFormat: 'opaque' };
          }
          throw new errors.InvalidTarget();
        },
      },
    },
    rotateRefreshToken: true,
    ttl: { AccessToken: DAY, ClientCredentials: DAY, IdToken: 3600, RefreshToken: 30 * DAY,
           Grant: 30 * DAY, Session: 14 * DAY, Interaction: 3600, AuthorizationCode: 2 * 3600 },
    pkce: { required: () => true },
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
  });
  provider.proxy = false;
  return provider;
}
