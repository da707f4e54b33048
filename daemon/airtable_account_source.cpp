#include "daemon/airtable_account_source.hpp"

#include <boost/system/errc.hpp>

#include "common/log.hpp"

namespace schedulo::daemon {

net::awaitable<boost::system::result<std::optional<tokens::StoredAccount>>> AirtableAccountSource::load(
    const tokens::AccountRef& ref) {
  auto row = co_await cache_.get(ref.account);
  if (!row) {
    // The caller logs the error code; Airtable's own account of it (never holding the token) is here.
    log::warn("accounts: the Accounts row of {} cannot be read: {}", ref.member(), row.error().describe());
    co_return boost::system::errc::make_error_code(boost::system::errc::resource_unavailable_try_again);
  }
  if (!*row) co_return std::optional<tokens::StoredAccount>{};
  co_return tokens::account_from_airtable_row(ref, (*row)->fields);
}

}  // namespace schedulo::daemon
