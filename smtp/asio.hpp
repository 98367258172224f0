// The Asio headers smtp/ uses, included in one place (smtp must not include gateway/). Boost 1.74's
// asio/awaitable.hpp uses std::exchange without including <utility> (REFERENCES "Toolchain notes"),
// so <utility> comes first; include this header instead of Asio's own.
#pragma once

#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sinetti::smtp {
namespace asio = boost::asio;
}  // namespace sinetti::smtp
