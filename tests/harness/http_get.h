// A one-shot HTTP GET for the monitor tests: connects to "host:port", sends one request
// (with a bearer token if given) and reads the whole answer.
#pragma once

#include <string>

namespace stagesync::testing {

struct Reply {
  int status = 0;
  std::string body;
};

Reply Get(const std::string& listen, const std::string& target, const std::string& token = "");

}  // namespace stagesync::testing
