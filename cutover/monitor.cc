// The monitor endpoint (Boost.Beast): /metrics in Prometheus' text format, /status with the
// contract's JSON, /history for the dashboard's charts, and the dashboard page at /.
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "dashboard_html.h"
#include "stagesync/cutover.h"
#include "stagesync/log.h"
#include "stagesync/secrets.h"

namespace stagesync::cutover {
namespace {

namespace http = boost::beast::http;
using boost::asio::ip::tcp;

// One point of the dashboard's charts.
struct Sample {
  double t = 0;  // unix seconds
  std::string state;
  std::optional<double> lag_seconds;
  std::optional<int64_t> source_bytes_behind;
  uint64_t events_applied = 0, transactions_applied = 0;
};

constexpr size_t kHistorySamples = 600;  // ten minutes at one a second

std::string HistoryJson(const std::deque<Sample>& samples) {
  std::ostringstream out;
  out << "{\"interval_seconds\":1,\"samples\":[";
  char num[64];
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    std::snprintf(num, sizeof num, "%.3f", s.t);
    out << (i ? "," : "") << "{\"t\":" << num << ",\"state\":\"" << s.state
        << "\",\"lag_seconds\":";
    if (s.lag_seconds) {
      std::snprintf(num, sizeof num, "%.3f", *s.lag_seconds);
      out << num;
    } else {
      out << "null";
    }
    out << ",\"source_bytes_behind\":"
        << (s.source_bytes_behind ? std::to_string(*s.source_bytes_behind) : "null")
        << ",\"events_applied\":" << s.events_applied
        << ",\"transactions_applied\":" << s.transactions_applied << "}";
  }
  out << "]}";
  return out.str();
}

}  // namespace

struct MonitorServer::State {
  const Config& config;
  std::shared_ptr<const apply::ApplyMetrics> live;
  boost::asio::io_context io;
  tcp::acceptor acceptor{io};
  tcp::endpoint endpoint;
  std::string token;
  std::thread thread;
  std::atomic<bool> stop{false};

  // The sampler keeps the dashboard's history, one status a second; /status and /metrics
  // read the status afresh.
  std::thread sampler;
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Sample> history;

  State(const Config& c, std::shared_ptr<const apply::ApplyMetrics> l)
      : config(c), live(std::move(l)) {}

  void SampleLoop() {
    std::unique_lock lock(mutex);
    while (!stop) {
      lock.unlock();
      SyncStatus st = ReadStatus(config, /*peek_slot=*/false);
      struct Sample point {
        static_cast<double>(NowUs()) / 1e6, st.state, st.lag_seconds, st.source_bytes_behind,
            st.events_applied, st.transactions_applied
      };
      lock.lock();
      history.push_back(std::move(point));
      if (history.size() > kHistorySamples) history.pop_front();
      wake.wait_for(lock, std::chrono::seconds(1), [this] { return stop.load(); });
    }
  }

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
    target = target.substr(0, target.find('?'));
    if (req.method() != http::verb::get) {
      return reply(http::status::method_not_allowed, "text/plain", "GET only\n");
    }
    std::optional<apply::ApplyMetrics::Snapshot> snapshot;
    if (live) snapshot = live->Read();
    if (target == "/metrics") {
      return reply(
          http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
          MetricsText(ReadStatus(config, /*peek_slot=*/false), snapshot ? &*snapshot : nullptr));
    }
    if (target == "/" || target == "/index.html") {
      return reply(http::status::ok, "text/html; charset=utf-8", kDashboardHtml);
    }
    if (!token.empty() && std::string(req[http::field::authorization]) != "Bearer " + token) {
      res.set(http::field::www_authenticate, "Bearer");
      return reply(http::status::unauthorized, "text/plain",
                   "a bearer token is required (monitor.token_file)\n");
    }
    if (target == "/status") {
      SyncStatus st = ReadStatus(config, /*peek_slot=*/false);
      // ReadStatus scrubbed the error; this catches a secret anywhere else in the body.
      return reply(http::status::ok, "application/json",
                   ScrubSecrets(snapshot ? LiveStatusJson(st, *snapshot) : StatusJson(st)) + "\n");
    }
    if (target == "/history") {
      std::lock_guard lock(mutex);
      return reply(http::status::ok, "application/json", HistoryJson(history) + "\n");
    }
    return reply(http::status::not_found, "text/plain",
                 "not found: / (dashboard), /metrics, /status and /history\n");
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

MonitorServer::MonitorServer(const Config& config, std::shared_ptr<const apply::ApplyMetrics> live)
    : state_(std::make_unique<State>(config, std::move(live))) {}
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
  state_->sampler = std::thread([s = state_.get()] { s->SampleLoop(); });
  LOG_INFO("monitor: http://" << listen << "/ (dashboard), /metrics, /status, /history");
  return Status::Ok();
}

void MonitorServer::Stop() {
  if (!state_ || !state_->thread.joinable()) return;
  {
    std::lock_guard lock(state_->mutex);
    state_->stop = true;
  }
  state_->wake.notify_all();
  if (state_->sampler.joinable()) state_->sampler.join();
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
