// Where the daemon finds its vault keys (label `tokens`): vault.key_file, else the systemd credential
// of that name; errors name the key, never the key material.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "daemon/config.hpp"
#include "daemon/runtime.hpp"
#include "tokens/vault.hpp"

namespace schedulo::daemon {
namespace {

class VaultKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/schedulo-vault-keys.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    if (const char* old = std::getenv("CREDENTIALS_DIRECTORY")) saved = old;
    ::unsetenv("CREDENTIALS_DIRECTORY");
  }
  void TearDown() override {
    if (saved.empty())
      ::unsetenv("CREDENTIALS_DIRECTORY");
    else
      ::setenv("CREDENTIALS_DIRECTORY", saved.c_str(), 1);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir + "/" + name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), 0600);
    return path;
  }

  std::string dir, saved;
  Config config;
};

TEST_F(VaultKeysTest, ComeFromVaultKeyFile) {
  config.vault.key_file = write("vault.keys", "# keys\n" + tokens::Vault::generate_key_line("k7") + "\n");
  std::string error;
  auto vault = load_vault(config, error);
  ASSERT_TRUE(vault) << error;
  EXPECT_EQ(vault->current_key_id(), "k7");
}

TEST_F(VaultKeysTest, ComeFromTheSystemdCredentialWhenNoFileIsConfigured) {
  write("vault.key_file", tokens::Vault::generate_key_line("from-credential") + "\n");
  ::setenv("CREDENTIALS_DIRECTORY", dir.c_str(), 1);
  std::string error;
  auto vault = load_vault(config, error);
  ASSERT_TRUE(vault) << error;
  EXPECT_EQ(vault->current_key_id(), "from-credential");
}

TEST_F(VaultKeysTest, ErrorsNameTheKeyNotTheMaterial) {
  std::string error;
  EXPECT_FALSE(load_vault(config, error));
  EXPECT_NE(error.find("vault.key_file"), std::string::npos) << error;
  const std::string line = tokens::Vault::generate_key_line("k1");
  const std::string material = line.substr(line.find(' ') + 1);
  config.vault.key_file = write("short.keys", "k1 " + material.substr(0, 20) + "\n");
  EXPECT_FALSE(load_vault(config, error));
  EXPECT_NE(error.find("vault.key_file"), std::string::npos) << error;
  EXPECT_NE(error.find("line 1"), std::string::npos) << error;
  EXPECT_EQ(error.find(material.substr(0, 20)), std::string::npos);
  config.vault.key_file = dir + "/missing.keys";
  EXPECT_FALSE(load_vault(config, error));
  EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
}

}  // namespace
}  // namespace schedulo::daemon
