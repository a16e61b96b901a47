// How the cutover writes seconds and lags (three decimals), alike in its log lines, its step
// details and its text report.
#pragma once

#include <string>

namespace stagesync::cutover {

std::string ThreeDecimals(double v);

}  // namespace stagesync::cutover
