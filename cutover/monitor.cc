// The monitor endpoint (Boost.Beast): GET /metrics in Prometheus' text format and GET /status
// with the contract's JSON, both read from the databases like `stagesync status`.
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "stagesync/cutover.h"
#include "stagesync/log.h"

namespace stagesync::cutover {
namespace {

namespace http = boost::beast::http;
using boost::asio::ip::tcp;

void Gauge(std::ostringstream& out, const char* name, const char* help, const char* type,
           const std::string& value) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
      << name << " " << value << "\n";
}

}  // namespace

std::string MetricsText(const SyncStatus& s) {
  std::ostringstream out;
  char num[64];
  if (s.lag_seconds) {
    std::snprintf(num, sizeof num, "%.6f", *s.lag_seconds);
    Gauge(out, "stagesync_lag_seconds",
          "Seconds since the source commit of the oldest change not yet applied.", "gauge", num);
  }
  if (s.source_bytes_behind) {
    Gauge(out, "stagesync_source_bytes_behind",
          "Source WAL/binlog bytes between the source's position and the applied position.",
          "gauge", std::to_string(*s.source_bytes_behind));
  }
  Gauge(out, "stagesync_events_applied_total", "Row changes applied since setup.", "counter",
        std::to_string(s.events_applied));
  Gauge(out, "stagesync_transactions_applied_total", "Source transactions applied since setup.",
        "counter", std::to_string(s.transactions_applied));
  Gauge(out, "stagesync_run_alive", "1 while a stagesync run is streaming this stream.", "gauge",
        s.run_alive ? "1" : "0");
  out << "# HELP stagesync_state The sync's state (1 for the current one).\n"
      << "# TYPE stagesync_state gauge\n";
  for (const char* state :
       {"idle", "streaming", "catching_up", "fenced", "cutover_done", "error"}) {
    out << "stagesync_state{state=\"" << state << "\"} " << (s.state == state ? 1 : 0) << "\n";
  }
  return out.str();
}

struct MonitorServer::State {
  const Config& config;
  boost::asio::io_context io;
  tcp::acceptor acceptor{io};
  tcp::endpoint endpoint;
  std::string token;
  std::thread thread;
  std::atomic<bool> stop{false};
  explicit State(const Config& c) : config(c) {}

  http::response<http::string_body> Handle(const http::request<http::string_body>& req) {
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::server, "stagesync");
    auto reply = [&](http::status status, const char* type, std::string body) {
      res.result(status);
      res.set(http::field::content_type, type);
      res.body() = std::move(body);
      res.prepare_payload();
      return res;
    };
    std::string target(req.target());
    if (req.method() != http::verb::get) {
      return reply(http::status::method_not_allowed, "text/plain", "GET only\n");
    }
    if (target == "/metrics") {
      return reply(http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
                   MetricsText(ReadStatus(config)));
    }
    if (!token.empty() && std::string(req[http::field::authorization]) != "Bearer " + token) {
      res.set(http::field::www_authenticate, "Bearer");
      return reply(http::status::unauthorized, "text/plain",
                   "a bearer token is required (monitor.token_file)\n");
    }
    if (target == "/status") {
      return reply(http::status::ok, "application/json", StatusJson(ReadStatus(config)) + "\n");
    }
    return reply(http::status::not_found, "text/plain", "not found: /metrics and /status\n");
  }

  void Serve() {
    while (!stop) {
      tcp::socket socket(io);
      boost::system::error_code ec;
      acceptor.accept(socket, ec);
      if (stop) return;
      if (ec) continue;
      // A slow or silent client must not hold the monitor: 5 s to send its request.
      timeval tv{5, 0};
      setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(socket, buffer, req, ec);
      if (ec) continue;
      auto res = Handle(req);
      res.keep_alive(false);
      http::write(socket, res, ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
  }
};

MonitorServer::MonitorServer(const Config& config) : state_(std::make_unique<State>(config)) {}
MonitorServer::~MonitorServer() {
  Stop();
}

Status MonitorServer::Start() {
  const std::string& listen = state_->config.monitor.listen;
  auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) {
    return Status::Usage("monitor.listen = \"" + listen + "\": \"" + host +
                         "\" is not an IP address (e.g. 127.0.0.1:8321)");
  }
  if (!state_->config.monitor.token_file.empty()) {
    std::ifstream in(state_->config.monitor.token_file);
    std::getline(in, state_->token);
    while (!state_->token.empty() && std::isspace(static_cast<unsigned char>(state_->token.back())))
      state_->token.pop_back();
    if (state_->token.empty()) {
      return Status::Usage("monitor.token_file = \"" + state_->config.monitor.token_file +
                           "\": cannot read a token from it");
    }
  }
  state_->endpoint =
      tcp::endpoint(address, static_cast<unsigned short>(std::stoi(listen.substr(colon + 1))));
  state_->acceptor.open(state_->endpoint.protocol(), ec);
  if (!ec) state_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) state_->acceptor.bind(state_->endpoint, ec);
  if (!ec) state_->acceptor.listen(16, ec);
  if (ec) {
    return Status::Usage("monitor.listen = \"" + listen + "\": cannot listen there: " +
                         ec.message() + " (pick a free address and port)");
  }
  state_->thread = std::thread([s = state_.get()] { s->Serve(); });
  LOG_INFO("monitor: http://" << listen << "/metrics and /status");
  return Status::Ok();
}

void MonitorServer::Stop() {
  if (!state_ || !state_->thread.joinable()) return;
  state_->stop = true;
  // Wake the blocking accept with a connection of our own.
  boost::system::error_code ec;
  tcp::socket wake(state_->io);
  auto to = state_->endpoint;
  if (to.address().is_unspecified()) to.address(boost::asio::ip::make_address("127.0.0.1"));
  wake.connect(to, ec);
  state_->thread.join();
  state_->acceptor.close(ec);
}

}  // namespace stagesync::cutover
