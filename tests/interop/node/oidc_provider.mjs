// node-oidc-provider as the upstream identity provider of an enterprise OIDC connection (tests/interop).
// Settings from the environment; prints {"ready": true, "issuer": ...} once listening. Dev interactions:
// any login name and password sign in; the account's sub is the login name.
import Provider from 'oidc-provider';

const { PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI } = process.env;
const issuer = `http://127.0.0.1:${PORT}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@node.example`, email_verified: true, name: `Node ${id}` };
      },
    };
  },
});

provider.listen(Number(PORT), '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ ready: true, issuer }) + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
