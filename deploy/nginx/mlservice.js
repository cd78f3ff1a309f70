// nginx JavaScript (njs) for the mlservice site: the SHA-256 of the API key a request presents.
// nginx keys the per-key rate limit on it, so the key itself is never stored in nginx's
// shared memory nor written anywhere, and the per-key overrides can be matched against the
// digests the keys file already holds. Same rule as mlservice.auth: "Authorization: Bearer
// <key>" first, else "X-API-Key"; an empty result (no key) is not limited per key.
const crypto = require('crypto');

function key_digest(r) {
    const auth = r.headersIn['Authorization'] || '';
    const key = auth.slice(0, 7).toLowerCase() === 'bearer ' ? auth.slice(7).trim() : (r.headersIn['X-API-Key'] || '');
    return key ? crypto.createHash('sha256').update(key).digest('hex') : '';
}

export default {key_digest};
