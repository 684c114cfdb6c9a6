// See include/skiff_tls.h.
#include "skiff_tls.h"
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

int skiff_ssl_ctx_set_min_version(SSL_CTX *ctx, int version) { return (int)SSL_CTX_set_min_proto_version(ctx, version); }
int skiff_ssl_ctx_set_max_version(SSL_CTX *ctx, int version) { return (int)SSL_CTX_set_max_proto_version(ctx, version); }
int skiff_ssl_ctx_set_groups(SSL_CTX *ctx, const char *list) { return (int)SSL_CTX_set1_groups_list(ctx, list); }
void skiff_ssl_ctx_set_mode(SSL_CTX *ctx, long mode) { SSL_CTX_set_mode(ctx, mode); }

void skiff_ssl_ctx_set_defaults(SSL_CTX *ctx, int server) {
    uint64_t options = SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION;
    if (server) options |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    SSL_CTX_set_options(ctx, options);
    // NO_AUTO_CHAIN: send exactly the chain cert_chain holds, not one OpenSSL completes from the trust store (which
    // would put ca_cert's root into every handshake).
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_NO_AUTO_CHAIN);
    // Read ahead: one read(2) takes whatever the socket holds, not a record header and then its body. Readers must
    // then drain OpenSSL before waiting on the socket again (Skiff's do: they read until OpenSSL asks for more).
    SSL_CTX_set_read_ahead(ctx, 1);
}

void skiff_ssl_ctx_set_servername_cb(SSL_CTX *ctx, int (*cb)(SSL *, int *, void *), void *arg) {
    SSL_CTX_set_tlsext_servername_callback(ctx, cb);
    SSL_CTX_set_tlsext_servername_arg(ctx, arg);
}

int skiff_ssl_set_sni(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }
void skiff_ssl_ctx_enable_client_sessions(SSL_CTX *ctx, int (*cb)(SSL *, SSL_SESSION *)) {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, cb);
}

// MARK: - Session ticket keys

// Two keys: the current one encrypts new tickets, the previous one still decrypts (and asks for a renewed ticket).
struct ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
};

static pthread_mutex_t ticket_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ticket_key ticket_keys[2];  // [0] current, [1] previous
static int ticket_keys_ready = 0;
static time_t ticket_rotated_at = 0;
// A key signs new tickets for an hour; the previous one still opens them, so a ticket lasts up to two hours.
enum { ticket_rotation_seconds = 3600 };

static void ticket_new_key(struct ticket_key *k) {
    RAND_bytes(k->name, sizeof k->name);
    RAND_bytes(k->aes, sizeof k->aes);
    RAND_bytes(k->hmac, sizeof k->hmac);
}

// Caller holds ticket_lock.
static void ticket_rotate_locked(time_t now) {
    if (!ticket_keys_ready) {
        ticket_new_key(&ticket_keys[0]);
        ticket_new_key(&ticket_keys[1]);
        ticket_keys_ready = 1;
    } else {
        ticket_keys[1] = ticket_keys[0];
        ticket_new_key(&ticket_keys[0]);
    }
    ticket_rotated_at = now;
}

static int ticket_set_mac(EVP_MAC_CTX *hctx, unsigned char *key) {
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, 32);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
    params[2] = OSSL_PARAM_construct_end();
    return EVP_MAC_CTX_set_params(hctx, params);
}

// OpenSSL's ticket callback: 1 = use this key, 2 = decrypted with an old key (issue a new ticket), 0 = unknown key
// (full handshake), -1 = error.
static int skiff_ticket_cb(SSL *s, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *ctx,
                           EVP_MAC_CTX *hctx, int enc) {
    struct ticket_key key;
    int which = -1;
    pthread_mutex_lock(&ticket_lock);
    time_t now = time(NULL);
    if (!ticket_keys_ready || now - ticket_rotated_at >= ticket_rotation_seconds) ticket_rotate_locked(now);
    if (enc) {
        key = ticket_keys[0];
        which = 0;
    } else {
        for (int i = 0; i < 2; i++) {
            if (memcmp(key_name, ticket_keys[i].name, 16) == 0) {
                key = ticket_keys[i];
                which = i;
                break;
            }
        }
    }
    pthread_mutex_unlock(&ticket_lock);
    if (enc) {
        if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) <= 0) return -1;
        memcpy(key_name, key.name, 16);
        if (!EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, key.aes, iv)) return -1;
        if (!ticket_set_mac(hctx, key.hmac)) return -1;
        OPENSSL_cleanse(&key, sizeof key);
        return 1;
    }
    if (which < 0) return 0;
    if (!ticket_set_mac(hctx, key.hmac)) return -1;
    if (!EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, key.aes, iv)) return -1;
    OPENSSL_cleanse(&key, sizeof key);
    // 2 = issue a new ticket. Always under TLS 1.3: clients use a ticket once (RFC 8446 advises it), so a resumed
    // connection that got none would make the client's next connection a full handshake. Under TLS 1.2 only when the
    // ticket was sealed with the previous key.
    if (SSL_version(s) == TLS1_3_VERSION) return 2;
    return which == 0 ? 1 : 2;
}

int skiff_ssl_ctx_enable_tickets(SSL_CTX *ctx, const unsigned char *sid_ctx, unsigned int sid_len) {
    if (!SSL_CTX_set_session_id_context(ctx, sid_ctx, sid_len)) return 0;
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_timeout(ctx, 2 * ticket_rotation_seconds);
    return SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, skiff_ticket_cb) == 1;
}

// MARK: - Certificates

static int append(char *out, int cap, int len, const char *prefix, const unsigned char *data, int n) {
    int need = (len > 0 ? 2 : 0) + (int)strlen(prefix) + n;
    if (len + need >= cap) return len;
    if (len > 0) {
        out[len++] = ',';
        out[len++] = ' ';
    }
    memcpy(out + len, prefix, strlen(prefix));
    len += (int)strlen(prefix);
    memcpy(out + len, data, n);
    len += n;
    out[len] = 0;
    return len;
}

int skiff_x509_san_text(X509 *cert, char *out, int cap) {
    int len = 0;
    if (cap > 0) out[0] = 0;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (!names) return 0;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (g->type == GEN_DNS) {
            len = append(out, cap, len, "DNS:", ASN1_STRING_get0_data(g->d.dNSName), ASN1_STRING_length(g->d.dNSName));
        } else if (g->type == GEN_URI) {
            len = append(out, cap, len, "URI:", ASN1_STRING_get0_data(g->d.uniformResourceIdentifier),
                         ASN1_STRING_length(g->d.uniformResourceIdentifier));
        } else if (g->type == GEN_IPADD) {
            char text[64];
            const unsigned char *p = ASN1_STRING_get0_data(g->d.iPAddress);
            int n = ASN1_STRING_length(g->d.iPAddress);
            if (n == 4) {
                snprintf(text, sizeof text, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
            } else if (n == 16) {
                int t = 0;
                for (int k = 0; k < 16; k += 2) t += snprintf(text + t, sizeof text - t, k ? ":%x" : "%x", (p[k] << 8) | p[k + 1]);
            } else {
                continue;
            }
            len = append(out, cap, len, "IP:", (const unsigned char *)text, (int)strlen(text));
        }
    }
    GENERAL_NAMES_free(names);
    return len;
}

int skiff_x509_common_name(X509 *cert, char *out, int cap) {
    if (cap > 0) out[0] = 0;
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, out, cap);
    return n < 0 ? 0 : n;
}

int skiff_x509_matches_host(X509 *cert, const char *name) {
    return X509_check_host(cert, name, 0, 0, NULL) == 1;
}

unsigned long skiff_err_pop(char *out, int cap) {
    unsigned long e = ERR_get_error();
    if (cap > 0) out[0] = 0;
    if (e != 0) ERR_error_string_n(e, out, cap);
    ERR_clear_error();
    return e;
}
