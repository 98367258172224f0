// A real OpenID provider (oidc-provider) on loopback for the end-to-end tests, configured by a
// JSON file (argv[2]):
//   { "port": 0,                         // 0: the kernel picks one
//     "keys": [JWK, ...],                // the provider's signing keys (private JWKs); default: one generated RSA key
//     "clients": [ client metadata, ... ],  // as oidc-provider takes them (client_id, redirect_uris,
//                                        // token_endpoint_auth_method, jwks, id_token_encrypted_response_alg ...)
//     "scopes": {"profile": ["name", "email", "hetu", "groups"]},  // scope -> claims
//     "acr": "http://ftn.ficora.fi/2017/loa2",   // what a login asserts (overridable per account)
//     "accounts": {"login-name": {"sub": "...", "acr": "...", "claims": {...}}} }
// The login page (GET /interaction/UID) is a plain form with a `login` field; POST
// /interaction/UID/login with an account's name signs it in and grants the requested scopes (no
// separate consent step). Prints one JSON line {"issuer": ..., "port": ...} when listening.
// Development mode (http on loopback), which oidc-provider allows outside production.
import fs from 'node:fs';
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

function signingKeys() {
  if (config.keys && config.keys.length) return config.keys;
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return [{ ...jwk, kid: 'provider-rsa-1', use: 'sig', alg: 'RS256' }];
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => {
      data += chunk;
      if (data.length > 64 * 1024) reject(new Error('body too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(data)));
    req.on('error', reject);
  });
}

const server = http.createServer();
server.listen(config.port || 0, '127.0.0.1', () => {
  const port = server.address().port;
  const issuer = `http://127.0.0.1:${port}`;
  const accounts = config.accounts || {};
  const bySub = {};
  for (const [login, a] of Object.entries(accounts)) bySub[a.sub] = { login, ...a };
  const scopes = config.scopes || { profile: ['name', 'email'] };
  const claims = { openid: ['sub'], ...scopes };

  const provider = new Provider(issuer, {
    clients: config.clients || [],
    jwks: { keys: signingKeys() },
    claims,
    scopes: Object.keys(claims),
    acrValues: config.acrValues || ['http://ftn.ficora.fi/2017/loa2', 'http://ftn.ficora.fi/2017/loa3'],
    conformIdTokenClaims: false, // the scope's claims go into the ID token itself
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      encryption: { enabled: true },
      requestObjects: { enabled: true },
      clientCredentials: { enabled: false },
    },
    enabledJWA: {
      idTokenEncryptionAlgValues: ['RSA-OAEP', 'ECDH-ES'],
      idTokenEncryptionEncValues: ['A128GCM', 'A256GCM'],
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    findAccount: async (ctx, sub) => {
      const a = bySub[sub];
      if (!a) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...(a.claims || {}) }) };
    },
    ttl: { Session: 600, Interaction: 600, Grant: 600, AuthorizationCode: 60, IdToken: 300, AccessToken: 300 },
  });
  provider.proxy = false;
  const callback = provider.callback();

  server.on('request', async (req, res) => {
    try {
      const m = req.url.match(/^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/);
      if (!m) return callback(req, res);
      const details = await provider.interactionDetails(req, res);
      if (req.method === 'GET' && !m[2]) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(`<!DOCTYPE html><html lang="en"><head><title>Sign in</title></head><body><main>
<form method="post" action="/interaction/${details.uid}/login">
<label for="login">Login</label> <input id="login" name="login" autocomplete="username">
<button type="submit">Sign in</button></form></main></body></html>`);
        return undefined;
      }
      if (req.method === 'POST' && m[2]) {
        const form = await readBody(req);
        const account = accounts[form.get('login') || ''];
        if (!account) {
          return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'unknown user' },
                                              { mergeWithLastSubmission: false });
        }
        const grant = new provider.Grant({ accountId: account.sub, clientId: details.params.client_id });
        grant.addOIDCScope(String(details.params.scope || 'openid'));
        const grantId = await grant.save();
        return provider.interactionFinished(req, res, {
          login: { accountId: account.sub, acr: account.acr || config.acr || 'http://ftn.ficora.fi/2017/loa2' },
          consent: { grantId },
        }, { mergeWithLastSubmission: false });
      }
      res.writeHead(405);
      res.end();
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err && err.message));
    }
    return undefined;
  });
  process.stdout.write(JSON.stringify({ issuer, port }) + '\n');
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
