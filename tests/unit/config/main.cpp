#define BOOST_TEST_MODULE sinetti_config
#include <boost/test/unit_test.hpp>
