#define BOOST_TEST_MODULE sinetti_crypto
#include <boost/test/unit_test.hpp>
