#!/usr/bin/env bash
# Regenerates the test certificates in Tests/Fixtures/tls/ (see the README there for what each file is).
# The generated files are committed, so tests never need openssl; run this only to change or renew them.
# Needs the openssl CLI (written against OpenSSL 3.0). Every run makes new keys, so every file changes.
# Usage: scripts/make-test-certs.sh [OUTPUT_DIR]   (default: Tests/Fixtures/tls)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-Tests/Fixtures/tls}"
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

days=36500  # 100 years: the good certificates must outlive every test run
serial() { echo "0x$(openssl rand -hex 16)"; }

# Extensions, one section per kind of certificate.
cat > "$work/ext.cnf" <<'EOF'
[ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server_localhost]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost, IP:127.0.0.1

[server_localhost_ec]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost, IP:127.0.0.1

[server_a]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:a.skiff.test

[server_b_wildcard]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:*.b.skiff.test

[client]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = URI:spiffe://skiff.test/client
EOF

rsa_key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }
ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

# A self-signed CA: ca NAME CN
ca() {
    rsa_key "$out/$1.key"
    openssl req -new -x509 -key "$out/$1.key" -subj "/O=Skiff tests/CN=$2" -days "$days" -set_serial "$(serial)" \
        -config "$work/ext.cnf" -extensions ca -out "$out/$1.pem"
}

# A leaf signed by a CA: leaf NAME CA KEYKIND EXTENSIONS CN
leaf() {
    local name="$1" ca="$2" kind="$3" ext="$4" cn="$5"
    if [ "$kind" = rsa ]; then rsa_key "$out/$name.key"; else ec_key "$out/$name.key"; fi
    openssl req -new -key "$out/$name.key" -subj "/O=Skiff tests/CN=$cn" -out "$work/$name.csr"
    openssl x509 -req -in "$work/$name.csr" -CA "$out/$ca.pem" -CAkey "$out/$ca.key" -set_serial "$(serial)" \
        -days "$days" -extfile "$work/ext.cnf" -extensions "$ext" -out "$out/$name.pem" 2>/dev/null
}

ca ca "Skiff test CA"
ca untrusted-ca "Skiff untrusted test CA"

leaf server ca rsa server_localhost localhost
leaf server-ecdsa ca ec server_localhost_ec localhost
leaf server-a ca rsa server_a a.skiff.test
leaf server-b-wildcard ca rsa server_b_wildcard "*.b.skiff.test"
leaf client ca rsa client client.skiff.test
leaf client-untrusted untrusted-ca rsa client client.skiff.test

# The expired client certificate: valid in 2020 only. `x509 -req` has no start date in OpenSSL 3.0; `ca` does.
rsa_key "$out/client-expired.key"
openssl req -new -key "$out/client-expired.key" -subj "/O=Skiff tests/CN=client.skiff.test" -out "$work/expired.csr"
mkdir -p "$work/db"
: > "$work/db/index.txt"
echo 01 > "$work/db/serial"
cat > "$work/ca.cnf" <<EOF
[ca]
default_ca = test_ca
[test_ca]
database = $work/db/index.txt
serial = $work/db/serial
new_certs_dir = $work/db
default_md = sha256
policy = anything
unique_subject = no
[anything]
organizationName = optional
commonName = supplied
EOF
openssl ca -batch -notext -config "$work/ca.cnf" -cert "$out/ca.pem" -keyfile "$out/ca.key" -md sha256 \
    -rand_serial -startdate 20200101000000Z -enddate 20201231000000Z -extfile "$work/ext.cnf" -extensions client \
    -in "$work/expired.csr" -out "$out/client-expired.pem" 2>"$work/ca.log" || { cat "$work/ca.log" >&2; exit 1; }

# The same keys in other encodings: PKCS#1 ("RSA PRIVATE KEY") and SEC1 ("EC PRIVATE KEY"); the .key files above
# are PKCS#8 ("PRIVATE KEY").
openssl pkey -in "$out/server.key" -traditional -out "$out/server.pkcs1.key"
openssl pkey -in "$out/server-ecdsa.key" -traditional -out "$out/server-ecdsa.sec1.key"

# The server certificate followed by its CA, as a cert_chain with more than one certificate.
cat "$out/server.pem" "$out/ca.pem" > "$out/server-fullchain.pem"

chmod 0644 "$out"/*.pem "$out"/*.key
# Check what was made: each leaf against its CA (the expired one must fail for being expired, and only for that).
for leafname in server server-ecdsa server-a server-b-wildcard client; do
    openssl verify -CAfile "$out/ca.pem" "$out/$leafname.pem" > /dev/null
done
openssl verify -CAfile "$out/untrusted-ca.pem" "$out/client-untrusted.pem" > /dev/null
if openssl verify -CAfile "$out/ca.pem" "$out/client-untrusted.pem" > /dev/null 2>&1; then
    echo "client-untrusted.pem must not verify against ca.pem" >&2
    exit 1
fi
expired="$(openssl verify -CAfile "$out/ca.pem" "$out/client-expired.pem" 2>&1 || true)"
case "$expired" in
    *"certificate has expired"*) ;;
    *) echo "client-expired.pem should fail as expired: $expired" >&2; exit 1 ;;
esac
echo "certificates written to $out"
