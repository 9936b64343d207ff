// A real OpenID provider for the sign-in tests (SPEC §16): npm's oidc-provider with its development
// login screen (any login name; the password is not checked). A login name that is an email address is
// that person's verified email; "unverified:<email>" is one the provider has not verified.
// Usage: node provider.mjs <port> <client_id> <client_secret> <redirect_uri>
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri],
    grant_types: ['authorization_code'], response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const unverified = id.startsWith('unverified:');
    const email = unverified ? id.slice('unverified:'.length) : id;
    return { accountId: id, async claims() { return { sub: id, email, email_verified: !unverified }; } };
  },
  // the keys rotate when the test asks (a new signing key first in the set), as a real provider's do
  jwks: JSON.parse(process.env.OIDC_JWKS || 'null') || undefined,
});
provider.proxy = false;
provider.listen(Number(port), '127.0.0.1', () => { console.log(`ready ${issuer}`); });
