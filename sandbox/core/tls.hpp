#pragma once
// Certificates for --tls, made with OpenSSL's C API: a CA (kept in a directory and reused across
// runs, so a printed config's tls.ca_file stays valid) and, at every start, a server certificate it
// signs for 127.0.0.1, ::1 and localhost.
#include <optional>
#include <string>

namespace schedulo::sandbox {

struct TlsMaterial {
  std::string ca_file;          // where the CA certificate (PEM) was written
  std::string certificate_pem;  // the server certificate, then the CA
  std::string private_key_pem;
};

// Reads dir/ca.pem and dir/ca-key.pem, or creates them; then issues a server certificate.
std::optional<TlsMaterial> prepare_tls(const std::string& dir, std::string& error);

}  // namespace schedulo::sandbox
