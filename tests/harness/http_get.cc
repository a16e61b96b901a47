// Get for the tests (see the header).
#include "http_get.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace stagesync::testing {

namespace http = boost::beast::http;

Reply Get(const std::string& listen, const std::string& target, const std::string& token) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  boost::beast::tcp_stream stream(io);
  auto colon = listen.rfind(':');
  stream.connect(resolver.resolve(listen.substr(0, colon), listen.substr(colon + 1)));
  http::request<http::string_body> req{http::verb::get, target, 11};
  req.set(http::field::host, listen);
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  http::write(stream, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return {static_cast<int>(res.result_int()), res.body()};
}

}  // namespace stagesync::testing
