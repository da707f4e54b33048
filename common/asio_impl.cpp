// The one translation unit that compiles Asio's implementation (BOOST_ASIO_SEPARATE_COMPILATION is set
// on every target that links schedulo_common), so no other file pays for it.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
