// The enquirer's signing key: a WebCrypto ECDSA P-256 key pair whose private half is not
// extractable, kept in IndexedDB (a CryptoKey survives structured cloning, its secret never
// reaches script). One record per registry API, so one browser can hold several accounts.
const DB = "trustreg-portal";
const STORE = "identities";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, action) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

// The identity kept for `api`: {kid, keys, publicJwk} or undefined.
export function load_identity(api) {
  return run("readonly", (store) => store.get(api));
}

// A new key pair; its public JWK, to sign up with. Kept under `api` once it has a kid.
export async function generate_key() {
  const keys = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign", "verify"],
  );
  const jwk = await crypto.subtle.exportKey("jwk", keys.publicKey);
  return { keys, publicJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } };
}

export function save_identity(api, kid, generated) {
  const record = { kid, keys: generated.keys, publicJwk: generated.publicJwk };
  return run("readwrite", (store) => store.put(record, api));
}

export function forget_identity(api) {
  return run("readwrite", (store) => store.delete(api));
}

// An ES256 signature (r || s, as JWS wants it) of `data` with the identity's private key.
export async function sign(identity, data) {
  const signature = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    identity.keys.privateKey,
    data,
  );
  return new Uint8Array(signature);
}
