// `run`'s monitor endpoint: /metrics in Prometheus' format (checked by promtool), /status
// with the contract's JSON behind the bearer token, a clear error for a taken address, and
// a server that slow, idle, oversized or many clients cannot block.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <map>
#include <thread>

#include "http_get.h"
#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

namespace http = boost::beast::http;

using Clock = std::chrono::steady_clock;

// A plain client socket whose every wait has a deadline, so that a server which never
// answers fails the test instead of hanging it.
class RawClient {
 public:
  RawClient(const std::string& listen, Clock::time_point deadline) : deadline_(deadline) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1))));
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      connected_ = true;
    } else if (errno == EINPROGRESS && Wait(POLLOUT)) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      connected_ = err == 0;
    }
  }
  ~RawClient() { close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  // Sends all of `bytes` before the deadline; false if the server closed or stalled.
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n > 0) {
        bytes.remove_prefix(static_cast<size_t>(n));
      } else if (n < 0 && errno == EAGAIN && Wait(POLLOUT)) {
        continue;
      } else {
        return false;
      }
    }
    return true;
  }
  // Reads until the server closes; false if the deadline came first.
  bool ReadToClose(std::string* out) {
    char buf[4096];
    for (;;) {
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        out->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EAGAIN) {
        return true;  // closed (or reset)
      } else if (!Wait(POLLIN)) {
        return false;
      }
    }
  }
  // The status of "HTTP/1.1 NNN ..." in what the server sent, 0 if none; -1 on a deadline.
  int Exchange(const std::string& request) {
    std::string reply;
    if (!connected_ || !Send(request)) return 0;
    if (!ReadToClose(&reply)) return -1;
    return reply.rfind("HTTP/1.", 0) == 0 && reply.size() > 12 ? std::atoi(reply.c_str() + 9) : 0;
  }

 private:
  bool Wait(short events) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
    pollfd p{fd_, events, 0};
    return left.count() > 0 && poll(&p, 1, static_cast<int>(left.count())) == 1;
  }

  int fd_ = -1;
  bool connected_ = false;
  Clock::time_point deadline_;
};

const std::string kGetMetrics = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

using MonitorTest = SyncTest;

TEST_F(MonitorTest, metrics_pass_promtool_and_status_needs_the_token) {
  OnBoth("CREATE TABLE t(id int PRIMARY KEY)");
  const std::string token_file = ScratchDir() + "/" + db_ + ".token";
  WriteFile(token_file, "s3cret-token\n");
  spec_.monitor_token_file = token_file;
  SetupOrFail();
  StartRun();
  OnSource("INSERT INTO t SELECT generate_series(1, 50)");
  ASSERT_TRUE(Converges({{"t", "id"}}));
  ASSERT_TRUE(CaughtUp());

  Reply metrics;
  for (int i = 0; i < 50; ++i) {
    try {
      metrics = Get(spec_.monitor_listen, "/metrics");
      if (metrics.body.find("stagesync_lag_seconds 0") != std::string::npos) break;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(metrics.status, 200) << RunLog();
  EXPECT_NE(
      metrics.body.find("stagesync_events_applied_total{table=\"public.t\",op=\"insert\"} 50"),
      std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("stagesync_apply_batch_seconds_bucket{le=\"+Inf\"}"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("stagesync_state{state=\"streaming\"} 1"), std::string::npos)
      << metrics.body;
  const std::string file = ScratchDir() + "/" + db_ + ".metrics";
  WriteFile(file, metrics.body);
  CommandResult promtool =
      RunCommand({"/bin/sh", "-c", "/usr/bin/promtool check metrics < '" + file + "'"}, "promtool");
  EXPECT_EQ(promtool.exit_code, 0) << promtool.Describe() << metrics.body;

  EXPECT_EQ(Get(spec_.monitor_listen, "/status").status, 401);
  EXPECT_EQ(Get(spec_.monitor_listen, "/status", "wrong").status, 401);
  EXPECT_EQ(Get(spec_.monitor_listen, "/status", "s3cret").status, 401);  // a prefix
  EXPECT_EQ(Get(spec_.monitor_listen, "/status", "s3cret-token2").status, 401);
  Reply status = Get(spec_.monitor_listen, "/status", "s3cret-token");
  EXPECT_EQ(status.status, 200);
  EXPECT_NE(status.body.find("\"state\":\"streaming\""), std::string::npos) << status.body;
  EXPECT_NE(status.body.find("\"lag_seconds\":"), std::string::npos) << status.body;
  EXPECT_NE(status.body.find("{\"table\":\"public.t\",\"insert\":50,"), std::string::npos)
      << status.body;
  EXPECT_EQ(Get(spec_.monitor_listen, "/history").status, 401);
  Reply history = Get(spec_.monitor_listen, "/history", "s3cret-token");
  EXPECT_EQ(history.status, 200);
  EXPECT_NE(history.body.find("\"samples\":[{\"t\":"), std::string::npos) << history.body;
  EXPECT_EQ(Get(spec_.monitor_listen, "/nope", "s3cret-token").status, 404);
}

// The dashboard in a real browser: headless Chromium loads it with the token, polls /status
// and /history, and draws the lag chart from real samples; the screenshot is kept.
TEST_F(MonitorTest, dashboard_draws_real_data_in_chromium) {
  OnBoth("CREATE TABLE t(id int PRIMARY KEY, v text)");
  const std::string token_file = ScratchDir() + "/" + db_ + ".token";
  WriteFile(token_file, "dash-token\n");
  spec_.monitor_token_file = token_file;
  SetupOrFail();
  StartRun();
  for (int i = 0; i < 4; ++i) {
    OnSource("INSERT INTO t SELECT g, 'v' FROM generate_series(" + std::to_string(i * 100 + 1) +
             ", " + std::to_string(i * 100 + 100) + ") g");
    std::this_thread::sleep_for(1s);  // the monitor samples once a second
  }
  ASSERT_TRUE(Converges({{"t", "id"}}));
  Reply page = Get(spec_.monitor_listen, "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.body.find("http"), std::string::npos)
      << "the page must not load anything from elsewhere";

  const std::string url = "http://" + spec_.monitor_listen + "/?token=dash-token";
  const std::string shot = ScratchDir() + "/" + db_ + "-dashboard.png";
  auto chromium = [&](const std::string& mode) {
    return RunCommand({"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                       "--no-first-run", "--user-data-dir=" + ScratchDir() + "/chromium-" + db_,
                       "--window-size=1280,900", "--virtual-time-budget=8000", mode, url},
                      "chromium", 90s);
  };
  CommandResult dom = chromium("--dump-dom");
  ASSERT_EQ(dom.exit_code, 0) << dom.Describe();
  auto at = dom.out.find("data-samples=\"");
  ASSERT_NE(at, std::string::npos) << "the chart never drew:\n" << dom.out.substr(0, 3000);
  EXPECT_GE(std::stoi(dom.out.substr(at + 14)), 3) << dom.out.substr(at, 40);
  EXPECT_NE(dom.out.find("data-state=\"streaming\""), std::string::npos);
  EXPECT_NE(dom.out.find("public.t"), std::string::npos) << "per-table counts missing";
  CommandResult png = chromium("--screenshot=" + shot);
  ASSERT_EQ(png.exit_code, 0) << png.Describe();
  EXPECT_GT(ReadFile(shot).size(), 20000u) << shot;
  std::fprintf(stderr, "[harness] dashboard screenshot: %s\n", shot.c_str());
}

TEST_F(MonitorTest, an_address_in_use_is_a_usage_error_naming_monitor_listen) {
  OnBoth("CREATE TABLE t(id int PRIMARY KEY)");
  SetupOrFail();
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor blocker(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  spec_.monitor_listen = "127.0.0.1:" + std::to_string(blocker.local_endpoint().port());
  WriteConfig();
  CommandResult r = Stagesync({"run"}, 30s);
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_NE(r.err.find("monitor.listen"), std::string::npos) << r.Describe();
}

// `run` used to abort on a port past 32 bits (std::out_of_range, exit 134) and to serve a
// port past 65535 on its wrapped value (99999 on 34463); both are usage errors now.
TEST_F(MonitorTest, an_out_of_range_port_is_a_usage_error_naming_monitor_listen) {
  OnBoth("CREATE TABLE t(id int PRIMARY KEY)");
  SetupOrFail();
  for (const char* port : {"99999999999999999999", "99999"}) {
    spec_.monitor_listen = std::string("127.0.0.1:") + port;
    WriteConfig();
    CommandResult r = Stagesync({"run"}, 30s);
    EXPECT_EQ(r.exit_code, 2) << r.Describe();
    EXPECT_NE(r.err.find("monitor.listen"), std::string::npos) << r.Describe();
    EXPECT_NE(r.err.find("1 to 65535"), std::string::npos) << r.Describe();
  }
}

// Waits until the monitor of run_ answers /metrics (the pipeline has started).
::testing::AssertionResult MonitorUp(const std::string& listen) {
  for (int i = 0; i < 100; ++i) {
    RawClient c(listen, Clock::now() + 10s);
    if (c.Exchange(kGetMetrics) == 200) return ::testing::AssertionSuccess();
    std::this_thread::sleep_for(100ms);
  }
  return ::testing::AssertionFailure() << "the monitor never answered /metrics";
}

TEST_F(MonitorTest, a_slowloris_and_idle_connections_do_not_block_metrics) {
  OnBoth("CREATE TABLE t(id int PRIMARY KEY)");
  SetupOrFail();
  StartRun();
  ASSERT_TRUE(MonitorUp(spec_.monitor_listen)) << RunLog();

  // Six clients that connect and say nothing, and one that trickles a request line.
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 6; ++i) {
    idle.push_back(std::make_unique<RawClient>(spec_.monitor_listen, Clock::now() + 30s));
    ASSERT_TRUE(idle.back()->connected());
  }
  std::atomic<bool> done{false};
  std::thread slowloris([&] {
    RawClient c(spec_.monitor_listen, Clock::now() + 30s);
    const std::string line = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    for (size_t i = 0; !done && c.Send(line.substr(i % line.size(), 1)); ++i) {
      std::this_thread::sleep_for(300ms);
    }
  });
  std::this_thread::sleep_for(500ms);

  auto start = Clock::now();
  RawClient normal(spec_.monitor_listen, start + 10s);
  int status = normal.Exchange(kGetMetrics);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::fprintf(stderr, "[monitor] GET /metrics beside 7 stalled clients: %d in %.3f s\n", status,
               seconds);
  EXPECT_EQ(status, 200) << "took " << seconds << " s";

  // The stalled clients are cut off by the read deadline instead of holding a slot forever.
  for (auto& c : idle) {
    std::string rest;
    EXPECT_TRUE(c->ReadToClose(&rest)) << "an idle connection was never closed";
  }
  done = true;
  slowloris.join();

  // A client still connected does not hold up a clean stop.
  RawClient last(spec_.monitor_listen, Clock::now() + 30s);
  ASSERT_TRUE(last.connected());
  ASSERT_TRUE(last.Send("GET /met"));
  std::this_thread::sleep_for(200ms);
  run_->Signal(SIGTERM);
  std::optional<int> code = run_->Wait(15s);
  EXPECT_EQ(code, std::optional<int>(0)) << RunLog();
}

TEST_F(MonitorTest, an_oversized_header_gets_431_and_the_monitor_keeps_serving) {
  OnBoth("CREATE TABLE t(id int PRIMARY KEY)");
  SetupOrFail();
  StartRun();
  ASSERT_TRUE(MonitorUp(spec_.monitor_listen)) << RunLog();
  RawClient big(spec_.monitor_listen, Clock::now() + 30s);
  EXPECT_EQ(big.Exchange("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " +
                         std::string(64 * 1024, 'a') + "\r\n\r\n"),
            431);
  RawClient after(spec_.monitor_listen, Clock::now() + 30s);
  EXPECT_EQ(after.Exchange(kGetMetrics), 200);
}

// 200 scrapes at once (fewer than the monitor's cap of 256 connections): each is answered
// 200, none hangs, and apply keeps applying meanwhile.
TEST_F(MonitorTest, two_hundred_concurrent_requests_are_answered_while_apply_applies) {
  OnBoth("CREATE TABLE t(id int PRIMARY KEY)");
  SetupOrFail();
  StartRun();
  ASSERT_TRUE(MonitorUp(spec_.monitor_listen)) << RunLog();

  constexpr int kClients = 200;
  std::vector<int> statuses(kClients, 0);
  std::vector<double> latencies(kClients, 0);
  std::atomic<bool> go{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      auto sent = Clock::now();
      RawClient c(spec_.monitor_listen, sent + 30s);
      statuses[i] = c.Exchange(kGetMetrics);
      latencies[i] = std::chrono::duration<double>(Clock::now() - sent).count();
    });
  }
  auto start = Clock::now();
  go = true;
  for (int i = 0; i < 10; ++i) {
    OnSource("INSERT INTO t SELECT generate_series(" + std::to_string(i * 100 + 1) + ", " +
             std::to_string(i * 100 + 100) + ")");
  }
  for (auto& c : clients) c.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  std::map<int, int> by_status;
  std::map<int, double> slowest;
  for (int i = 0; i < kClients; ++i) {
    ++by_status[statuses[i]];
    slowest[statuses[i]] = std::max(slowest[statuses[i]], latencies[i]);
  }
  std::string summary;
  char slowest_text[32];
  for (auto [s, n] : by_status) {
    std::snprintf(slowest_text, sizeof slowest_text, "%.3f", slowest[s]);
    summary +=
        " " + std::to_string(s) + "x" + std::to_string(n) + " (slowest " + slowest_text + " s)";
  }
  std::fprintf(stderr, "[monitor] %d concurrent GET /metrics in %.3f s:%s (-1 = timed out)\n",
               kClients, seconds, summary.c_str());
  EXPECT_EQ(by_status[200], kClients) << summary;
  EXPECT_LT(seconds, 30) << summary;
  ASSERT_TRUE(Converges({{"t", "id"}})) << RunLog();
}

// Past the cap (HttpLimits::max_connections, 256) a client is told 503 at once instead of
// waiting, and is served again as soon as connections close.
TEST_F(MonitorTest, past_the_connection_cap_a_client_gets_503_at_once) {
  OnBoth("CREATE TABLE t(id int PRIMARY KEY)");
  SetupOrFail();
  StartRun();
  ASSERT_TRUE(MonitorUp(spec_.monitor_listen)) << RunLog();
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 256; ++i) {
    idle.push_back(std::make_unique<RawClient>(spec_.monitor_listen, Clock::now() + 30s));
    ASSERT_TRUE(idle.back()->connected());
  }
  std::this_thread::sleep_for(200ms);  // accepted, each holding its slot
  auto start = Clock::now();
  RawClient refused(spec_.monitor_listen, start + 30s);
  EXPECT_EQ(refused.Exchange(kGetMetrics), 503);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_LT(seconds, 3) << "a 503 must not wait for a slot";
  idle.clear();
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    std::this_thread::sleep_for(100ms);
    RawClient again(spec_.monitor_listen, Clock::now() + 30s);
    status = again.Exchange(kGetMetrics);
  }
  EXPECT_EQ(status, 200);
}

}  // namespace
}  // namespace stagesync::testing
