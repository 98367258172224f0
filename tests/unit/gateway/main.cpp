#define BOOST_TEST_MODULE sinetti_gateway
#include <boost/test/unit_test.hpp>
