// The one translation unit that compiles Beast's implementation (BOOST_BEAST_SEPARATE_COMPILATION is
// set on every target that links schedulo_beast): the HTTP client and the sandbox's server share it.
#include <boost/beast/src.hpp>
