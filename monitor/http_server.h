// The HTTP server under the monitor: many clients at once, none of which can hold it. Accept
// and reads run on one I/O thread; each complete request goes to a small pool of worker
// threads, because a handler may read the databases (tens of milliseconds) and must stall
// neither accept nor the other clients. Slow, silent, oversized or too many clients meet a
// limit instead of the server's attention.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace stagesync::monitor {

struct HttpLimits {
  // Connections served at once; more are answered 503 at once. A waiting request holds no
  // thread (the monitor shares one database read among them), so this bounds descriptors
  // and memory (a socket and at most a header's worth of buffer each), not work.
  size_t max_connections = 256;
  size_t max_refusing = 64;        // 503s in flight at once; past them a connection is closed
  size_t max_header_bytes = 8192;  // a larger request header is answered 431
  // From accept to the whole request read: a client that trickles or says nothing is cut off.
  std::chrono::milliseconds read_timeout{5000};
  std::chrono::milliseconds write_timeout{5000};
  // Threads running the handler. One at most waits on the databases (the shared read); the
  // other answers what needs none (the dashboard, /history) meanwhile.
  size_t workers = 2;
};

// Thread safety: Start and Stop from one thread; the handler is called on the worker threads,
// several at once. Every response closes its connection (no keep-alive).
class HttpServer {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;
  // Sends the response; call it once, from any thread, now or later. The request stays
  // valid until then.
  using Reply = std::function<void(Response)>;
  // Runs on a worker thread and may hand `reply` on to answer later, so that a slow answer
  // need not hold a worker. A throw before replying is answered 500 and logged.
  using Handler = std::function<void(const Request&, Reply)>;

  HttpServer(Handler handler, HttpLimits limits);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the threads; on failure returns the bind or listen error.
  boost::system::error_code Start(const boost::asio::ip::tcp::endpoint& endpoint);
  // Stops accepting, abandons open connections (closing them) and joins every thread. A
  // handler already running finishes first. Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stagesync::monitor
