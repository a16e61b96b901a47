// The monitor endpoint: /metrics in Prometheus' text format, /status with the contract's
// JSON, /history for the dashboard's charts, and the dashboard page at /. HttpServer serves
// the requests; this file decides what they are answered.
#include <condition_variable>
#include <deque>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "dashboard_html.h"
#include "http_server.h"
#include "render.h"
#include "stagesync/json.h"
#include "stagesync/log.h"
#include "stagesync/secrets.h"

namespace stagesync::monitor {
namespace {

namespace http = boost::beast::http;
using boost::asio::ip::tcp;

constexpr size_t kHistorySamples = 600;  // ten minutes at one a second

// ReadStatus for many requests at once. A request waits for a read that starts after it
// arrived, and every request waiting for the same read shares its result: 200 concurrent
// scrapes read the databases a few times instead of 200, and none is served a status older
// than itself. Waiting holds no thread; the read runs on the thread of the request that
// found none under way, which keeps reading while requests keep arriving.
class FreshStatus {
 public:
  using Then = std::function<void(const SyncStatus&)>;
  explicit FreshStatus(const Config& config) : config_(config) {}

  // Calls `then` once, with a status read after this call began; on this or another thread.
  void Read(Then then) {
    std::unique_lock lock(mutex_);
    waiting_.push_back(std::move(then));
    if (reading_) return;  // the read after the one under way serves it
    reading_ = true;
    while (!waiting_.empty()) {
      std::vector<Then> batch;
      batch.swap(waiting_);  // every request in it arrived before the read below starts
      lock.unlock();
      SyncStatus st;
      try {
        st = ReadStatus(config_, /*peek_slot=*/false);
      } catch (const std::exception& e) {
        st.state = "error";
        st.error = e.what();
      }
      for (auto& t : batch) t(st);
      lock.lock();
    }
    reading_ = false;
  }

 private:
  const Config& config_;
  std::mutex mutex_;
  bool reading_ = false;
  std::vector<Then> waiting_;
};

// The bearer token's check must not tell a guesser how much of a guess was right: every byte
// of the token is compared whatever the guess, and only the guess's own length shows.
bool SameSecret(std::string_view given, std::string_view expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    diff |= static_cast<unsigned char>(expected[i] ^ (i < given.size() ? given[i] : 0));
  }
  return diff == 0;
}

}  // namespace

std::string HistoryJson(const std::deque<Sample>& samples) {
  json::Writer w;
  w.StartObject().Key("interval_seconds").Int(1).Key("samples").StartArray();
  for (const Sample& s : samples) {
    w.StartObject().Key("t").Fixed(s.t, 3).Key("state").String(s.state);
    w.Key("lag_seconds").FixedOrNull(s.lag_seconds, 3);
    w.Key("source_bytes_behind").IntOrNull(s.source_bytes_behind);
    w.Key("events_applied").Uint(s.events_applied);
    w.Key("transactions_applied").Uint(s.transactions_applied).EndObject();
  }
  w.EndArray().EndObject();
  return w.str();
}

struct MonitorServer::State {
  const Config& config;
  std::shared_ptr<const apply::ApplyMetrics> live;
  FreshStatus status{config};
  std::string token;  // set before the server starts, read-only after
  std::atomic<bool> stop{false};

  // The sampler keeps the dashboard's history, one status a second, reading on its own so
  // that a stream of requests cannot keep it waiting; /status and /metrics read afresh.
  std::thread sampler;
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Sample> history;

  bool started = false;
  // Last, so that it stops (joining its threads) before what Handle reads goes away.
  HttpServer server{[this](const HttpServer::Request& req, HttpServer::Reply reply) {
                      Handle(req, std::move(reply));
                    },
                    HttpLimits{}};

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

  std::optional<apply::ApplyMetrics::Snapshot> Snapshot() const {
    if (!live) return std::nullopt;
    return live->Read();
  }

  // On the server's worker threads, several at once.
  void Handle(const HttpServer::Request& req, HttpServer::Reply reply) {
    auto text = [](http::status status, const char* type, std::string body) {
      HttpServer::Response res{status, 11};
      res.set(http::field::content_type, type);
      res.body() = std::move(body);
      return res;
    };
    std::string target(req.target());
    target = target.substr(0, target.find('?'));
    if (req.method() != http::verb::get) {
      return reply(text(http::status::method_not_allowed, "text/plain", "GET only\n"));
    }
    if (target == "/metrics") {
      return status.Read([this, reply, text](const SyncStatus& st) {
        auto snapshot = Snapshot();
        reply(text(http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
                   MetricsText(st, snapshot ? &*snapshot : nullptr)));
      });
    }
    if (target == "/" || target == "/index.html") {
      return reply(text(http::status::ok, "text/html; charset=utf-8", kDashboardHtml));
    }
    auto given = req[http::field::authorization];
    if (!token.empty() && !SameSecret({given.data(), given.size()}, "Bearer " + token)) {
      auto res = text(http::status::unauthorized, "text/plain",
                      "a bearer token is required (monitor.token_file)\n");
      res.set(http::field::www_authenticate, "Bearer");
      return reply(std::move(res));
    }
    if (target == "/status") {
      return status.Read([this, reply, text](const SyncStatus& st) {
        auto snapshot = Snapshot();
        // ReadStatus scrubbed the error; this catches a secret anywhere else in the body.
        reply(text(http::status::ok, "application/json",
                   ScrubSecrets(snapshot ? LiveStatusJson(st, *snapshot) : StatusJson(st)) + "\n"));
      });
    }
    if (target == "/history") {
      std::lock_guard lock(mutex);
      return reply(text(http::status::ok, "application/json", HistoryJson(history) + "\n"));
    }
    reply(text(http::status::not_found, "text/plain",
               "not found: / (dashboard), /metrics, /status and /history\n"));
  }
};

MonitorServer::MonitorServer(const Config& config, std::shared_ptr<const apply::ApplyMetrics> live)
    : state_(std::make_unique<State>(config, std::move(live))) {}
MonitorServer::~MonitorServer() {
  Stop();
}

Status MonitorServer::Start() {
  const std::string& listen = state_->config.monitor.listen;
  std::string why;
  std::optional<ListenAddress> parsed = ParseListenAddress(listen, &why);
  if (!parsed) return Status::Usage("monitor.listen: " + why);
  const std::string& host = parsed->host;
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
  ec = state_->server.Start(tcp::endpoint(address, parsed->port));
  if (ec) {
    return Status::Usage("monitor.listen = \"" + listen + "\": cannot listen there: " +
                         ec.message() + " (pick a free address and port)");
  }
  state_->started = true;
  state_->sampler = std::thread([s = state_.get()] { s->SampleLoop(); });
  LOG_INFO("monitor: http://" << listen << "/ (dashboard), /metrics, /status, /history");
  return Status::Ok();
}

void MonitorServer::Stop() {
  if (!state_ || !state_->started) return;
  state_->started = false;
  state_->server.Stop();
  {
    std::lock_guard lock(state_->mutex);
    state_->stop = true;
  }
  state_->wake.notify_all();
  state_->sampler.join();
}

}  // namespace stagesync::monitor
