// The system OpenSSL 3 (Debian libssl-dev) for Swift: the headers SkiffNet's TLS transport uses. Macros Swift
// cannot call and the callbacks that keep state in C live in CSkiffTLS.
#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#endif
