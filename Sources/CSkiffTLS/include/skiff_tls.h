// What Swift cannot call in OpenSSL directly: functions that are macros, the GENERAL_NAME stack, and the session
// ticket keys (process-wide, rotated in memory, kept in C because OpenSSL calls for them from any poller thread).
#ifndef SKIFF_TLS_H
#define SKIFF_TLS_H
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

int skiff_ssl_ctx_set_min_version(SSL_CTX *ctx, int version);
int skiff_ssl_ctx_set_max_version(SSL_CTX *ctx, int version);
int skiff_ssl_ctx_set_groups(SSL_CTX *ctx, const char *list);
void skiff_ssl_ctx_set_mode(SSL_CTX *ctx, long mode);
/// What every Skiff context has: no renegotiation, a peer's EOF without close_notify read as an EOF (HTTP and the
/// RPC codecs frame their own messages), partial writes (one record at a time, so a flush can stop at EAGAIN) from a
/// buffer that may move between retries; the chain sent is cert_chain's, never completed from the trust store;
/// reads take what the socket holds (read-ahead); servers prefer their own cipher order.
void skiff_ssl_ctx_set_defaults(SSL_CTX *ctx, int server);
void skiff_ssl_ctx_set_servername_cb(SSL_CTX *ctx, int (*cb)(SSL *, int *, void *), void *arg);
int skiff_ssl_set_sni(SSL *ssl, const char *name);
/// Clients: OpenSSL hands each new session (a TLS 1.3 ticket, a TLS 1.2 session) to `cb`, which keeps it (returns 1)
/// for the next connection to the same host; OpenSSL stores none itself.
void skiff_ssl_ctx_enable_client_sessions(SSL_CTX *ctx, int (*cb)(SSL *, SSL_SESSION *));
/// Installs the shared ticket-key callback (keys rotate hourly, the previous one still accepted) and a session id
/// context (resumption is only offered back to the same listener or cluster context).
int skiff_ssl_ctx_enable_tickets(SSL_CTX *ctx, const unsigned char *sid_ctx, unsigned int sid_len);

/// Subject alternative names of `cert` as "DNS:x", "IP:1.2.3.4", "URI:spiffe://..." joined by ", " into `out`
/// (NUL-terminated, truncated to `cap`). Returns the length written.
int skiff_x509_san_text(X509 *cert, char *out, int cap);
/// The subject's common name into `out`; 0 when there is none.
int skiff_x509_common_name(X509 *cert, char *out, int cap);
/// 1 when `name` (lower-case, no trailing dot) matches a DNS SAN or, without DNS SANs, the CN of `cert`
/// (wildcards in the leftmost label).
int skiff_x509_matches_host(X509 *cert, const char *name);
/// The library error queue's first reason as text (and cleared); 0 when empty.
unsigned long skiff_err_pop(char *out, int cap);
#endif
