// `run`'s monitor endpoint: /metrics in Prometheus' format (checked by promtool), /status
// with the contract's JSON behind the bearer token, and a clear error for a taken address.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "sync_fixture.h"

namespace stagesync::testing {
namespace {

namespace http = boost::beast::http;

struct Reply {
  int status = 0;
  std::string body;
};

Reply Get(const std::string& listen, const std::string& target, const std::string& token = "") {
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

}  // namespace
}  // namespace stagesync::testing
