#define BOOST_TEST_MODULE sinetti_smtp
#include <boost/test/unit_test.hpp>
