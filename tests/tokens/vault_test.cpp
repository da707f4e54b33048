// The vault (label `tokens`): AES-256-GCM sealing, the sealed form, key files and rotation.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tokens/account.hpp"
#include "tokens/vault.hpp"

namespace schedulo::tokens {
namespace {

Vault vault_of(const std::string& text) {
  std::string error;
  auto v = Vault::from_text(text, error);
  if (!v) throw std::runtime_error("test key file refused: " + error);
  return std::move(*v);
}

std::string key_line(const std::string& id) {
  return Vault::generate_key_line(id);
}

const AccountRef kRef{"x", "acct-1"};

TEST(VaultTest, SealedValueOpensToThePlaintextAndNamesItsKey) {
  const auto vault = vault_of(key_line("k1") + "\n");
  const std::string token = "rt+/secret-refresh-token==";
  const auto sealed = vault.seal(token, seal_context(kRef, "refresh"));
  EXPECT_TRUE(sealed.starts_with("v1:k1:")) << sealed;
  EXPECT_EQ(sealed.find(token), std::string::npos);
  EXPECT_EQ(Vault::key_id_of(sealed), "k1");
  auto opened = vault.open(sealed, seal_context(kRef, "refresh"));
  ASSERT_TRUE(opened.value) << opened.error;
  EXPECT_EQ(opened.value->reveal(), token);
}

TEST(VaultTest, EachSealingUsesAFreshNonce) {
  const auto vault = vault_of(key_line("k1"));
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(vault.seal("same token", seal_context(kRef, "access")));
  EXPECT_EQ(seen.size(), 100u);
}

TEST(VaultTest, AnAlteredValueDoesNotOpen) {
  const auto vault = vault_of(key_line("k1"));
  auto sealed = vault.seal("token-value", seal_context(kRef, "access"));
  // Flip one character of the base64 body (not the padding).
  auto& c = sealed[sealed.size() - 5];
  c = c == 'A' ? 'B' : 'A';
  auto opened = vault.open(sealed, seal_context(kRef, "access"));
  EXPECT_FALSE(opened.value);
  EXPECT_NE(opened.error.find("failed authentication"), std::string::npos) << opened.error;
  EXPECT_EQ(opened.error.find("token-value"), std::string::npos);
}

TEST(VaultTest, ATokenOpensOnlyInItsOwnAccountAndField) {
  const auto vault = vault_of(key_line("k1"));
  const auto sealed = vault.seal("token-value", seal_context(kRef, "refresh"));
  EXPECT_FALSE(vault.open(sealed, seal_context(kRef, "access")).value);
  EXPECT_FALSE(vault.open(sealed, seal_context(AccountRef{"x", "acct-2"}, "refresh")).value);
  EXPECT_FALSE(vault.open(sealed, seal_context(AccountRef{"tiktok", "acct-1"}, "refresh")).value);
  // Contexts cannot be forged by moving the separator between platform and account.
  EXPECT_NE(seal_context(AccountRef{"x:a", "b"}, "refresh"), seal_context(AccountRef{"x", "a:b"}, "refresh"));
}

TEST(VaultTest, ARelabelledKeyIdDoesNotOpenWithAnotherKey) {
  const auto both = vault_of(key_line("k1") + "\n" + key_line("k2") + "\n");
  const auto sealed = both.seal("token-value", seal_context(kRef, "access"));
  ASSERT_TRUE(sealed.starts_with("v1:k1:"));
  const std::string relabelled = "v1:k2:" + sealed.substr(6);
  auto opened = both.open(relabelled, seal_context(kRef, "access"));
  EXPECT_FALSE(opened.value);
}

TEST(VaultTest, UnknownKeyIsNamedInTheError) {
  const auto old_vault = vault_of(key_line("old-key"));
  const auto new_vault = vault_of(key_line("new-key"));
  const auto sealed = old_vault.seal("token-value", seal_context(kRef, "access"));
  auto opened = new_vault.open(sealed, seal_context(kRef, "access"));
  EXPECT_FALSE(opened.value);
  EXPECT_NE(opened.error.find("old-key"), std::string::npos) << opened.error;
}

TEST(VaultTest, RotationSealsWithTheFirstKeyAndOpensWithEvery) {
  const std::string k1 = key_line("k1"), k2 = key_line("k2");
  const auto before = vault_of(k1);
  const auto during = vault_of(k2 + "\n" + k1);
  const auto after = vault_of(k2);
  const auto sealed_k1 = before.seal("token-value", seal_context(kRef, "access"));
  ASSERT_TRUE(during.open(sealed_k1, seal_context(kRef, "access")).value);
  const auto sealed_k2 = during.seal("token-value", seal_context(kRef, "access"));
  EXPECT_EQ(Vault::key_id_of(sealed_k2), "k2");
  EXPECT_EQ(during.current_key_id(), "k2");
  auto opened = after.open(sealed_k2, seal_context(kRef, "access"));
  ASSERT_TRUE(opened.value);
  EXPECT_EQ(opened.value->reveal(), "token-value");
  EXPECT_FALSE(after.open(sealed_k1, seal_context(kRef, "access")).value);
}

TEST(VaultTest, KeyFileErrorsNameTheLineNeverTheKey) {
  std::string error;
  const std::string good = key_line("k1");
  const std::string material = good.substr(good.find(' ') + 1);
  EXPECT_FALSE(Vault::from_text("# only a comment\n\n", error));
  EXPECT_NE(error.find("no key"), std::string::npos) << error;
  EXPECT_FALSE(Vault::from_text(good + "\n" + good + "\n", error));
  EXPECT_NE(error.find("line 2"), std::string::npos) << error;
  EXPECT_NE(error.find("twice"), std::string::npos) << error;
  EXPECT_FALSE(Vault::from_text("k9 " + material.substr(0, 40) + "\n", error));
  EXPECT_NE(error.find("line 1"), std::string::npos) << error;
  EXPECT_EQ(error.find(material.substr(0, 40)), std::string::npos) << error;
  EXPECT_FALSE(Vault::from_text("bad/id " + material + "\n", error));
  EXPECT_NE(error.find("key id"), std::string::npos) << error;
  EXPECT_FALSE(Vault::from_text("k1\n", error));
  EXPECT_TRUE(Vault::from_text("# keys\n  " + good + "  \r\n", error)) << error;
}

TEST(VaultTest, GeneratedKeysDiffer) {
  EXPECT_NE(key_line("k1"), key_line("k1"));
}

TEST(VaultTest, NotASealedValueIsRefusedPlainly) {
  const auto vault = vault_of(key_line("k1"));
  for (const std::string bad : {"", "plain-token", "v1:k1:", "v1:k1:!!!!", "v2:k1:AAAA", "v1:k1:QUJD"}) {
    auto opened = vault.open(bad, seal_context(kRef, "access"));
    EXPECT_FALSE(opened.value) << bad;
    EXPECT_FALSE(opened.error.empty()) << bad;
  }
}

}  // namespace
}  // namespace schedulo::tokens
