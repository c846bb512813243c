// The node `auth0` SDK (v4: ManagementClient, AuthenticationClient, UserInfoClient) against an https Consentry.
//
// Driven by tests/interop/test_auth0_node_tls.py. The SDK builds every URL as https://${DOMAIN}/…, so the
// server serves TLS itself and node trusts its development CA through NODE_EXTRA_CA_CERTS (set by the test).
// Settings from the environment: DOMAIN (host:port), CLIENT_ID / CLIENT_SECRET (an M2M app with a Management
// API client grant), EMAIL / PASSWORD (the user to create). Prints one line: {"result": {...}} and exits 0,
// or {"error": "...", "status": ...} and exits 1.
import { AuthenticationClient, ManagementClient, UserInfoClient } from 'auth0';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`missing environment variable ${name}`);
  return value;
};
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

async function main() {
  const domain = env('DOMAIN');
  const mgmt = new ManagementClient({ domain, clientId: env('CLIENT_ID'), clientSecret: env('CLIENT_SECRET') });

  // Management API: the token comes from the SDK's own client_credentials exchange (audience https://DOMAIN/api/v2/)
  const { data: app } = await mgmt.clients.create({
    name: 'Node SDK app', app_type: 'regular_web', callbacks: ['https://app.example.com/callback'],
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['password', 'refresh_token', 'client_credentials'],
  });
  const { data: clients } = await mgmt.clients.getAll();
  const { data: user } = await mgmt.users.create({
    connection: 'Username-Password-Authentication', email: env('EMAIL'), password: env('PASSWORD'),
  });
  const { data: found } = await mgmt.users.getAll({ q: `email:"${env('EMAIL')}"` });
  const { data: apis } = await mgmt.resourceServers.getAll();

  // Authentication API with the new app: password grant (the SDK validates the ID token: iss, aud, RS256 via
  // the JWKS), userinfo, refresh, revocation
  const auth = new AuthenticationClient({ domain, clientId: app.client_id, clientSecret: app.client_secret });
  const { data: tokens } = await auth.oauth.passwordGrant({
    username: env('EMAIL'), password: env('PASSWORD'), scope: 'openid profile email offline_access',
  });
  const { data: info } = await new UserInfoClient({ domain }).getUserInfo(tokens.access_token);
  const { data: refreshed } = await auth.oauth.refreshTokenGrant({ refresh_token: tokens.refresh_token });
  await auth.oauth.revokeRefreshToken({ token: refreshed.refresh_token });
  let revokedStatus = null;
  try {
    await auth.oauth.refreshTokenGrant({ refresh_token: refreshed.refresh_token });
  } catch (err) {
    revokedStatus = err?.statusCode ?? null;
  }

  // the log shows Auth0's event codes for what just happened
  const { data: logs } = await mgmt.logs.getAll({ q: 'type:sepft OR type:srrt OR type:sapi', per_page: 100 });

  emit({
    result: {
      app_client_id: app.client_id,
      listed_app: clients.some((c) => c.client_id === app.client_id),
      user_id: user.user_id,
      found: found.map((u) => u.user_id),
      apis: apis.map((a) => a.identifier),
      token_type: tokens.token_type,
      scope: tokens.scope,
      has_id_token: Boolean(tokens.id_token),
      userinfo: info,
      rotated: refreshed.refresh_token !== tokens.refresh_token,
      revoked_status: revokedStatus,
      log_types: [...new Set(logs.map((e) => e.type))].sort(),
    },
  });
}

main().catch((err) => {
  emit({ error: `${err?.name}: ${err?.message}`, status: err?.statusCode ?? null, body: err?.body ?? null });
  process.exit(1);
});
