# tests/bench/fixtures.sh: sourced by the benchmarks that time one certificate at a time
# (startup.sh, ca_issue_sync.sh), in their work folder, with ROOT set: made with the openssl CLI,
#   ca.key/ca.pem        an EC P-256 root CA
#   server.key/.csr      a request for vcs.example.com
#   ossl/                an `openssl ca` folder of that CA (ossl/ca.cnf from openssl-ca.cnf),
#                        serial 1000, crlnumber 01
bench_ca_fixtures() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 3650 -subj "/C=NO/O=net2/CN=Bench Root CA" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
    -out server.csr -subj "/C=NO/O=net2/CN=vcs.example.com" 2>/dev/null
  mkdir -p ossl/newcerts ossl/private
  cp ca.key ossl/private/cakey.pem && cp ca.pem ossl/cacert.pem
  : > ossl/index.txt && echo 1000 > ossl/serial && echo 01 > ossl/crlnumber
  sed "s|@DIR@|$PWD/ossl|" "$ROOT/tests/bench/openssl-ca.cnf" > ossl/ca.cnf
}
