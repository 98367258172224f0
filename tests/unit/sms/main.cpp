#define BOOST_TEST_MODULE sinetti_sms
#include <boost/test/unit_test.hpp>
