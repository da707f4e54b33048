#pragma once
// The token store's durable home (tokens/account_source.hpp) read through the Airtable account cache
// (outbox/account_cache.hpp): an account Redis lost comes back from its Accounts row, at the cost of
// one Airtable read, and never on the hot path.
#include "outbox/account_cache.hpp"
#include "tokens/account_source.hpp"

namespace schedulo::daemon {

class AirtableAccountSource final : public tokens::AccountSource {
 public:
  explicit AirtableAccountSource(outbox::AccountCache& cache) : cache_(cache) {}
  net::awaitable<boost::system::result<std::optional<tokens::StoredAccount>>> load(
      const tokens::AccountRef& ref) override;

 private:
  outbox::AccountCache& cache_;
};

}  // namespace schedulo::daemon
