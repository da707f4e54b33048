#include "sandbox/core/tls.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace schedulo::sandbox {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;
using Bio = std::unique_ptr<BIO, Free>;

constexpr long kCaDays = 3650;
constexpr long kLeafDays = 365;

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return {data, static_cast<std::size_t>(n)};
}
std::string pem_of(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return bio_text(bio.get());
}
std::string pem_of(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio.get());
}
std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `key` named `common_name`, signed by `issuer_key` (self-signed when no issuer).
Cert make_cert(EVP_PKEY* key, const char* common_name, X509* issuer, EVP_PKEY* issuer_key, long days, bool ca) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7F;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("schedulo-sandbox"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer ? issuer : cert.get();
  bool ok = true;
  if (ca) {
    ok = ok && add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    ok = ok && add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    ok = ok && add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    ok = ok && add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    ok = ok && add_extension(cert.get(), signer, NID_subject_alt_name, "IP:127.0.0.1,IP:::1,DNS:localhost");
  }
  ok = ok && add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (issuer) ok = ok && add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  if (!ok || X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) == 0) return nullptr;
  return cert;
}

}  // namespace

std::optional<TlsMaterial> prepare_tls(const std::string& dir, std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = "cannot create " + dir + ": " + ec.message();
    return std::nullopt;
  }
  const std::string ca_path = dir + "/ca.pem";
  const std::string ca_key_path = dir + "/ca-key.pem";
  Key ca_key;
  Cert ca;
  if (std::filesystem::exists(ca_path) && std::filesystem::exists(ca_key_path)) {
    const auto cert_text = read_file(ca_path);
    const auto key_text = read_file(ca_key_path);
    Bio cb(BIO_new_mem_buf(cert_text.data(), static_cast<int>(cert_text.size())));
    Bio kb(BIO_new_mem_buf(key_text.data(), static_cast<int>(key_text.size())));
    ca.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    ca_key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  }
  if (!ca || !ca_key) {
    ca_key.reset(EVP_EC_gen("P-256"));
    if (!ca_key) {
      error = "cannot generate a key";
      return std::nullopt;
    }
    ca = make_cert(ca_key.get(), "schedulo-sandbox CA", nullptr, nullptr, kCaDays, true);
    if (!ca) {
      error = "cannot make the CA certificate";
      return std::nullopt;
    }
    {
      std::ofstream key_out(ca_key_path, std::ios::trunc);
      key_out << pem_of(ca_key.get());
    }
    ::chmod(ca_key_path.c_str(), 0600);
    std::ofstream(ca_path, std::ios::trunc) << pem_of(ca.get());
  }
  Key key(EVP_EC_gen("P-256"));
  Cert leaf = key ? make_cert(key.get(), "127.0.0.1", ca.get(), ca_key.get(), kLeafDays, false) : nullptr;
  if (!leaf) {
    error = "cannot make the server certificate";
    return std::nullopt;
  }
  TlsMaterial out;
  out.ca_file = std::filesystem::absolute(ca_path).string();
  out.certificate_pem = pem_of(leaf.get()) + pem_of(ca.get());
  out.private_key_pem = pem_of(key.get());
  return out;
}

}  // namespace schedulo::sandbox
