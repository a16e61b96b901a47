#include "stagesync/secrets.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "stagesync/config.h"

namespace stagesync {
namespace {

TEST(Secrets, RedactDsnReportsEachPasswordAsWrittenAndDecoded) {
  std::vector<std::string> found;
  RedactDsn("host=h password='it\\'s one' dbname=d", &found);
  RedactDsn("postgresql://u:p%40ss@h/db?password=x%20y", &found);
  EXPECT_EQ(found, (std::vector<std::string>{"'it\\'s one'", "it's one", "p%40ss", "p@ss", "x%20y",
                                             "x y"}));
}

TEST(Secrets, LoadingAConfigScrubsItsPasswordsFromAnyText) {
  const std::string pw_file = ::testing::TempDir() + "/secrets_test.pw";
  std::FILE* f = std::fopen(pw_file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("file secret/1\n", f);
  std::fclose(f);
  Config c;
  ASSERT_TRUE(ParseConfig(R"(
[source]
dsn = "postgresql://u@h/prod?password=uri%2Dsecret%21"
[target]
dsn = "host=h dbname=staging"
password_file = ")" + pw_file +
                              "\"\n",
                          "t.toml", &c)
                  .ok());
  // The raw forms, the decoded ones, and the forms ConnectionString() passes to the driver.
  EXPECT_EQ(ScrubSecrets("a uri%2Dsecret%21 b uri-secret! c"), "a *** b *** c");
  EXPECT_EQ(ScrubSecrets("x file secret/1 y"), "x *** y");
  EXPECT_EQ(ScrubSecrets(c.target.ConnectionString()), "host=h dbname=staging password=***");
  EXPECT_EQ(ScrubSecrets("nothing secret here"), "nothing secret here");
}

TEST(Secrets, LongestFirstAndShortOnesLeftToTheRedaction) {
  RegisterSecret("hunter2");
  RegisterSecret("hunter2hunter2-long");
  RegisterSecret("abc");  // too short to scrub from free text
  EXPECT_EQ(ScrubSecrets("[hunter2hunter2-long] [hunter2] abc"), "[***] [***] abc");
  EXPECT_EQ(RedactDsn("host=h password=abc"), "host=h password=***");
}

}  // namespace
}  // namespace stagesync
