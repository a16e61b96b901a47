// HttpServer: asynchronous accept and reads on one I/O thread, handlers on a worker pool, and
// a limit on everything a client controls (how many, how large, how slow).
#include "http_server.h"

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <exception>
#include <optional>
#include <thread>

#include "stagesync/log.h"

namespace stagesync::monitor {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// After the response, how long the client may take to close its side: reading what it still
// sends (the rest of an oversized header) keeps the kernel from answering it with a reset
// that could discard the response before the client reads it.
constexpr std::chrono::seconds kLingerTimeout{1};

// What the connections share with the server; outlives every connection.
struct Shared {
  HttpServer::Handler handler;
  HttpLimits limits;
  std::atomic<size_t> serving{0}, refusing{0};
  net::thread_pool* workers = nullptr;
};

HttpServer::Response PlainResponse(http::status status, std::string body) {
  HttpServer::Response res{status, 11};
  res.set(http::field::content_type, "text/plain");
  res.body() = std::move(body);
  return res;
}

// One accepted connection: read one request (or refuse it), answer it, close.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Response = HttpServer::Response;

  Connection(Shared& shared, tcp::socket socket, bool refuse)
      : shared_(shared), stream_(std::move(socket)), refuse_(refuse) {}
  ~Connection() { --(refuse_ ? shared_.refusing : shared_.serving); }

  void Run() {
    if (refuse_) {
      auto res = PlainResponse(http::status::service_unavailable,
                               "the monitor is serving too many clients; try again\n");
      res.set(http::field::retry_after, "1");
      return Write(std::move(res));
    }
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(shared_.limits.max_header_bytes));
    parser_->body_limit(shared_.limits.max_header_bytes);  // GET has none; any body is small
    // One deadline for the whole request, not per read: trickling bytes does not extend it.
    stream_.expires_after(shared_.limits.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->Read(ec); });
  }

 private:
  void Read(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      return Write(PlainResponse(http::status::request_header_fields_too_large,
                                 "the request header is larger than " +
                                     std::to_string(shared_.limits.max_header_bytes) + " bytes\n"));
    }
    if (ec == http::error::body_limit) {
      return Write(PlainResponse(http::status::payload_too_large, "the request is too large\n"));
    }
    if (ec && ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return Write(PlainResponse(http::status::bad_request, "not an HTTP request\n"));
    }
    if (ec) return Close();  // timed out, or the client went away
    net::post(*shared_.workers, [self = shared_from_this()] { self->Handle(); });
  }

  // On a worker thread; the I/O thread does not touch the connection until the reply.
  void Handle() {
    auto replied = std::make_shared<std::atomic<bool>>(false);
    auto reply = [self = shared_from_this(), replied](Response res) {
      if (replied->exchange(true)) return;
      res.version(self->parser_->get().version());
      net::post(self->stream_.get_executor(),
                [self, res = std::make_shared<Response>(std::move(res))] {
                  self->Write(std::move(*res));
                });
    };
    try {
      shared_.handler(parser_->get(), reply);
    } catch (const std::exception& e) {
      LOG_WARN("monitor: " << parser_->get().target() << ": " << e.what());
      reply(PlainResponse(http::status::internal_server_error, "internal error\n"));
    }
  }

  void Write(Response res) {
    response_ = std::move(res);
    response_.set(http::field::server, "stagesync");
    response_.keep_alive(false);
    response_.prepare_payload();
    stream_.expires_after(shared_.limits.write_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->Close();
                        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
                        self->stream_.expires_after(kLingerTimeout);
                        self->Drain();
                      });
  }

  void Drain() {
    stream_.async_read_some(net::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Drain();
                            });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

  Shared& shared_;
  beast::tcp_stream stream_;
  const bool refuse_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Response response_;
  char drain_[1024];
};

}  // namespace

struct HttpServer::Impl {
  Shared shared;
  // Everything with a thread or a pending handler, torn down as one in Stop. Declared in the
  // order it may be destroyed backwards: the pool's and then the I/O context's abandoned
  // handlers release their connections while the I/O context still exists.
  struct Running {
    explicit Running(size_t workers) : pool(workers) {}
    net::io_context io;
    tcp::acceptor acceptor{io};
    net::steady_timer retry{io};
    net::thread_pool pool;
    std::thread thread;
  };
  std::unique_ptr<Running> running;

  void Accept() {
    running->acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted) return;
      if (ec) {
        // Out of descriptors, most likely: try again shortly rather than spin.
        running->retry.expires_after(std::chrono::milliseconds(100));
        running->retry.async_wait([this](beast::error_code) { Accept(); });
        return;
      }
      bool refuse = shared.serving >= shared.limits.max_connections;
      if (!refuse) {
        ++shared.serving;
        std::make_shared<Connection>(shared, std::move(socket), false)->Run();
      } else if (shared.refusing < shared.limits.max_refusing) {
        ++shared.refusing;
        std::make_shared<Connection>(shared, std::move(socket), true)->Run();
      }  // else the socket closes here: too many clients even to refuse politely
      Accept();
    });
  }
};

HttpServer::HttpServer(Handler handler, HttpLimits limits) : impl_(std::make_unique<Impl>()) {
  impl_->shared.handler = std::move(handler);
  impl_->shared.limits = limits;
}

HttpServer::~HttpServer() {
  Stop();
}

boost::system::error_code HttpServer::Start(const tcp::endpoint& endpoint) {
  // Created here, not in the constructor: the threads inherit the caller's signal mask.
  auto running = std::make_unique<Impl::Running>(impl_->shared.limits.workers);
  boost::system::error_code ec;
  running->acceptor.open(endpoint.protocol(), ec);
  if (!ec) running->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) running->acceptor.bind(endpoint, ec);
  if (!ec) running->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  impl_->shared.workers = &running->pool;
  impl_->running = std::move(running);
  impl_->Accept();
  impl_->running->thread = std::thread([io = &impl_->running->io] { io->run(); });
  return {};
}

void HttpServer::Stop() {
  if (!impl_->running) return;
  impl_->running->io.stop();
  impl_->running->thread.join();
  impl_->running->pool.stop();
  impl_->running->pool.join();
  impl_->running.reset();  // closes the acceptor and every connection left
}

}  // namespace stagesync::monitor
